"""A baked project's commands against the real Conductor OSS server: register, worker, run-workflow,
doctor, bad input and bad configuration. (Stopping, outages, domains and auth: test_worker_lifecycle.py.)"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer
from harness.slow_worker import SLOW_ASYNC_TASK, SLOW_TASK, add_slow_worker

pytestmark = pytest.mark.e2e

TASK = "e2e_invoice_total"  # a name of this module's own, so other modules' tasks never interfere


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("e2e"), project_name="E2E Worker", task_definition_name=TASK)
    add_slow_worker(baked)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url, "WORKER_SHUTDOWN_GRACE_SECONDS": "15"}
    return baked.install()


@pytest.fixture(scope="module")
def worker(project: BakedProject) -> Iterator[WorkerProcess]:
    with project.serving() as process:
        yield process


def run_json(project: BakedProject, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = project.cli("run-workflow", *args, env=env)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr}


def test_register_twice_leaves_the_server_equal_to_the_json(project: BakedProject, conductor: ConductorServer) -> None:
    first, second = project.cli("register"), project.cli("register")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert f"task definition {TASK}" in first.stdout
    definitions = project.path / "src" / project.package / "definitions"
    files = [*(definitions / "tasks").glob("*.json"), *(definitions / "workflows").glob("*.json")]
    count = len([path for path in files if not path.name.endswith(".input.json")])
    assert [line.split()[0] for line in second.stdout.splitlines()] == ["unchanged"] * count
    ours = json.loads((definitions / "task-defaults.json").read_text())
    ours |= json.loads((definitions / "tasks" / f"{TASK}.json").read_text())
    theirs = conductor.api("GET", f"/metadata/taskdefs/{TASK}")
    assert isinstance(theirs, dict)
    for field in (
        "retryCount",
        "retryLogic",
        "retryDelaySeconds",
        "timeoutSeconds",
        "responseTimeoutSeconds",
        "timeoutPolicy",
        "rateLimitPerFrequency",
        "rateLimitFrequencyInSeconds",
        "concurrentExecLimit",
        "inputKeys",
        "outputKeys",
        "ownerEmail",
    ):
        assert theirs[field] == ours[field], field
    workflow = conductor.api("GET", f"/metadata/workflow/{project.workflow_name}")
    assert isinstance(workflow, dict)
    assert [(t["name"], t["type"]) for t in workflow["tasks"]] == [(TASK, "SIMPLE")]


def test_worker_completes_the_example_workflow(project: BakedProject, worker: WorkerProcess) -> None:
    code, summary = run_json(project, "--workflow", project.workflow_name, "--timeout", "60")
    assert code == 0, summary
    assert summary["status"] == "COMPLETED"
    assert summary["output"] == {"order_id": "ORD-1001", "total": "37.16", "currency": "EUR"}
    served = ", ".join(sorted([TASK, SLOW_TASK, SLOW_ASYNC_TASK]))
    assert f"serving tasks {served} in 1 worker process(es)" in worker.log()


def test_bad_input_fails_terminally_and_the_worker_keeps_running(project: BakedProject, worker: WorkerProcess) -> None:
    bad = json.dumps({"order_id": "ORD-9", "currency": "EUR", "items": [{"sku": "A", "quantity": -2, "unit_price": 1}]})
    code, summary = run_json(project, "--workflow", project.workflow_name, "--input", bad, "--timeout", "60")
    assert code == 1
    assert summary["status"] == "FAILED"
    assert summary["tasks"] == [
        {
            "referenceTaskName": TASK,
            "taskType": TASK,
            "status": "FAILED_WITH_TERMINAL_ERROR",
            "reasonForIncompletion": "items[0].quantity must be an integer >= 1",
            "domain": None,
        }
    ]
    assert worker.process.poll() is None
    code, summary = run_json(project, "--workflow", project.workflow_name, "--timeout", "60")
    assert (code, summary["status"]) == (0, "COMPLETED")


def test_doctor_passes_with_a_running_worker(project: BakedProject, worker: WorkerProcess) -> None:
    result = project.cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(line.startswith("PASS") for line in result.stdout.splitlines())
    assert f"PASS  task definition {TASK}" in result.stdout


def test_no_worker_found_exits_non_zero(project: BakedProject, tmp_path: Path) -> None:
    listing = project.path / "src" / project.package / "workers" / "__init__.py"
    original = listing.read_text()
    emptied = re.sub(r"\nWORKERS = \[.*?\]", "\nWORKERS: list[object] = []", original, count=1, flags=re.DOTALL)
    assert emptied != original, f"no `WORKERS = [` list in {listing}"
    listing.write_text(emptied)
    try:
        # A health directory of its own: the module's running worker owns the project's default one.
        result = project.cli("worker", env={"WORKER_HEALTH_DIR": str(tmp_path / "health")}, timeout=60)
    finally:
        listing.write_text(original)
    assert result.returncode == 1
    assert "no worker listed" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CONDUCTOR_SERVER_URL": "http://127.0.0.1:8080"}, "CONDUCTOR_SERVER_URL"),
        ({"CONDUCTOR_AUTH_KEY": "key-without-secret"}, "CONDUCTOR_AUTH_SECRET"),
        ({"CONDUCTOR_WORKER_ALL_THREAD_COUNT": "zero"}, "CONDUCTOR_WORKER_ALL_THREAD_COUNT"),
    ],
)
@pytest.mark.parametrize("command", ["worker", "register", "run-workflow", "doctor"])
def test_bad_configuration_is_one_line_naming_the_variable(
    project: BakedProject, command: str, env: dict[str, str], variable: str
) -> None:
    result = project.cli(command, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and variable in result.stderr
    assert "key-without-secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["worker", "register", "run-workflow"])
def test_unreachable_server_is_one_line_naming_the_variable(
    project: BakedProject, command: str, tmp_path: Path
) -> None:
    # run-workflow retries an unreachable server until its --timeout: a short one, so it gives up soon.
    args = ("--workflow", project.workflow_name, "--timeout", "5") if command == "run-workflow" else ()
    # A health directory of its own: the module's running worker owns the project's default one.
    env = {"CONDUCTOR_SERVER_URL": "http://127.0.0.1:9/api", "WORKER_HEALTH_DIR": str(tmp_path / "health")}
    result = project.cli(command, *args, env=env, timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [lines[0]] and "CONDUCTOR_SERVER_URL" in lines[0] and "127.0.0.1:9" in lines[0]


def test_doctor_names_an_unreachable_server(project: BakedProject) -> None:
    result = project.cli("doctor", env={"CONDUCTOR_SERVER_URL": "http://127.0.0.1:9/api"})
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL  server reachable: cannot reach Conductor at http://127.0.0.1:9/api")
