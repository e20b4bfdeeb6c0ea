"""What the generated README says happens on the server, proven on the real Conductor OSS server:
a retryable failure is retried with the task definition's backoff and then completes; `worker` never
changes the definitions on the server; `health` stays healthy while the worker retries an unreachable
server, and the worker serves again once the server is back."""

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer
from harness.flaky_worker import FLAKY_TASK, FLAKY_WORKFLOW, add_flaky_worker
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "claims_invoice_total"  # this module's own task name, so other modules' workers never take its tasks
RETRY_FIELDS = ("retryCount", "retryLogic", "retryDelaySeconds", "backoffScaleFactor")
HEALTH_MAX_AGE_SECONDS = 20
OUTAGE_SECONDS = 25
# The SDK waits up to 120 s between polls after repeated failures; recovery may take that long.
RECOVERY_SECONDS = 150


def generated_definition(project: BakedProject) -> dict[str, Any]:
    """The task's definition as `register` sends it: task-defaults.json, then the task's own file."""
    definitions = project.path / "src" / project.package / "definitions"
    defaults = json.loads((definitions / "task-defaults.json").read_text())
    return {**defaults, **json.loads((definitions / "tasks" / f"{TASK}.json").read_text())}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("claims"), project_name="Claims Worker", task_definition_name=TASK)
    # The flaky task retries exactly as the generated task definition says.
    definition = generated_definition(baked)
    add_flaky_worker(baked, {field: definition[field] for field in RETRY_FIELDS})
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    baked.install()
    registered = baked.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    return baked


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"WORKER_HEALTH_DIR": str(tmp_path / "health")}


def retry_delays(definition: dict[str, Any], retries: int) -> list[int]:
    """The wait before each retry, as Conductor OSS computes it from a task definition."""
    base, logic = definition["retryDelaySeconds"], definition["retryLogic"]
    if logic == "FIXED":
        return [base] * retries
    if logic == "LINEAR_BACKOFF":
        return [base * definition["backoffScaleFactor"] * n for n in range(1, retries + 1)]
    assert logic == "EXPONENTIAL_BACKOFF", logic
    return [base * 2 ** (n - 1) for n in range(1, retries + 1)]  # doubles; backoffScaleFactor is not used


def test_a_retryable_failure_is_retried_with_the_definitions_backoff_then_completes(
    project: BakedProject, conductor: ConductorServer, env: dict[str, str], tmp_path: Path
) -> None:
    definition = generated_definition(project)
    failures = definition["retryCount"]  # every retry the definition allows is used; the last attempt succeeds
    expected = retry_delays(definition, failures)
    assert expected == [2, 4, 8], "the README's task definition table promises retries after 2, 4, 8 s"
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    with project.serving(env, "retry.log", register=False):
        workflow_id = conductor.start_workflow(
            FLAKY_WORKFLOW, {"key": "retry", "failures": failures, "attempts_dir": str(attempts)}
        )
        wait_until(
            lambda: conductor.workflow(workflow_id)["status"] != "RUNNING",
            60 + sum(expected),
            f"{FLAKY_WORKFLOW} did not end",
            details=lambda: str(conductor.workflow(workflow_id)),
        )
        workflow = conductor.workflow(workflow_id)
    tasks = workflow["tasks"]
    assert workflow["status"] == "COMPLETED" and isinstance(tasks, list), workflow
    assert workflow["output"] == {"attempt": failures + 1}
    assert [(task["retryCount"], task["status"]) for task in tasks] == [
        *((n, "FAILED") for n in range(failures)),
        (failures, "COMPLETED"),
    ]
    for number, task in enumerate(tasks[:-1], start=1):
        assert f"attempt {number} fails on purpose" in task["reasonForIncompletion"], task
    # The server delayed each retry as the definition says, and no retry started early.
    assert [task["startDelayInSeconds"] for task in tasks[1:]] == expected
    for earlier, later, delay in zip(tasks[:-1], tasks[1:], expected, strict=True):
        waited = (later["startTime"] - earlier["endTime"]) / 1000
        assert waited >= delay - 0.5, f"retry {later['retryCount']} started {waited:.1f} s after the failure"


def test_starting_the_worker_leaves_the_servers_task_definitions_alone(
    project: BakedProject, conductor: ConductorServer, env: dict[str, str]
) -> None:
    """`worker` never registers: a definition edited on the server stays as it is."""
    current = conductor.api("GET", f"/metadata/taskdefs/{TASK}")
    assert isinstance(current, dict)
    edited = {**current, "description": "edited on the server", "retryCount": 1, "responseTimeoutSeconds": 17}
    conductor.api("PUT", "/metadata/taskdefs", edited)
    names = (TASK, FLAKY_TASK)
    try:
        before = {name: conductor.api("GET", f"/metadata/taskdefs/{name}") for name in names}
        assert isinstance(before[TASK], dict) and before[TASK]["description"] == "edited on the server"
        with project.serving(env, "definitions.log", register=False):
            pass  # polling: past the SDK's start-up, where it would register
        after = {name: conductor.api("GET", f"/metadata/taskdefs/{name}") for name in names}
    finally:
        restored = project.cli("register")  # back to the JSON for the other tests
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert after == before


def test_health_stays_healthy_while_the_worker_retries_an_unreachable_server(
    project: BakedProject, env: dict[str, str], tmp_path: Path
) -> None:
    """README: a worker rides out an outage by itself and `health` stays healthy meanwhile (a failed poll
    is a sign of life: restarting the worker would not bring the server back); it serves again after.

    The max age is shorter than the outage, so a health check that counted only successful polls fails."""
    server = ConductorServer(data_dir=tmp_path / "server").start()
    env = {**env, "CONDUCTOR_SERVER_URL": server.api_url, "WORKER_HEALTH_MAX_AGE_SECONDS": str(HEALTH_MAX_AGE_SECONDS)}
    try:
        with project.serving(env, "outage-health.log") as worker:
            server.stop()
            outage_started = time.monotonic()
            # The SDK's backoff between failed polls doubles from 2 s; within OUTAGE_SECONDS every gap stays
            # below the max age, so each check must pass.
            while time.monotonic() - outage_started < OUTAGE_SECONDS:
                result = project.cli("health", env=env)
                assert result.returncode == 0, f"unhealthy during the outage: {result.stdout}"
                time.sleep(1.0)  # sampling period of the check itself, not a wait for a condition
            assert worker.process.poll() is None, "the worker exited during the outage"
            server.start()
            attempts = tmp_path / "attempts"
            attempts.mkdir()
            workflow_id = server.start_workflow(
                FLAKY_WORKFLOW, {"key": "after-outage", "failures": 0, "attempts_dir": str(attempts)}
            )
            statuses = server.wait_for([workflow_id], timeout=RECOVERY_SECONDS)
            assert set(statuses.values()) == {"COMPLETED"}, statuses
            assert project.cli("health", env=env).returncode == 0
        stopped = project.cli("health", env=env)
        assert stopped.returncode == 1, "a stopped worker must be unhealthy at once"
    finally:
        server.stop()
