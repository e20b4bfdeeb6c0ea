"""`run-workflow` rides out a server that is briefly unreachable: it retries within its --timeout,
starts the workflow once, and gives up with one line when the server stays away."""

import subprocess
import time
from collections.abc import Iterator

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake_for_server
from harness.conductor_server import ConductorServer, restartable_port
from harness.forwarder import Forwarder

pytestmark = pytest.mark.e2e

TASK = "e2e_outage_task"  # names of this module's own, so other modules never see them
WORKFLOW = "e2e_outage_flow"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    return bake_for_server(
        tmp_path_factory.mktemp("outage"), conductor.api_url, task_definition_name=TASK, workflow_name=WORKFLOW
    )


@pytest.fixture(scope="module")
def worker(project: BakedProject) -> Iterator[WorkerProcess]:
    with project.serving(register=False) as process:
        yield process


def run_workflow_through(project: BakedProject, port: int, timeout: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(project.bin / "python"), "-m", project.package, "run-workflow", "--timeout", timeout],
        cwd=project.path,
        env=project.environment({"CONDUCTOR_SERVER_URL": f"http://127.0.0.1:{port}/api"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_workflow_waits_for_a_server_that_comes_back(
    project: BakedProject, worker: WorkerProcess, conductor: ConductorServer
) -> None:
    forwarder = Forwarder(conductor.port)  # closed until the server "comes back"; no client takes its port
    process = run_workflow_through(project, forwarder.port, "90")
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # the server is away: run-workflow says it retries
        assert first.endswith("; retrying until the --timeout runs out\n"), first
        forwarder.open()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        forwarder.close()
    assert process.returncode == 0, stdout + stderr
    assert '"status": "COMPLETED"' in stdout
    workflow_id = next(line.split(": ")[1] for line in stderr.splitlines() if line.startswith("started "))
    correlation = conductor.workflow(workflow_id)["correlationId"]
    started = conductor.api("GET", f"/workflow/{WORKFLOW}/correlated/{correlation}?includeClosed=true")
    assert isinstance(started, list) and len(started) == 1  # started once


def test_run_workflow_gives_up_at_its_timeout_with_one_line(project: BakedProject) -> None:
    port = restartable_port()  # nothing listens there, and no other test's connection takes it meanwhile
    began = time.monotonic()
    process = run_workflow_through(project, port, "6")
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert 5 <= time.monotonic() - began < 30
    lines = stderr.splitlines()
    assert lines[0].endswith("; retrying until the --timeout runs out")
    assert lines[-1].startswith(f"error: cannot reach Conductor at http://127.0.0.1:{port}/api")
    assert "Traceback" not in stderr and stdout == ""
