"""The generated workflow tests (tests/integration/test_workflows.py) against the real Conductor OSS server:
each shipped workflow passes through the server's workflow test endpoint with the project's worker run in
the test; a mis-wired workflow fails naming the task reference; a workflow that `new-worker --workflow`
extends, and one added by hand, are tested without a line written; a task no worker here serves, or a WAIT, fails
the test until its output is given; a value the team expects (tests/integration/expected) that the run does not
give fails it, naming the value."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e

TASK = "wt_invoice_total"  # names of this module's own, so other modules' tasks never interfere
NEW_TASK = "wt_send_note"  # an `async def` worker: run to its end in the test
MISWIRED = "wt_miswired"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("workflow-tests"), project_name="WT Worker", task_definition_name=TASK)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    return baked.install()


def workflows_dir(project: BakedProject) -> Path:
    return project.path / "src" / project.package / "definitions" / "workflows"


def workflow_tests(project: BakedProject) -> subprocess.CompletedProcess[str]:
    test_file = "tests/integration/test_workflows.py"
    return project.run("pytest", "-p", "no:cacheprovider", "-q", "-rA", test_file, check=False)


def test_the_shipped_workflow_passes_with_the_projects_worker(project: BakedProject) -> None:
    result = workflow_tests(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
    assert f"workflow {project.workflow_name}: COMPLETED" in result.stdout, result.stdout
    assert f"{TASK} [SIMPLE] COMPLETED, run by this project's worker" in result.stdout, result.stdout
    assert "'total': '37.16'" in result.stdout.split("workflow output:")[1], result.stdout


def test_a_value_the_team_expects_that_the_run_does_not_give_fails_naming_it(project: BakedProject) -> None:
    expected = project.path / "tests" / "integration" / "expected" / f"{project.workflow_name}.json"
    shipped = expected.read_text()
    values = json.loads(shipped)
    assert values["output"]["total"] == "37.16", "the example workflow ships the values it gives"
    values["output"]["total"] = "37.17"
    values["inputs"][TASK]["tax_rate"] = "0.21"
    expected.write_text(json.dumps(values))
    try:
        result = workflow_tests(project)
    finally:
        expected.write_text(shipped)
    assert result.returncode == 1, result.stdout + result.stderr
    where = "is expected (expected in tests/integration/expected)"
    assert f"problem: workflow output total is '37.16', but '37.17' {where}" in result.stdout, result.stdout
    assert f"problem: {TASK}: input tax_rate is '0.20', but '0.21' {where}" in result.stdout, result.stdout


@pytest.fixture
def miswired(project: BakedProject) -> Iterator[dict[str, object]]:
    """A copy of the shipped workflow under a name of its own, for a test to mis-wire; removed after it."""
    folder = workflows_dir(project)
    workflow = json.loads((folder / f"{project.workflow_name}.json").read_text())
    workflow["name"] = MISWIRED
    example = (folder / f"{project.workflow_name}.input.json").read_text()
    (folder / f"{MISWIRED}.input.json").write_text(example)
    yield workflow
    (folder / f"{MISWIRED}.json").unlink(missing_ok=True)
    (folder / f"{MISWIRED}.input.json").unlink()


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        # The worker has a default for currency: only the check of the wiring notices.
        ("currency", f"{TASK}: input.currency = '${{workflow.input.currencyy}}' resolved to null"),
        ("order_id", f"{TASK}: the worker {TASK} ended FAILED_WITH_TERMINAL_ERROR: order_id must be a non-empty"),
    ],
)
def test_a_miswired_workflow_fails_naming_the_task_reference(
    project: BakedProject, miswired: dict[str, object], field: str, problem: str
) -> None:
    tasks = miswired["tasks"]
    assert isinstance(tasks, list)
    tasks[0]["inputParameters"][field] = f"${{workflow.input.{field}y}}"
    (workflows_dir(project) / f"{MISWIRED}.json").write_text(json.dumps(miswired))
    result = workflow_tests(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED tests/integration/test_workflows.py::test_workflow_completes_with_the_workers_here[{MISWIRED}]" in (
        result.stdout
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    assert f"problem: {problem}" in result.stdout, result.stdout


def test_a_task_no_worker_here_serves_or_a_wait_fails_until_its_output_is_given(
    project: BakedProject, miswired: dict[str, object]
) -> None:
    tasks = miswired["tasks"]
    assert isinstance(tasks, list)
    tasks.append(
        {"name": "hold", "taskReferenceName": "hold", "type": "WAIT", "inputParameters": {"duration": "1 days"}}
    )
    wiring = {"total": f"${{{TASK}.output.total}}"}
    tasks.append({"name": "wt_other_team", "taskReferenceName": "notify", "type": "SIMPLE", "inputParameters": wiring})
    (workflows_dir(project) / f"{MISWIRED}.json").write_text(json.dumps(miswired))
    given = project.path / "tests" / "integration" / "given_outputs" / f"{MISWIRED}.json"
    given.parent.mkdir()
    try:
        result = workflow_tests(project)
        assert result.returncode == 1, result.stdout + result.stderr
        hint = f"in tests/integration/given_outputs/{MISWIRED}.json)"
        waits = f"problem: hold: the test run leaves WAIT tasks waiting (give its output under 'hold' {hint}"
        assert waits in result.stdout, result.stdout
        given.write_text(json.dumps({"hold": {}}))
        result = workflow_tests(project)
        assert result.returncode == 1, result.stdout + result.stderr
        unserved = "problem: notify: no worker in this project serves task 'wt_other_team'"
        assert f"{unserved} (give its output under 'notify' {hint}" in result.stdout, result.stdout
        given.write_text(json.dumps({"hold": {}, "notify": {"sent": True}}))
        result = workflow_tests(project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "hold [WAIT] COMPLETED, output given in tests/integration/given_outputs" in result.stdout
        assert "notify [SIMPLE] COMPLETED, output given in tests/integration/given_outputs" in result.stdout
        assert "input:  {'total': '37.16'}" in result.stdout, result.stdout  # the server still resolves its input
    finally:
        given.unlink(missing_ok=True)
        given.parent.rmdir()


def test_workflows_new_worker_extends_or_a_team_adds_are_tested_without_a_line_written(project: BakedProject) -> None:
    added = project.cli("new-worker", NEW_TASK, "--async", "--workflow", project.workflow_name)
    assert added.returncode == 0, added.stderr
    folder = workflows_dir(project)
    for suffix in (".json", ".input.json"):
        copy = (folder / f"{project.workflow_name}{suffix}").read_text().replace(project.workflow_name, "wt_second")
        (folder / f"wt_second{suffix}").write_text(copy)
    result = workflow_tests(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
    for workflow in (project.workflow_name, "wt_second"):
        assert f"workflow {workflow}: COMPLETED" in result.stdout, result.stdout
    assert result.stdout.count(f"{NEW_TASK} [SIMPLE] COMPLETED, run by this project's worker") == 2, result.stdout
