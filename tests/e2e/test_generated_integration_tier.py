"""The generated project's own integration tier (`make integration`): it passes against the real server,
also while the developer's own worker runs with the same settings; without a server it fails with one
line saying how to start one, and it is left out only when deselected."""

import subprocess
from pathlib import Path

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer, free_port

pytestmark = pytest.mark.e2e

NO_SERVER = "http://127.0.0.1:9/api"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    return bake(
        tmp_path_factory.mktemp("integration"), project_name="Tier Worker", task_definition_name="tier_invoice_total"
    ).install()


def pytest_in(project: BakedProject, marker: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return project.run("pytest", "-p", "no:cacheprovider", "-m", marker, "-q", "-rA", env=env, check=False)


def test_passes_against_the_real_server_while_a_dev_worker_runs(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    # What `.env` gives every command in the checkout: the dev worker's metrics port and health folder.
    settings = {
        "CONDUCTOR_SERVER_URL": conductor.api_url,
        "WORKER_METRICS_PORT": str(free_port()),
        "WORKER_HEALTH_DIR": str(tmp_path / "dev-health"),
    }
    with project.serving(settings, "dev-worker.log") as dev:
        result = pytest_in(project, "integration", settings)
        assert result.returncode == 0, f"{result.stdout}{result.stderr}"
        assert "5 passed" in result.stdout and "skipped" not in result.stdout, result.stdout
        health = project.cli("health", env=settings)
        assert health.returncode == 0, f"the dev worker's health broke: {health.stdout}"
        assert dev.process.poll() is None, "the dev worker exited"


def test_fails_with_one_line_without_a_server(project: BakedProject) -> None:
    result = pytest_in(project, "integration", {"CONDUCTOR_SERVER_URL": NO_SERVER})
    assert result.returncode == 1, result.stdout
    assert "skipped" not in result.stdout and "passed" not in result.stdout, result.stdout
    assert "5 errors" in result.stdout, result.stdout
    # Each test's error is this one line (no traceback).
    reasons = [line for line in result.stdout.splitlines() if line.startswith("no Conductor server")]
    assert len(reasons) == 5, result.stdout
    for line in reasons:
        assert line.startswith("no Conductor server within 10 s: cannot reach Conductor at http://127.0.0.1:9/api")
        assert "Start one with `docker compose up -d conductor`" in line, line


def test_is_left_out_only_when_deselected(project: BakedProject) -> None:
    result = pytest_in(project, "not integration", {"CONDUCTOR_SERVER_URL": NO_SERVER})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 deselected" in result.stdout, result.stdout
    # The one skip a fresh project has: the replay test, until a task is captured.
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("no captured tasks" in line for line in skipped), result.stdout
