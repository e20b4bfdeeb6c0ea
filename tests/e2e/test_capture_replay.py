"""`capture TASK_ID` against the real server: tasks a running worker finished become case files, the
generated project's replay test passes on them, and fails naming the case once the worker's logic changes."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e

TASK = "e2e_capture_total"  # a name of this module's own, so other modules' tasks never interfere
ORDER = {
    "order_id": "ORD-7",
    "currency": "EUR",
    "tax_rate": "0.20",
    "items": [{"sku": "BOOK-42", "quantity": 2, "unit_price": "12.50"}],
}
BAD_ORDER = {**ORDER, "items": [{"sku": "A", "quantity": -2, "unit_price": 1}]}
BAD_REASON = "items[0].quantity must be an integer >= 1"
REPLAY_TEST = "tests/test_replayed_tasks.py"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("capture"), project_name="Capture Worker", task_definition_name=TASK)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    baked.install()
    registered = baked.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    return baked


@pytest.fixture(scope="module")
def finished(project: BakedProject, conductor: ConductorServer) -> dict[str, str]:
    """The task ids of a completed and a terminally failed run of the example workflow, by outcome."""
    worker = project.start_worker(log_name="capture-worker.log")
    try:
        project.wait_until_polling()
        runs = {
            "COMPLETED": conductor.start_workflow(project.workflow_name, ORDER),
            "FAILED_WITH_TERMINAL_ERROR": conductor.start_workflow(project.workflow_name, BAD_ORDER),
        }
        conductor.wait_for(list(runs.values()), timeout=60)
    finally:
        assert worker.stop() == 0, worker.log()
    tasks = {outcome: conductor.workflow(workflow_id)["tasks"][0] for outcome, workflow_id in runs.items()}
    assert {outcome: task["status"] for outcome, task in tasks.items()} == {outcome: outcome for outcome in runs}
    return {outcome: str(task["taskId"]) for outcome, task in tasks.items()}


@pytest.fixture
def worker_module(project: BakedProject) -> Iterator[Path]:
    """The example worker's module, put back as it was after the test."""
    path = project.path / "src" / project.package / "workers" / f"{TASK}.py"
    original = path.read_text()
    yield path
    path.write_text(original)


def cases(project: BakedProject) -> list[Path]:
    return sorted((project.path / "tests" / "workers" / "cases").glob("*/*.json"))


def replay_tests(project: BakedProject) -> str:
    result = project.run("pytest", REPLAY_TEST, "-q", "-p", "no:cacheprovider", check=False)
    return result.stdout + result.stderr


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_captured_tasks_replay_and_a_changed_worker_fails_naming_the_case(
    project: BakedProject, finished: dict[str, str], worker_module: Path
) -> None:
    for outcome, task_id in finished.items():
        result = project.cli("capture", task_id)
        assert result.returncode == 0, result.stderr
        assert result.stdout == (
            f"wrote tests/workers/cases/{TASK}/{task_id[:8]}.json ({outcome}); `make test` replays it through {TASK}\n"
        )
    completed, failed = (f"{TASK}/{finished[outcome][:8]}" for outcome in ("COMPLETED", "FAILED_WITH_TERMINAL_ERROR"))
    written = {path.stem: json.loads(path.read_text()) for path in cases(project)}
    assert written[finished["COMPLETED"][:8]]["input"] == ORDER
    assert written[finished["COMPLETED"][:8]]["expected"] == {
        "status": "COMPLETED",
        "output": {
            "order_id": "ORD-7",
            "currency": "EUR",
            "item_count": 2,
            "subtotal": "25.00",
            "tax": "5.00",
            "total": "30.00",
        },
    }
    assert written[finished["FAILED_WITH_TERMINAL_ERROR"][:8]]["expected"] == {
        "status": "FAILED_WITH_TERMINAL_ERROR",
        "reason": BAD_REASON,
    }
    output = replay_tests(project)
    assert re.search(r"\b2 passed\b", output), output

    edit(worker_module, "tax = (subtotal * request.tax_rate)", "tax = (subtotal * request.tax_rate * 2)")
    output = replay_tests(project)
    assert re.search(r"\b1 failed, 1 passed\b", output), output
    assert f"FAILED {REPLAY_TEST}::test_a_captured_task_ends_as_it_did[{completed}]" in output
    assert 'output.tax: expected "5.00", got "10.00"' in output
    assert 'output.total: expected "30.00", got "35.00"' in output

    edit(worker_module, "must be an integer >= 1", "must be a whole number >= 1")
    output = replay_tests(project)
    assert f"FAILED {REPLAY_TEST}::test_a_captured_task_ends_as_it_did[{failed}]" in output
    assert f"reason: expected {BAD_REASON!r}, got 'items[0].quantity must be a whole number >= 1'" in output


def test_capture_refuses_with_one_line_and_writes_nothing(
    project: BakedProject, finished: dict[str, str], conductor: ConductorServer, workflows: list[str]
) -> None:
    task_id = finished["COMPLETED"]
    project.cli("capture", task_id, "--force", check=True)
    before = {path: path.read_text() for path in cases(project)}
    # No worker runs now: a new run's task waits in the queue.
    workflows.append(conductor.start_workflow(project.workflow_name, ORDER))
    waiting = conductor.workflow(workflows[-1])["tasks"][0]["taskId"]
    refusals = {
        "00000000-0000-4000-8000-000000000000": "error: the server has no task 00000000-0000-4000-8000-000000000000",
        waiting: f"error: task {waiting} is SCHEDULED: capture it once it has finished",
        task_id: f"error: tests/workers/cases/{TASK}/{task_id[:8]}.json exists; --force replaces it",
    }
    for refused, message in refusals.items():
        result = project.cli("capture", refused)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")
    result = project.cli("capture", task_id, "--force", "--max-bytes", "100")
    assert result.returncode == 1
    assert re.fullmatch(r"error: task \S+'s case would be \d+ bytes, over the limit of 100: .*\n", result.stderr)
    assert {path: path.read_text() for path in cases(project)} == before


def test_a_redacted_case_hides_the_values_and_still_replays(project: BakedProject, finished: dict[str, str]) -> None:
    task_id = finished["COMPLETED"]
    result = project.cli("capture", task_id, "--force", "--redact", "order_id", "--redact", "sku")
    assert result.returncode == 0, result.stderr
    text = (project.path / "tests" / "workers" / "cases" / TASK / f"{task_id[:8]}.json").read_text()
    assert "ORD-7" not in text and "BOOK-42" not in text
    output = replay_tests(project)
    assert re.search(r"\b\d+ passed\b", output) and "failed" not in output, output
