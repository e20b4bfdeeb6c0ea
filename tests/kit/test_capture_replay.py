"""`capture TASK_ID` and the replay of its cases: what a case file holds, what is refused (nothing written),
and how a replay compares, through the baked project's own example worker and the SDK's execution."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit import InvalidInput, main
from conductor_worker_kit.project import Project
from conductor_worker_kit.replay import BadCase, Case, case_document, load_cases, read_case, redact, replay, served
from conductor_worker_kit.scaffold.capture import DEFAULT_MAX_BYTES, capture
from conductor_worker_kit.scaffold.new_worker import Refused

ORDER = {
    "order_id": "ORD-1001",
    "currency": "EUR",
    "tax_rate": "0.20",
    "items": [
        {"sku": "BOOK-42", "quantity": 2, "unit_price": "12.50"},
        {"sku": "PEN-7", "quantity": 3, "unit_price": "1.99"},
    ],
}
TOTALS = {
    "order_id": "ORD-1001",
    "currency": "EUR",
    "item_count": 5,
    "subtotal": "30.97",
    "tax": "6.19",
    "total": "37.16",
}
TASK_ID = "3f2c9a41-7d0e-4b8f-9a55-0c1d2e3f4a5b"


@dataclass
class Greeting:
    name: str
    times: int = 1


@dataclass
class Greeted:
    text: str


@worker_task(task_definition_name="replay_async_greet")
async def async_greet(greeting: Greeting) -> Greeted:
    if not greeting.name:
        raise InvalidInput("name must not be empty")
    return Greeted(" ".join([f"hello {greeting.name}"] * greeting.times))


def task(task_name: str, **fields: Any) -> dict[str, Any]:
    """A task as `GET /tasks/{taskId}` returns a finished one."""
    return {
        "taskId": TASK_ID,
        "taskType": task_name,
        "taskDefName": task_name,
        "workflowInstanceId": "wf-1",
        "status": "COMPLETED",
        "inputData": ORDER,
        "outputData": TOTALS,
        **fields,
    }


@pytest.fixture
def checkout(tmp_path: Path, package: str) -> Project:
    """A checkout of its own for the cases written (`capture` finds it through the pyproject.toml)."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "src" / package).mkdir(parents=True)
    return Project(package, source_dir=tmp_path / "src" / package)


def case_files(project: Project) -> list[Path]:
    assert project.checkout_dir is not None
    return sorted((project.checkout_dir / "tests").rglob("*.json")) if (project.checkout_dir / "tests").exists() else []


def run_capture(project: Project, found: dict[str, Any] | None, task_name: str, **options: Any) -> list[str]:
    return capture(project, lambda task_id: found if task_id == TASK_ID else None, TASK_ID, [task_name], **options)


def test_a_completed_task_becomes_a_case_that_replays(checkout: Project, task_name: str, package: str) -> None:
    lines = run_capture(checkout, task(task_name), task_name)
    assert lines == [
        f"wrote tests/workers/cases/{task_name}/3f2c9a41.json (COMPLETED); `make test` replays it through {task_name}"
    ]
    (path,) = case_files(checkout)
    document = json.loads(path.read_text())
    assert document["input"] == ORDER
    assert document["expected"] == {"status": "COMPLETED", "output": TOTALS}
    (case,) = load_cases(path.parents[1])
    assert case.name == f"{task_name}/3f2c9a41"
    assert replay(case, served(Project(package))) == []


def test_a_replay_names_each_value_that_differs(tmp_path: Path, task_name: str, package: str) -> None:
    changed = {**TOTALS, "total": "37.17", "tax": "6.20"}
    case = write_case(tmp_path, case_document(task(task_name, outputData=changed)))
    assert replay(case, served(Project(package))) == [
        'output.tax: expected "6.20", got "6.19"',
        'output.total: expected "37.17", got "37.16"',
    ]


