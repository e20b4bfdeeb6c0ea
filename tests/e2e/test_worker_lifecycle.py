"""The worker's life against the real Conductor OSS server: drained by SIGTERM, riding out a server
outage, polling the right domain, and authenticating Orkes-style. Each test runs its own worker."""

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.auth_proxy import AccessKey, AuthProxy
from tests.harness.baked_project import BakedProject, WorkerProcess, bake, left_behind
from tests.harness.conductor_server import ConductorServer
from tests.harness.slow_worker import SLOW_WORKFLOW, add_slow_worker

pytestmark = pytest.mark.e2e

TASK = "lifecycle_invoice_total"
KEY_ID, SECRET = "worker-app-key", "Sup3r-S3cret-Value-0xC0FFEE"
OTHER_KEY_ID, OTHER_SECRET = "no-execute-key", "An0ther-S3cret-Value-0xBEEF"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("lifecycle"), project_name="Lifecycle Worker", task_definition_name=TASK)
    add_slow_worker(baked)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url, "WORKER_SHUTDOWN_GRACE_SECONDS": "15"}
    baked.install()
    assert baked.cli("register").returncode == 0
    return baked


@pytest.fixture
def health_env(tmp_path: Path) -> dict[str, str]:
    return {"WORKER_HEALTH_DIR": str(tmp_path / "health")}


def started(project: BakedProject, env: dict[str, str], log_name: str) -> WorkerProcess:
    process = project.start_worker(env=env, log_name=log_name)
    project.wait_until_polling(env)
    return process


@pytest.mark.parametrize(
    ("task_seconds", "workflows", "signal_after"),
    [(2.0, 12, 0.0), (0.3, 40, 1.0)],
    ids=["long-tasks-signal-at-first-start", "short-tasks-signal-while-polling"],
)
def test_sigterm_drains_in_flight_tasks_and_loses_none(
    project: BakedProject,
    conductor: ConductorServer,
    health_env: dict[str, str],
    task_seconds: float,
    workflows: int,
    signal_after: float,
) -> None:
    process = started(project, health_env, "drain.log")
    ids = [conductor.start_workflow(SLOW_WORKFLOW, {"seconds": task_seconds, "n": n}) for n in range(workflows)]
    deadline = time.monotonic() + 20
    while not any(task["status"] == "IN_PROGRESS" for wid in ids for task in conductor.workflow(wid)["tasks"]):
        assert time.monotonic() < deadline, "no task ever started"
        time.sleep(0.1)
    time.sleep(signal_after)
    children = process.descendants()
    assert children, "the worker runs its workers in child processes"
    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.process.wait(timeout=30) == 0, process.log()
    assert time.monotonic() - signalled < 15, "the drain took longer than the grace"
    assert left_behind(children) == [], "worker processes left behind"
    assert "received SIGTERM: draining" in process.log()

    restarted = started(project, health_env, "drain-restart.log")
    try:
        statuses = conductor.wait_for(ids, timeout=90)
    finally:
        assert restarted.stop() == 0
    assert set(statuses.values()) == {"COMPLETED"}, statuses
    # Nothing was abandoned and re-queued by a timeout: each workflow ran its task exactly once.
    attempts = [[task["status"] for task in conductor.workflow(wid)["tasks"]] for wid in ids]
    assert attempts == [["COMPLETED"]] * len(ids)


def test_sigint_stops_an_idle_worker_cleanly(project: BakedProject, health_env: dict[str, str]) -> None:
    process = started(project, health_env, "sigint.log")
    children = process.descendants()
    process.process.send_signal(signal.SIGINT)
    assert process.process.wait(timeout=30) == 0, process.log()
    assert left_behind(children) == []
    assert "received SIGINT: draining" in process.log()


def test_worker_recovers_by_itself_after_a_server_outage(
    project: BakedProject, tmp_path: Path, health_env: dict[str, str]
) -> None:
    """A server of its own, stopped for ~20 s under load and restarted on the same port and data."""
    server = ConductorServer(data_dir=tmp_path / "outage-server").start()
    env = {**health_env, "CONDUCTOR_SERVER_URL": server.api_url}
    try:
        assert project.cli("register", env=env).returncode == 0
        process = started(project, env, "outage.log")
        ids = [server.start_workflow(SLOW_WORKFLOW, {"seconds": 0.5, "n": n}) for n in range(30)]
        time.sleep(1.0)
        server.stop()
        time.sleep(20)
        server.start()
        ids += [server.start_workflow(SLOW_WORKFLOW, {"seconds": 0.5, "n": n}) for n in range(30, 40)]
        statuses = server.wait_for(ids, timeout=180)
        assert set(statuses.values()) == {"COMPLETED"}, statuses
        assert process.process.poll() is None, "the worker must not exit during an outage"
        assert process.stop() == 0
    finally:
        server.stop()


