"""The generated project's own integration tier: it runs against CONDUCTOR_SERVER_URL, and is skipped
with a clear reason when no server answers there."""

import subprocess

import pytest

from tests.harness.baked_project import BakedProject, bake
from tests.harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    return bake(
        tmp_path_factory.mktemp("integration"), project_name="Tier Worker", task_definition_name="tier_invoice_total"
    ).install()


def integration_tier(project: BakedProject, server_url: str) -> subprocess.CompletedProcess[str]:
    result = project.run(
        "pytest", "-p", "no:cacheprovider", "-m", "integration", "-q", "-rs",
        env={"CONDUCTOR_SERVER_URL": server_url}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_passes_against_the_real_server(project: BakedProject, conductor: ConductorServer) -> None:
    result = integration_tier(project, conductor.api_url)
    assert "4 passed" in result.stdout and "skipped" not in result.stdout


def test_is_skipped_with_a_reason_without_a_server(project: BakedProject) -> None:
    result = integration_tier(project, "http://127.0.0.1:9/api")
    assert "4 skipped" in result.stdout
    assert "no Conductor server: cannot reach Conductor at http://127.0.0.1:9/api" in result.stdout