def test_a_terminal_failure_replays_with_its_reason(tmp_path: Path, task_name: str, package: str) -> None:
    bad = {**ORDER, "items": [{"sku": "A", "quantity": -2, "unit_price": 1}]}
    reason = "items[0].quantity must be an integer >= 1"
    document = case_document(
        task(task_name, status="FAILED_WITH_TERMINAL_ERROR", inputData=bad, reasonForIncompletion=reason)
    )
    assert document["expected"] == {"status": "FAILED_WITH_TERMINAL_ERROR", "reason": reason}
    workers = served(Project(package))
    assert replay(write_case(tmp_path, document), workers) == []
    document["expected"]["reason"] = "another reason"
    assert replay(write_case(tmp_path, document), workers) == [f"reason: expected 'another reason', got {reason!r}"]
    document["input"] = ORDER  # now it completes
    assert replay(write_case(tmp_path, document), workers) == [
        "status: expected FAILED_WITH_TERMINAL_ERROR (another reason), got COMPLETED"
    ]


def test_an_async_worker_replays_as_the_async_runner_runs_it(tmp_path: Path) -> None:
    """The input is mapped onto the dataclass parameter the SDK's way; a result that is not a dict is
    reported under "result" (a dataclass as its fields); InvalidInput is a terminal failure."""
    workers = {"replay_async_greet": async_greet}
    greeted = task(
        "replay_async_greet",
        inputData={"greeting": {"name": "Ada", "times": 2}},
        outputData={"result": {"text": "hello Ada hello Ada"}},
    )
    assert replay(write_case(tmp_path, case_document(greeted)), workers) == []
    refused = task(
        "replay_async_greet",
        status="FAILED_WITH_TERMINAL_ERROR",
        inputData={"greeting": {"name": ""}},
        reasonForIncompletion="name must not be empty",
    )
    assert replay(write_case(tmp_path, case_document(refused)), workers) == []


def test_redacted_keys_are_written_redacted_and_not_compared(checkout: Project, task_name: str, package: str) -> None:
    secret = "tok-5ecret"
    output = {**TOTALS, "total": "99.99", "receipt_token": secret}
    given = task(task_name, inputData={**ORDER, "api_token": secret}, outputData=output)
    lines = run_capture(checkout, given, task_name, redacted=["API_TOKEN", "Total", "receipt_token", "absent_key"])
    assert lines[1:] == ["note: no key 'absent_key' in the task's input or output; nothing redacted for it"]
    (path,) = case_files(checkout)
    text = path.read_text()
    assert secret not in text and "99.99" not in text
    document = json.loads(text)
    assert document["input"] == {**ORDER, "api_token": "[redacted]"}
    assert document["expected"]["output"] == {**TOTALS, "total": "[redacted]", "receipt_token": "[redacted]"}
    assert document["redacted"] == ["API_TOKEN", "Total", "absent_key", "receipt_token"]
    # The replayed total (37.16, not the 99.99 recorded) is not compared; a redacted key's presence still is.
    (case,) = load_cases(path.parents[1])
    assert replay(case, served(Project(package))) == ['output.receipt_token: expected "[redacted]", missing']


def test_redaction_reaches_every_depth() -> None:
    value = {"a": [{"Password": "p", "b": {"password": ["x"]}}], "password_hint": "kept"}
    assert redact(value, ["password"]) == {
        "a": [{"Password": "[redacted]", "b": {"password": "[redacted]"}}],
        "password_hint": "kept",
    }


