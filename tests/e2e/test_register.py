"""`register` against the real Conductor OSS server: the JSON files are the whole truth for every field
the server stores, a new task file gets the project's task defaults, and a refusal names the file and
each reason."""

import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake_for_server
from harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e

TASK = "e2e_register_task"  # names of this module's own, so other modules never see them
WORKFLOW = "e2e_register_flow"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    return bake_for_server(
        tmp_path_factory.mktemp("register"),
        conductor.api_url,
        register=False,
        task_definition_name=TASK,
        workflow_name=WORKFLOW,
    )


def definitions(project: BakedProject) -> Path:
    return project.path / "src" / project.package / "definitions"


@pytest.fixture
def files(project: BakedProject) -> Iterator[Path]:
    """The definitions folder; whatever a test changes in it is put back afterwards."""
    folder = definitions(project)
    before = {path: path.read_bytes() for path in folder.rglob("*.json")}
    yield folder
    for path in set(folder.rglob("*.json")) - set(before):
        path.unlink()
    for path, content in before.items():
        path.write_bytes(content)
    assert project.cli("register").returncode == 0


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def register(project: BakedProject) -> list[str]:
    result = project.cli("register")
    assert result.returncode == 0, result.stderr
    return [" ".join(line.split()[:1]) for line in result.stdout.splitlines()]


def on_server(conductor: ConductorServer, path: str) -> dict[str, Any]:
    found = conductor.api("GET", path)
    assert isinstance(found, dict)
    return found


def test_a_field_removed_from_a_file_returns_to_its_default(
    project: BakedProject, conductor: ConductorServer, files: Path
) -> None:
    register(project)
    task_file, workflow_file = files / "tasks" / f"{TASK}.json", files / "workflows" / f"{WORKFLOW}.json"
    original_task, original_workflow = task_file.read_text(), workflow_file.read_text()

    def extras(task: dict[str, Any]) -> None:
        task.update(concurrentExecLimit=5, rateLimitPerFrequency=10, pollTimeoutSeconds=7, isolationGroupId="g")

    def workflow_extras(workflow: dict[str, Any]) -> None:
        workflow.update(restartable=False, variables={"region": "eu"}, failureWorkflow="cleanup")
        workflow["tasks"][0].update(optional=True, startDelay=3)

    edit(task_file, extras)
    edit(workflow_file, workflow_extras)
    assert register(project) == ["updated", "updated"]
    task = on_server(conductor, f"/metadata/taskdefs/{TASK}")
    assert (task["concurrentExecLimit"], task["pollTimeoutSeconds"], task["isolationGroupId"]) == (5, 7, "g")

    task_file.write_text(original_task)
    workflow_file.write_text(original_workflow)
    assert register(project) == ["updated", "updated"]
    task = on_server(conductor, f"/metadata/taskdefs/{TASK}")
    assert (task["concurrentExecLimit"], task["rateLimitPerFrequency"]) == (0, 0)  # the project's task defaults
    assert "pollTimeoutSeconds" not in task and "isolationGroupId" not in task  # the server's: none
    workflow = on_server(conductor, f"/metadata/workflow/{WORKFLOW}?version=1")
    assert (workflow["restartable"], workflow["variables"], workflow.get("failureWorkflow")) == (True, {}, None)
    assert (workflow["tasks"][0]["optional"], workflow["tasks"][0]["startDelay"]) == (False, 0)
    assert register(project) == ["unchanged", "unchanged"]


def test_a_change_only_the_server_has_is_undone(project: BakedProject, conductor: ConductorServer) -> None:
    register(project)
    task = on_server(conductor, f"/metadata/taskdefs/{TASK}")
    # Fields the files leave out, set on the server by hand (say, in the UI).
    conductor.api("PUT", "/metadata/taskdefs", {**task, "pollTimeoutSeconds": 9, "inputTemplate": {"x": 1}})
    assert register(project) == ["updated", "unchanged"]
    task = on_server(conductor, f"/metadata/taskdefs/{TASK}")
    assert ("pollTimeoutSeconds" in task, task["inputTemplate"]) == (False, {})


