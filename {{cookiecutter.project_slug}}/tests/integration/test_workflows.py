"""Each workflow in definitions/workflows, run on the server through its workflow test endpoint, with this
project's workers run here for its SIMPLE tasks (docs/workflow-tests.md). A workflow you add, or one
`new-worker --workflow` extends, is tested without a line written here.

Each run starts from the workflow's `<name>.input.json`. A test fails, naming the task reference, when the
workflow does not complete, when a task input or a workflow output wired with `${...}` resolves to null,
when a wired input is no parameter of its worker, when the output differs from what the workers gave, or
when a task input or the output differs from the values in `expected/<name>.json` (yours to keep).
Outputs of tasks no worker here serves (and of WAIT or HUMAN tasks) go in `given_outputs/<name>.json`.
"""

from pathlib import Path

import pytest
from conductor_worker_kit.commands.definitions import definition_files
from conductor_worker_kit.conductor_client import ConductorClient
from conductor_worker_kit.project import Project
from conductor_worker_kit.workflow_check import check_project_workflow

PROJECT = Project("{{ cookiecutter.package_name }}")
WORKFLOWS = [path for path, _ in definition_files(PROJECT.workflows_dir)]
pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", WORKFLOWS, ids=[path.stem for path in WORKFLOWS])
def test_workflow_completes_with_the_workers_here(server: ConductorClient, path: Path) -> None:
    check = check_project_workflow(server, PROJECT, path)
    print(check.report())
    assert check.status == "COMPLETED", check.report()
    assert not check.problems, check.report()