@pytest.mark.parametrize(
    ("found", "task_id", "message"),
    [
        (None, TASK_ID, f"the server has no task {TASK_ID}"),
        ({"status": "IN_PROGRESS"}, TASK_ID, f"task {TASK_ID} is IN_PROGRESS: capture it once it has finished"),
        ({"status": "SCHEDULED"}, TASK_ID, f"task {TASK_ID} is SCHEDULED: capture it once it has finished"),
        ({"status": "TIMED_OUT"}, TASK_ID, "ended TIMED_OUT, not with a worker's result"),
        ({"status": "CANCELED"}, TASK_ID, "ended CANCELED, not with a worker's result"),
        (
            {"taskDefName": "someone_elses_task", "taskType": "x"},
            TASK_ID,
            "a someone_elses_task task; no worker in WORKERS serves it",
        ),
        (
            {"externalOutputPayloadStoragePath": "s3://b/k", "outputData": {}},
            TASK_ID,
            "output is in external payload storage",
        ),
        ({}, "../../etc", "'../../etc' is not a task id"),
        ({}, "", "'' is not a task id"),
    ],
)
def test_what_cannot_be_a_case_is_refused_and_nothing_written(
    checkout: Project, task_name: str, found: dict[str, Any] | None, task_id: str, message: str
) -> None:
    given = None if found is None else task(task_name, **found)
    with pytest.raises(Refused, match=message.replace("[", r"\[")):
        capture(checkout, lambda _: given, task_id, [task_name])
    assert case_files(checkout) == []


def test_an_oversized_case_is_refused_with_its_size_and_the_way_out(checkout: Project, task_name: str) -> None:
    big = task(task_name, inputData={**ORDER, "attachment": "x" * DEFAULT_MAX_BYTES})
    with pytest.raises(
        Refused, match=r"case would be \d+ bytes, over the limit of 262144: leave large values out with --redact KEY"
    ):
        run_capture(checkout, big, task_name)
    assert case_files(checkout) == []
    run_capture(checkout, big, task_name, redacted=["attachment"])
    assert len(case_files(checkout)) == 1
    with pytest.raises(Refused, match="over the limit of 100"):
        run_capture(checkout, task(task_name), task_name, max_bytes=100, force=True)


def test_an_existing_case_is_replaced_only_with_force(checkout: Project, task_name: str) -> None:
    run_capture(checkout, task(task_name), task_name)
    (path,) = case_files(checkout)
    with pytest.raises(Refused, match=f"tests/workers/cases/{task_name}/3f2c9a41.json exists; --force replaces it"):
        run_capture(checkout, task(task_name, outputData={"other": 1}), task_name)
    assert json.loads(path.read_text())["expected"]["output"] == TOTALS
    run_capture(checkout, task(task_name, outputData={"other": 1}), task_name, force=True)
    assert json.loads(path.read_text())["expected"]["output"] == {"other": 1}


def test_a_case_of_a_task_type_no_longer_served_says_so(tmp_path: Path, package: str) -> None:
    case = write_case(tmp_path, case_document(task("retired_task")))
    (problem,) = replay(case, served(Project(package)))
    assert problem.startswith("no worker in WORKERS serves task type 'retired_task'")


def test_a_broken_case_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t" / "x.json"
    path.parent.mkdir()
    path.write_text('{"input": {}}')
    with pytest.raises(BadCase, match=f"{path}: not a case file"):
        read_case(path)
    path.write_text(json.dumps({"taskType": "t", "input": {}, "expected": {"status": "TIMED_OUT"}}))
    with pytest.raises(BadCase, match=r"expected\.status must be one of COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR"):
        read_case(path)


def write_case(folder: Path, document: dict[str, Any]) -> Case:
    path = folder / "cases" / document["taskType"] / "case.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return read_case(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["capture"], "the following arguments are required: TASK_ID"),
        (["capture", "t-1", "--max-bytes", "0"], "argument --max-bytes: must be a whole number of bytes > 0"),
        (["capture", "t-1", "--redact"], "argument --redact: expected one argument"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    package: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(package, argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_server_is_one_line_and_nothing_is_written(
    package: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("WORKER_ENV_FILE", str(tmp_path / "no.env"))
    cases = Path.cwd() / "tests" / "workers" / "cases"
    assert main(package, ["capture", TASK_ID]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach Conductor at http://127.0.0.1:9/api") and err.count("\n") == 1
    assert not cases.exists()