def test_a_minimal_task_file_gets_the_project_task_defaults(
    project: BakedProject, conductor: ConductorServer, files: Path
) -> None:
    register(project)  # whatever ran before: the module's own definitions are on the server
    (files / "tasks" / "e2e_register_minimal.json").write_text(json.dumps({"name": "e2e_register_minimal"}))
    assert register(project) == ["created", "unchanged", "unchanged"]
    task = on_server(conductor, "/metadata/taskdefs/e2e_register_minimal")
    defaults = json.loads((files / "task-defaults.json").read_text())
    assert {field: task.get(field) for field in defaults} == defaults
    assert task["responseTimeoutSeconds"] == 30  # not the server's 3600
    assert all(line == "unchanged" for line in register(project))


def test_a_refused_definition_names_the_file_and_each_reason(project: BakedProject, files: Path) -> None:
    bad = files / "tasks" / "zz_e2e_refused.json"
    refused = {"name": "zz_e2e_refused", "retryCount": -1, "timeoutSeconds": 60, "responseTimeoutSeconds": 300}
    bad.write_text(json.dumps(refused))
    result = project.cli("register")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    prefix = f"error: src/{project.package}/definitions/tasks/zz_e2e_refused.json: the server refused task definition"
    assert len(lines) == 2, result.stderr
    assert all(line.startswith(f"{prefix} zz_e2e_refused: ") for line in lines)
    assert any("retryCount" in line and "(got -1)" in line for line in lines)
    assert any("responseTimeoutSeconds: 300 must be less than timeoutSeconds: 60" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_a_refused_workflow_names_the_file_and_nothing_after_it_is_sent(
    project: BakedProject, conductor: ConductorServer, files: Path
) -> None:
    """Workflows go in file order; the refused one stops `register`, so the one after it never arrives."""
    workflows = files / "workflows"
    original = json.loads((workflows / f"{WORKFLOW}.json").read_text())
    (workflows / "e2e_register_a_refused.json").write_text(
        json.dumps({**original, "name": "e2e_register_a_refused", "tasks": []})
    )
    (workflows / "e2e_register_b_after.json").write_text(json.dumps({**original, "name": "e2e_register_b_after"}))
    result = project.cli("register")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"error: src/{project.package}/definitions/workflows/e2e_register_a_refused.json: the server refused "
        "workflow e2e_register_a_refused: tasks: WorkflowTask list cannot be empty\n"
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        conductor.api("GET", "/metadata/workflow/e2e_register_b_after?version=1")
    assert missing.value.code == 404, "the workflow after the refused file was sent"


def test_the_field_tables_match_what_the_server_stores(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    """The project's table of the server's fields and defaults, checked against minimal definitions."""
    minimal_task = {"name": "e2e_register_probe", "ownerEmail": "probe@example.com"}
    minimal_workflow = {
        "name": "e2e_register_probe_flow",
        "ownerEmail": "probe@example.com",
        "timeoutSeconds": 0,
        "tasks": [{"name": "e2e_register_probe", "taskReferenceName": "probe"}],
    }
    conductor.api("POST", "/metadata/taskdefs", [minimal_task])
    conductor.api("PUT", "/metadata/workflow", [minimal_workflow])
    stored = {
        "task": [minimal_task, on_server(conductor, "/metadata/taskdefs/e2e_register_probe")],
        "workflow": [minimal_workflow, on_server(conductor, "/metadata/workflow/e2e_register_probe_flow?version=1")],
    }
    (tmp_path / "stored.json").write_text(json.dumps(stored))
    script = """
import json, sys
from conductor_worker_kit.commands.definitions import (
    TASK_FIELDS, WORKFLOW_FIELDS, WORKFLOW_TASK_FIELDS, same_definition
)
stored = json.load(open(sys.argv[1]))
bookkeeping = {"createTime", "updateTime", "createdBy", "updatedBy", "ownerApp"}
for kind, fields in (("task", TASK_FIELDS), ("workflow", WORKFLOW_FIELDS)):
    sent, kept = stored[kind]
    unknown = set(kept) - set(fields) - bookkeeping
    assert not unknown, f"{kind}: the server stores fields the table lacks: {unknown}"
    assert same_definition(kept, sent, fields), (kind, kept)
unknown = set(stored["workflow"][1]["tasks"][0]) - set(WORKFLOW_TASK_FIELDS)
assert not unknown, f"workflow task: the server stores fields the table lacks: {unknown}"
print("ok")
"""
    result = project.run("python", "-c", script, str(tmp_path / "stored.json"), check=False)
    assert result.stdout.strip() == "ok", result.stderr
