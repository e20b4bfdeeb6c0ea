"""The generated `scripts/e2e.sh`, the very script CI's e2e job runs, against the real Conductor server:
it must end in COMPLETED with a clean worker drain, and fail with a clear message when no server answers."""

import json
from pathlib import Path

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer, free_port

pytestmark = pytest.mark.e2e

TASK = "e2e_script_total"  # this module's own task, so other modules' workers never take its tasks


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("e2e-script"), project_name="E2E Script Worker", task_definition_name=TASK)
    return baked.install()


def test_e2e_script_completes_against_the_real_server(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=600,
        env={"CONDUCTOR_SERVER_URL": conductor.api_url, "E2E_LOG_DIR": str(logs)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "e2e: the worker is polling" in result.stdout
    assert '"status": "COMPLETED"' in result.stdout
    assert "e2e: the worker drained and exited 0" in result.stdout
    assert result.stdout.rstrip().endswith("e2e: COMPLETED")
    assert json.loads((logs / "workflow.json").read_text())["status"] == "COMPLETED"
    assert (logs / "worker.log").stat().st_size > 0


def test_e2e_script_fails_clearly_when_no_server_answers(project: BakedProject, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=120,
        env={
            "CONDUCTOR_SERVER_URL": f"{url}/api",
            "E2E_SERVER_WAIT_SECONDS": "3",
            "E2E_LOG_DIR": str(tmp_path / "logs"),
        },
    )
    assert result.returncode != 0
    assert f"e2e: FAILED: no Conductor server answered at {url}/health within 3s" in result.stderr
    assert "register" not in result.stdout


def test_e2e_script_fails_when_the_workflow_cannot_complete(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    # The worker polls another domain, so the task is never taken: still RUNNING when the wait ends.
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=300,
        env={
            "CONDUCTOR_SERVER_URL": conductor.api_url,
            "CONDUCTOR_WORKER_ALL_DOMAIN": "elsewhere",
            "E2E_WORKFLOW_TIMEOUT_SECONDS": "3",
            "E2E_LOG_DIR": str(tmp_path / "logs"),
        },
    )
    assert result.returncode != 0, result.stdout
    assert "e2e: FAILED: the example workflow did not complete" in result.stderr
    assert '"status": "RUNNING"' in result.stdout
