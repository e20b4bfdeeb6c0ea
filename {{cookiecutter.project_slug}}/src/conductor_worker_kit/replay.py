# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Real tasks kept as test cases, and replayed through today's workers.

`capture TASK_ID` writes a case file, `tests/workers/cases/<task type>/<short id>.json`: the task's input
and how it ended, COMPLETED with its output or FAILED / FAILED_WITH_TERMINAL_ERROR with its reason.
`tests/test_replayed_tasks.py` runs each case's input through the worker that serves its task type, the
way a worker process runs it (the SDK maps the input; InvalidInput ends it FAILED_WITH_TERMINAL_ERROR),
and lists every difference from the recorded outcome.

Values of redacted keys read "[redacted]" in the case, at any depth of input and output: the worker
gets "[redacted]" as that input, and the replay compares every output field except redacted ones (their
values are replaced in the replayed output as well before comparing).
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project import Project

CASES_FOLDER = Path("tests") / "workers" / "cases"  # in the project's checkout
REDACTED = "[redacted]"
FAILURES = ("FAILED", "FAILED_WITH_TERMINAL_ERROR")
OUTCOMES = ("COMPLETED", *FAILURES)
MAX_DIFFERENCES = 10  # listed per case; the rest are counted

Execute = Callable[[Callable[..., Any], str, dict[str, Any]], tuple[str, Any, Any]]


class BadCase(ValueError):
    """A case file that is not one `capture` writes."""


@dataclass(frozen=True)
class Case:
    path: Path
    task_type: str
    task_id: str
    input: dict[str, Any]
    status: str
    output: dict[str, Any]  # COMPLETED: what the worker reported
    reason: str | None  # a failure: the reason it was reported with
    redacted: tuple[str, ...]

    @property
    def name(self) -> str:
        """`<task type>/<short id>`: the test id of the case."""
        return f"{self.path.parent.name}/{self.path.stem}"


def redact(value: Any, keys: Iterable[str]) -> Any:
    """`value` with the value of every key named in `keys` (any case, at any depth) replaced by "[redacted]"."""
    names = {key.lower() for key in keys}
    if not names:
        return value
    if isinstance(value, dict):
        return {key: REDACTED if key.lower() in names else redact(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, names) for item in value]
    return value


def has_key(value: Any, key: str) -> bool:
    """Whether `key` (any case) names a value anywhere in `value`."""
    if isinstance(value, dict):
        return any(name.lower() == key.lower() or has_key(item, key) for name, item in value.items())
    if isinstance(value, list):
        return any(has_key(item, key) for item in value)
    return False


def case_document(task: dict[str, Any], redacted: Iterable[str] = ()) -> dict[str, Any]:
    """The case file's content for a finished task as `GET /tasks/{taskId}` returns it."""
    keys = sorted(set(redacted))
    status = task["status"]
    expected: dict[str, Any] = {"status": status}
    if status == "COMPLETED":
        expected["output"] = redact(task.get("outputData") or {}, keys)
    else:
        expected["reason"] = task.get("reasonForIncompletion") or ""
    return {
        "taskType": task_type_of(task),
        "taskId": task["taskId"],
        "workflowId": task.get("workflowInstanceId"),
        "input": redact(task.get("inputData") or {}, keys),
        "expected": expected,
        "redacted": keys,
    }


def task_type_of(task: dict[str, Any]) -> str:
    return str(task.get("taskDefName") or task.get("taskType") or "")


def read_case(path: Path) -> Case:
    """The case in `path`; BadCase naming the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        expected = document["expected"]
        status = expected["status"]
        if status not in OUTCOMES:
            raise BadCase(f"{path}: expected.status must be one of {', '.join(OUTCOMES)}, not {status!r}")
        if not isinstance(document["input"], dict):
            raise BadCase(f"{path}: input must be a JSON object")
        return Case(
            path=path,
            task_type=str(document["taskType"]),
            task_id=str(document.get("taskId", "")),
            input=document["input"],
            status=status,
            output=expected.get("output") or {},
            reason=expected.get("reason"),
            redacted=tuple(document.get("redacted") or ()),
        )
    except (ValueError, KeyError, TypeError) as error:
        if isinstance(error, BadCase):
            raise
        raise BadCase(f"{path}: not a case file ({type(error).__name__}: {error})") from None


def load_cases(folder: Path) -> list[Case]:
    """Every case under `folder` (`<task type>/<short id>.json`), in a stable order."""
    return [read_case(path) for path in sorted(folder.glob("*/*.json"))]


def as_json(value: Any) -> Any:
    """`value` as the server stores it: what a JSON round trip leaves (tuples are lists, Decimals strings)."""
    return json.loads(json.dumps(value, default=str))


def differences(expected: Any, actual: Any, where: str = "output") -> list[str]:
    """One line per value that differs, named by its path, e.g. `output.total: expected "37.16", got "37.17"`."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in [*expected, *(key for key in actual if key not in expected)]:
            if key not in actual:
                found.append(f"{where}.{key}: expected {json.dumps(expected[key])}, missing")
            elif key not in expected:
                found.append(f"{where}.{key}: not expected, got {json.dumps(actual[key])}")
            else:
                found += differences(expected[key], actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        pairs = enumerate(zip(expected, actual, strict=True))
        return [line for i, (wanted, got) in pairs for line in differences(wanted, got, f"{where}[{i}]")]
    if expected == actual and type(expected) is type(actual):
        return []
    return [f"{where}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]


def compare(case: Case, status: str, output: Any, reason: Any) -> list[str]:
    """What differs between the replayed outcome and the case's; empty when it ends the same."""
    if status != case.status:
        got = f"{status} ({reason})" if status in FAILURES and reason else status
        wanted = f"{case.status} ({case.reason})" if case.status in FAILURES else case.status
        return [f"status: expected {wanted}, got {got}"]
    if status in FAILURES:
        return [] if (reason or "") == (case.reason or "") else [f"reason: expected {case.reason!r}, got {reason!r}"]
    found = differences(case.output, redact(as_json(output or {}), case.redacted))
    if len(found) > MAX_DIFFERENCES:
        found = [*found[:MAX_DIFFERENCES], f"... and {len(found) - MAX_DIFFERENCES} more"]
    return found


def replay(case: Case, workers: dict[str, Callable[..., Any]], execute: Execute | None = None) -> list[str]:
    """Run the case's input through the worker serving its task type (`workers`: task name -> function);
    the differences from the recorded outcome, empty when it ends the same."""
    function = workers.get(case.task_type)
    if function is None:
        return [f"no worker in WORKERS serves task type {case.task_type!r} (served: {', '.join(sorted(workers))})"]
    if execute is None:
        from .runtime.sdk_adapter import execute_once

        execute = execute_once
    return compare(case, *execute(function, case.task_type, json.loads(json.dumps(case.input))))


def served(project: Project) -> dict[str, Callable[..., Any]]:
    """The project's workers by the task name each serves (imports them, and so the SDK)."""
    from .runtime.sdk_adapter import served_workers

    return {worker.get_task_definition_name(): worker.execute_function for worker in served_workers(project)}