def test_a_worker_in_a_domain_serves_that_domain_and_doctor_reports_a_mismatch(
    project: BakedProject, conductor: ConductorServer, health_env: dict[str, str]
) -> None:
    env = {**health_env, "CONDUCTOR_WORKER_ALL_DOMAIN": "blue"}
    process = started(project, env, "domain.log")
    stranded = None
    try:
        result = project.cli("run-workflow", "--workflow", project.workflow_name, "--domain", "blue", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["status"] == "COMPLETED"
        assert project.cli("doctor", env=env).returncode == 0

        stranded = conductor.start_workflow(project.workflow_name, {"order_id": "x"}, taskToDomain={"*": "green"})
        time.sleep(1)
        doctor = project.cli("doctor", env=env)
        assert doctor.returncode == 1
        assert (
            f"FAIL  domain of {TASK}: tasks wait with no worker polling them (1 in domain 'green'); "
            "this worker polls domain 'blue'"
        ) in doctor.stdout
        assert conductor.workflow(stranded)["tasks"][0]["status"] == "SCHEDULED"
    finally:
        if stranded:
            conductor.api("DELETE", f"/workflow/{stranded}?reason=test+cleanup")
        assert process.stop() == 0


@pytest.fixture
def orkes(conductor: ConductorServer) -> Iterator[AuthProxy]:
    proxy = AuthProxy(
        upstream=conductor.root_url,
        keys={KEY_ID: AccessKey(SECRET), OTHER_KEY_ID: AccessKey(OTHER_SECRET, may_execute=False)},
    ).start()
    yield proxy
    proxy.stop()


def test_orkes_style_auth_with_the_right_key(
    project: BakedProject, orkes: AuthProxy, health_env: dict[str, str]
) -> None:
    env = {
        **health_env,
        "CONDUCTOR_SERVER_URL": orkes.api_url,
        "CONDUCTOR_AUTH_KEY": KEY_ID,
        "CONDUCTOR_AUTH_SECRET": SECRET,
    }
    outputs = [project.cli("register", env=env)]
    process = started(project, env, "auth.log")
    try:
        outputs.append(project.cli("run-workflow", "--workflow", project.workflow_name, env=env))
        outputs.append(project.cli("doctor", env=env))
    finally:
        assert process.stop() == 0
    assert [result.returncode for result in outputs] == [0, 0, 0], [r.stdout + r.stderr for r in outputs]
    assert json.loads(outputs[1].stdout)["status"] == "COMPLETED"
    assert "PASS  credentials: CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET accepted" in outputs[2].stdout
    assert any(request.startswith("GET /api/tasks/poll/batch/") for request in orkes.requests)
    everything = "".join(r.stdout + r.stderr for r in outputs) + process.log()
    assert SECRET not in everything


@pytest.mark.parametrize("command", ["register", "run-workflow", "worker"])
def test_orkes_style_auth_with_a_wrong_secret_fails_clearly(
    project: BakedProject, orkes: AuthProxy, command: str, health_env: dict[str, str]
) -> None:
    env = {
        **health_env,
        "CONDUCTOR_SERVER_URL": orkes.api_url,
        "CONDUCTOR_AUTH_KEY": KEY_ID,
        "CONDUCTOR_AUTH_SECRET": "wrong-" + SECRET,
    }
    result = (
        project.cli(command, "--workflow", project.workflow_name, env=env, timeout=60)
        if command == "run-workflow"
        else project.cli(command, env=env, timeout=60)
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (HTTP 401: Invalid access key or secret)"
    ]
    assert SECRET not in result.stdout + result.stderr


def test_doctor_explains_auth_problems(project: BakedProject, orkes: AuthProxy) -> None:
    base = {"CONDUCTOR_SERVER_URL": orkes.api_url}
    wrong = project.cli("doctor", env={**base, "CONDUCTOR_AUTH_KEY": KEY_ID, "CONDUCTOR_AUTH_SECRET": "nope"})
    assert wrong.returncode == 1
    assert "FAIL  credentials: server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (HTTP 401" in wrong.stdout
    missing = project.cli("doctor", env=base)
    assert "FAIL  credentials: the server requires credentials" in missing.stdout
    no_execute = project.cli(
        "doctor", env={**base, "CONDUCTOR_AUTH_KEY": OTHER_KEY_ID, "CONDUCTOR_AUTH_SECRET": OTHER_SECRET}
    )
    assert no_execute.returncode == 1
    assert f"FAIL  poll permission {TASK}: HTTP 403: the application lacks Execute permission" in no_execute.stdout
    for result in (wrong, missing, no_execute):
        assert SECRET not in result.stdout + result.stderr and OTHER_SECRET not in result.stdout + result.stderr
