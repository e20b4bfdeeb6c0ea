"""WORKER_LOG_FORMAT=json against the real Conductor OSS server: every line the worker command writes (the
command itself and two worker processes, one serving a sync worker, one an `async def` worker) is one JSON
object with time, level, logger and message; every line logged while a task runs, by the worker's code or
the SDK (the ERROR it logs when a task raises), also names that task as the server knows it."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow

pytestmark = pytest.mark.e2e

SYNC_TASK, ASYNC_TASK, WORKFLOW = "json_log_sync", "json_log_async", "json_log_workflow"
RUNS = 3

WORKERS_MODULE = '''"""Workers that log while they work; the sync one fails its first attempt."""

import logging

from conductor.client.context.task_context import get_task_context
from conductor.client.worker.worker_task import worker_task

log = logging.getLogger(__name__)


@worker_task(task_definition_name="json_log_sync", thread_count=2, poll_interval_millis=100)
def json_log_sync(n: int = 0) -> dict[str, object]:
    log.info("sync worker at n=%d", n)
    if get_task_context().get_retry_count() == 0:
        raise RuntimeError("the first attempt fails")
    return {"n": n}


@worker_task(task_definition_name="json_log_async", thread_count=4, poll_interval_millis=100)
async def json_log_async(n: int = 0) -> dict[str, object]:
    log.warning("async worker at n=%d", n)
    return {"n": n}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("json-logs"), project_name="Json Logs", task_definition_name="json_log_total")
    for name in (SYNC_TASK, ASYNC_TASK):
        baked.add_worker("logging_workers", WORKERS_MODULE, name)
        write_task_definition(baked, name, retryCount=1, retryDelaySeconds=0, inputKeys=["n"])
    write_workflow(baked, WORKFLOW, {SYNC_TASK: from_workflow_input("n"), ASYNC_TASK: from_workflow_input("n")})
    baked.env = {
        "CONDUCTOR_SERVER_URL": conductor.api_url,
        "WORKER_LOG_FORMAT": "json",
        # One process for the sync worker and the project's own, one for the async worker.
        "WORKER_GROUPS": f"json_log_total,{SYNC_TASK};{ASYNC_TASK}",
    }
    return baked.install()


@pytest.fixture(scope="module")
def run(project: BakedProject, conductor: ConductorServer) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """The worker's log, every line parsed, after RUNS workflows completed and it drained."""
    with project.serving(log_name="json.log") as worker:
        started = [conductor.start_workflow(WORKFLOW, {"n": n}) for n in range(RUNS)]
        ended = conductor.wait_for(started, timeout=60)
        assert set(ended.values()) == {"COMPLETED"}, ended
    yield [parse(line) for line in log_lines(worker)], started


def log_lines(worker: WorkerProcess) -> list[str]:
    lines = worker.log().splitlines()
    assert lines, "the worker wrote nothing"
    return lines


def parse(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        pytest.fail(f"a line that is not JSON: {line!r}")
    assert isinstance(record, dict), line
    return record


def test_every_line_is_one_json_object_with_time_level_logger_and_message(
    run: tuple[list[dict[str, Any]], list[str]],
) -> None:
    records, _ = run
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, record
    messages = [record["message"] for record in records]
    assert any(message.startswith("stopped: every task taken") for message in messages), "the command's own lines"
    pids = {record["pid"] for record in records if record["message"].startswith("process ")}
    assert len(pids) == 2, f"two worker processes said what they serve: {messages}"


def test_lines_logged_while_a_task_runs_carry_the_task(
    run: tuple[list[dict[str, Any]], list[str]], conductor: ConductorServer
) -> None:
    records, started = run
    tasks = {task["taskId"]: task for workflow_id in started for task in conductor.workflow(workflow_id)["tasks"]}  # type: ignore[union-attr]
    seen: dict[str, list[dict[str, Any]]] = {"sync": [], "async": [], "sdk": []}
    for record in records:
        if record["message"].startswith("sync worker at"):
            seen["sync"].append(record)
        elif record["message"].startswith("async worker at"):
            seen["async"].append(record)
        elif record["level"] == "ERROR" and "the first attempt fails" in record["message"]:
            seen["sdk"].append(record)  # the SDK's line for a task that raised: in the task, from the SDK
        else:
            continue
        task = tasks.get(record.get("task_id", ""))
        assert task is not None, f"a line logged while a task ran names no task of these workflows: {record}"
        assert record["task_type"] == task["taskType"], record
        assert record["workflow_id"] == task["workflowInstanceId"], record
        assert record["attempt"] == task["retryCount"] + 1, record
    assert len(seen["sync"]) == 2 * RUNS, "each sync task ran twice: a failed attempt, then its retry"
    assert sorted(record["attempt"] for record in seen["sync"]) == [1] * RUNS + [2] * RUNS
    assert len(seen["async"]) == RUNS
    assert len(seen["sdk"]) == RUNS, [record["message"] for record in records]
    assert {record["pid"] for record in seen["sync"]}.isdisjoint({record["pid"] for record in seen["async"]})


def test_lines_outside_a_task_carry_no_task(run: tuple[list[dict[str, Any]], list[str]]) -> None:
    records, _ = run
    outside = [record for record in records if record["message"].startswith(("process ", "stopped", "serving"))]
    assert outside
    assert all("task_id" not in record for record in outside), outside


def test_a_bad_log_format_is_one_line_and_exit_2(project: BakedProject) -> None:
    result = project.cli("worker", env={"WORKER_LOG_FORMAT": "yaml"})
    assert result.returncode == 2, result.stdout + result.stderr
    expected = "configuration error: WORKER_LOG_FORMAT must be text or json (got 'yaml')"
    assert result.stderr.strip().splitlines() == [expected]
