"""Stopping a worker with a long task in flight, and settings the worker cannot honour, on the real
Conductor OSS server: SIGTERM keeps extending the lease of a task in flight until it completes, and past
the grace abandons it by name; a second SIGINT stops at once; a CONDUCTOR_WORKER_<TASK>_* variable for a
task not served here stops `worker` and `register` and fails `doctor`; a served task the server has no
definition of is warned about at start, and served all the same.

Each test runs its own worker (their logs are printed when a test fails); the task names are this
module's own, and a test that abandons a task terminates its workflow, so nothing is left in a queue."""

import signal
import time

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

LEASED = "stop_leased"
LEASED_FLOW = "stop_leased_flow"
RESPONSE_TIMEOUT_SECONDS = 5  # see test_long_tasks.py: the lease heartbeat comes at 80 % of it
UNDEFINED = ["stop_undefined_a", "stop_undefined_b"]

LEASED_MODULE = '''"""A task longer than its responseTimeoutSeconds, kept alive by lease extension."""

import time

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="stop_leased", thread_count=2, lease_extend_enabled=True)
def stop_leased(seconds: float = 0) -> dict[str, object]:
    time.sleep(seconds)
    return {"slept": seconds}
'''

UNDEFINED_MODULE = '''"""Workers added to the project, their definitions not registered yet."""

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="stop_undefined_a", thread_count=1)
def stop_undefined_a(n: int = 0) -> dict[str, object]:
    return {"n": n}


@worker_task(task_definition_name="stop_undefined_b", thread_count=1)
def stop_undefined_b(n: int = 0) -> dict[str, object]:
    return {"n": n}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("stop"), project_name="Stop Worker", task_definition_name="stop_example")
    baked.add_worker("leased", LEASED_MODULE, LEASED)
    write_task_definition(baked, LEASED, responseTimeoutSeconds=RESPONSE_TIMEOUT_SECONDS, retryCount=0)
    write_workflow(baked, LEASED_FLOW, {LEASED: from_workflow_input("seconds")})
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    baked.install()
    registered = baked.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    return baked


def start_long_task(conductor: ConductorServer, workflows: list[str], seconds: float) -> tuple[str, str]:
    """A workflow whose task is running in the worker: (workflow id, task id)."""
    workflow_id = conductor.start_workflow(LEASED_FLOW, {"seconds": seconds})
    workflows.append(workflow_id)

    def running() -> str | None:
        tasks = conductor.workflow(workflow_id)["tasks"]
        return next((str(t["taskId"]) for t in tasks if t["status"] == "IN_PROGRESS"), None)  # type: ignore[attr-defined]

    return workflow_id, wait_until(running, 30, f"no {LEASED} task IN_PROGRESS")


def attempts(conductor: ConductorServer, workflow_id: str) -> list[tuple[object, ...]]:
    tasks = conductor.workflow(workflow_id)["tasks"]
    return [(task["status"], task["retryCount"]) for task in tasks]  # type: ignore[attr-defined]


def test_sigterm_keeps_extending_the_lease_of_the_task_in_flight_until_it_completes(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    seconds = 2 * RESPONSE_TIMEOUT_SECONDS + 2
    process = project.start_polling_worker(
        workers, "lease-drain.log", {"WORKER_SHUTDOWN_GRACE_SECONDS": str(seconds + 15)}
    )
    workflow_id, task_id = start_long_task(conductor, workflows, seconds)
    process.process.send_signal(signal.SIGTERM)
    assert process.process.wait(timeout=seconds + 20) == 0, process.log()
    assert f"draining 1 task(s) in flight (grace {seconds + 15}s): {LEASED} {task_id}" in process.log()
    # Draining took more than twice its responseTimeoutSeconds: only the heartbeats kept the server from
    # timing it out; the one attempt completed and was reported.
    assert conductor.wait_for([workflow_id], timeout=10) == {workflow_id: "COMPLETED"}
    assert attempts(conductor, workflow_id) == [("COMPLETED", 0)]


def test_past_the_grace_the_lease_extended_task_is_abandoned_and_named(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    process = project.start_polling_worker(workers, "lease-grace.log", {"WORKER_SHUTDOWN_GRACE_SECONDS": "2"})
    workflow_id, task_id = start_long_task(conductor, workflows, 60)
    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.process.wait(timeout=20) == 1, process.log()
    assert time.monotonic() - signalled < 15, process.log()
    log = process.log()
    assert f"grace of 2s exceeded: abandoning 1 running task(s): {LEASED} {task_id} (workflow {workflow_id})" in log
    assert "abandoned running tasks (named above)" in log


def test_a_second_sigint_stops_at_once_and_names_the_abandoned_task(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    grace = 120
    process = project.start_polling_worker(workers, "second-signal.log", {"WORKER_SHUTDOWN_GRACE_SECONDS": str(grace)})
    workflow_id, task_id = start_long_task(conductor, workflows, grace)
    process.process.send_signal(signal.SIGINT)
    first = f"received SIGINT: draining the running tasks (grace {grace}s); a second one stops at once"
    wait_until(lambda: first in process.log(), 10, "the first SIGINT's line", process.log)
    signalled = time.monotonic()
    process.process.send_signal(signal.SIGINT)
    assert process.process.wait(timeout=30) == 1, process.log()
    assert time.monotonic() - signalled < 10, f"took {time.monotonic() - signalled:.1f}s\n{process.log()}"
    log = process.log()
    assert "received a second signal: stopping at once, abandoning the running tasks" in log
    assert f"stopping at once: abandoning 1 running task(s): {LEASED} {task_id} (workflow {workflow_id})" in log
    assert "not every task finished and reported" in log


def test_a_setting_for_a_task_not_served_here_stops_worker_and_register_and_fails_doctor(
    project: BakedProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    typo = f"CONDUCTOR_WORKER_{LEASED.upper()}D_THREAD_COUNT"
    meant = f"CONDUCTOR_WORKER_{LEASED.upper()}_THREAD_COUNT"
    env = {typo: "4", "WORKER_HEALTH_DIR": str(tmp_path_factory.mktemp("typo-health"))}
    for command in ("worker", "register"):
        result = project.cli(command, env=env, timeout=30)
        print(f"{command}: exit {result.returncode}, stderr {result.stderr!r}")
        assert result.returncode == 2, result.stdout + result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"configuration error: {typo}: no worker here serves a task"), line
        assert line.endswith(f"did you mean {meant}?"), line
    doctor = project.cli("doctor", env=env)
    print(doctor.stdout)
    assert doctor.returncode == 1
    (settings,) = [line for line in doctor.stdout.splitlines() if line.startswith("FAIL  worker settings:")]
    assert typo in settings and f"did you mean {meant}?" in settings
    assert project.cli("health", env=env).returncode == 1, "the refused worker must not have started"


def test_worker_start_warns_once_per_served_task_the_server_has_no_definition_of_and_serves_it(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    """Last in the module: it adds workers to the project."""
    for name in UNDEFINED:
        project.add_worker("undefined", UNDEFINED_MODULE, name)
        write_task_definition(project, name)
    write_workflow(project, "stop_undefined_flow", {UNDEFINED[0]: from_workflow_input("n")})
    process = project.start_polling_worker(workers, "undefined.log")
    wait_until(
        lambda: all(f"task {name} has no definition" in process.log() for name in UNDEFINED),
        30,
        "no warning for each task without a definition",
        process.log,
    )
    warnings = [line for line in process.log().splitlines() if "has no definition on the server" in line]
    print("\n".join(warnings))
    assert len(warnings) == len(UNDEFINED), warnings  # none for the tasks the server has
    for name in UNDEFINED:
        (line,) = [line for line in warnings if f"task {name} has" in line]
        assert " WARNING " in line
        assert line.endswith(f"task {name} has no definition on the server: run `register` (it is polled anyway)")
    # It keeps serving: once registered (the worker still running), its workflow completes.
    assert project.cli("register").returncode == 0
    workflow_id = conductor.start_workflow("stop_undefined_flow", {"n": 7})
    workflows.append(workflow_id)
    assert conductor.wait_for([workflow_id], timeout=60) == {workflow_id: "COMPLETED"}
    assert process.process.poll() is None
    assert process.stop() == 0, process.log()
