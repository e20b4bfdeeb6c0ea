"""Tasks that run longer than their responseTimeoutSeconds, on the real Conductor OSS server: with lease
extension (the decorator's flag, or CONDUCTOR_WORKER_<TASK>_LEASE_EXTEND_ENABLED) a task three times as
long as its responseTimeoutSeconds completes in one attempt; a worker returning `in_progress()` gets the
same task back until it is done; without either, the server times the task out and retries it, and the
late result it drops is named in a WARNING of the worker's log.

One worker serves all of this module's tasks (names of its own: no other module takes them)."""

from collections.abc import Iterator

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

# The SDK sends a lease heartbeat at 80 % of responseTimeoutSeconds, counted from when the task reached the
# worker: 1 s of margin here for the server's own delay in handing it out and taking the heartbeat.
RESPONSE_TIMEOUT_SECONDS = 5
LONG_SECONDS = 3 * RESPONSE_TIMEOUT_SECONDS
STEPS, CALLBACK_SECONDS = 4, 2  # three callbacks: longer than responseTimeoutSeconds in all
LEASED = "long_leased"  # lease extension from @worker_task(lease_extend_enabled=True)
ENV_LEASED = "long_env_leased"  # lease extension from CONDUCTOR_WORKER_LONG_ENV_LEASED_LEASE_EXTEND_ENABLED
UNLEASED = "long_unleased"  # neither: the server times it out
STEPPED = "long_stepped"  # returns in_progress() until its last step
LONG_TASKS = (LEASED, ENV_LEASED, UNLEASED)

WORKERS_MODULE = '''"""Workers that take longer than their tasks' responseTimeoutSeconds."""

import time

from conductor.client.context.task_context import get_task_context
from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit import in_progress


def _sleep_on_the_first_attempt(seconds: float) -> dict[str, object]:
    """Only the first attempt is slow: a retry (after a timeout) completes at once."""
    retry = get_task_context().get_retry_count()
    if not retry:
        time.sleep(seconds)
    return {"slept": 0 if retry else seconds, "retry": retry}


@worker_task(task_definition_name="long_leased", thread_count=2, lease_extend_enabled=True)
def long_leased(seconds: float = 0) -> dict[str, object]:
    return _sleep_on_the_first_attempt(seconds)


@worker_task(task_definition_name="long_env_leased", thread_count=2)
def long_env_leased(seconds: float = 0) -> dict[str, object]:
    return _sleep_on_the_first_attempt(seconds)


@worker_task(task_definition_name="long_unleased", thread_count=2)
def long_unleased(seconds: float = 0) -> dict[str, object]:
    return _sleep_on_the_first_attempt(seconds)


@worker_task(task_definition_name="long_stepped", thread_count=2)
def long_stepped(steps: int = 1, callback: int = 1) -> object:
    polls = get_task_context().get_poll_count()
    if polls < steps:
        return in_progress(callback_after_seconds=callback, output={"step": polls})
    return {"steps": polls}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("long"), project_name="Long Worker", task_definition_name="long_example")
    for name in (LEASED, ENV_LEASED, UNLEASED, STEPPED):
        baked.add_worker("long", WORKERS_MODULE, name)
        write_task_definition(baked, name, responseTimeoutSeconds=RESPONSE_TIMEOUT_SECONDS, retryCount=1)
    for name in LONG_TASKS:
        write_workflow(baked, f"{name}_flow", {name: from_workflow_input("seconds")})
    write_workflow(baked, f"{STEPPED}_flow", {STEPPED: from_workflow_input("steps", "callback")})
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    baked.install()
    registered = baked.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    return baked


@pytest.fixture(scope="module")
def worker(project: BakedProject) -> Iterator[WorkerProcess]:
    process = project.start_worker(env={f"CONDUCTOR_WORKER_{ENV_LEASED.upper()}_LEASE_EXTEND_ENABLED": "true"})
    try:
        project.wait_until_polling()
        yield process
        assert process.stop() == 0, process.log()
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
        print(f"===== worker log =====\n{process.log()}")


@pytest.fixture(scope="module")
def started(conductor: ConductorServer, worker: WorkerProcess) -> dict[str, str]:
    """One workflow per task, all started at once (each task is the only one of its type in flight)."""
    started = {task: conductor.start_workflow(f"{task}_flow", {"seconds": LONG_SECONDS}) for task in LONG_TASKS}
    started[STEPPED] = conductor.start_workflow(f"{STEPPED}_flow", {"steps": STEPS, "callback": CALLBACK_SECONDS})
    return started


def attempts(conductor: ConductorServer, workflow_id: str) -> list[dict[str, object]]:
    """The tasks of a workflow, once it completed: one per attempt."""
    status = conductor.wait_for([workflow_id], timeout=LONG_SECONDS + 60)[workflow_id]
    tasks: list[dict[str, object]] = conductor.workflow(workflow_id)["tasks"]  # type: ignore[assignment]
    assert status == "COMPLETED", (status, tasks)
    return tasks


def dropped_warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING" in line and "the result was dropped" in line]


@pytest.mark.parametrize("task", [LEASED, ENV_LEASED], ids=["decorator", "environment"])
def test_lease_extension_carries_a_task_three_times_its_response_timeout_to_one_attempt(
    conductor: ConductorServer, worker: WorkerProcess, started: dict[str, str], task: str
) -> None:
    workflow_id = started[task]
    (attempt,) = attempts(conductor, workflow_id)
    assert (attempt["status"], attempt["retryCount"], attempt["outputData"]) == (
        "COMPLETED",
        0,
        {"slept": LONG_SECONDS, "retry": 0},
    ), attempt
    assert int(attempt["endTime"]) - int(attempt["startTime"]) >= LONG_SECONDS * 1000, attempt
    assert not [line for line in dropped_warnings(worker.log()) if workflow_id in line]


def test_a_worker_returning_in_progress_gets_the_same_task_back_until_it_completes(
    conductor: ConductorServer, started: dict[str, str]
) -> None:
    (attempt,) = attempts(conductor, started[STEPPED])
    assert (attempt["status"], attempt["pollCount"], attempt["outputData"]) == ("COMPLETED", STEPS, {"steps": STEPS})
    # The callbacks kept it IN_PROGRESS longer than its responseTimeoutSeconds, and it never timed out.
    assert (STEPS - 1) * CALLBACK_SECONDS > RESPONSE_TIMEOUT_SECONDS
    assert int(attempt["endTime"]) - int(attempt["scheduledTime"]) >= (STEPS - 1) * CALLBACK_SECONDS * 1000, attempt


def test_a_result_reported_after_the_server_timed_the_task_out_is_named_in_one_warning(
    conductor: ConductorServer, worker: WorkerProcess, started: dict[str, str]
) -> None:
    workflow_id = started[UNLEASED]
    timed_out, retried = attempts(conductor, workflow_id)
    assert (timed_out["status"], retried["status"], retried["retryCount"]) == ("TIMED_OUT", "COMPLETED", 1)
    wait_until(
        lambda: [line for line in dropped_warnings(worker.log()) if workflow_id in line],
        LONG_SECONDS + 30,
        "no WARNING about the dropped late result",
        worker.log,
    )
    (line,) = [line for line in dropped_warnings(worker.log()) if workflow_id in line]
    print(f"late-result warning: {line}")
    assert f"{UNLEASED} {timed_out['taskId']} (workflow {workflow_id})" in line
    assert "its COMPLETED result came after" in line
    assert f"past its responseTimeoutSeconds ({RESPONSE_TIMEOUT_SECONDS}s)" in line
    assert "the server had already ended it as TIMED_OUT" in line
