"""`new-worker` against the real Conductor OSS server: two new workers (sync and async) registered
idempotently with their schemas, served, and completing a workflow; bad input fails terminally; what the
OSS server does with `enforceSchema`; `--from-server` from definitions created there first."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e

TASK = "nw_invoice_total"  # names of this module's own, so other modules' tasks never interfere
SYNC_TASK = "nw_send_note"
ASYNC_TASK = "nw_fetch_rate"
KEYS_TASK = "nw_legacy_keys"
SCHEMA_TASK = "nw_charge_card"

VALID_ORDER = {"order_id": "ORD-7", "items": [{"sku": "A", "quantity": 1, "unit_price": "2.00"}]}


def definitions(project: BakedProject) -> Path:
    return project.path / "src" / project.package / "definitions"


def tree(project: BakedProject) -> dict[str, str]:
    return {
        str(path.relative_to(project.path)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in project.files()
        if not {"__pycache__", ".mypy_cache", ".ruff_cache"} & set(path.parts)
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("new-worker"), project_name="NW Worker", task_definition_name=TASK)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url, "WORKER_SHUTDOWN_GRACE_SECONDS": "15"}
    baked.install()
    for name, *options in ((SYNC_TASK,), (ASYNC_TASK, "--async")):
        result = baked.cli("new-worker", name, *options, "--workflow", baked.workflow_name)
        assert result.returncode == 0, result.stderr
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        baked.run(*command)
    assert " passed" in baked.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration").stdout
    return baked


@pytest.fixture(scope="module")
def worker(project: BakedProject) -> Iterator[WorkerProcess]:
    with project.serving() as process:
        yield process


def run_workflow(project: BakedProject, conductor: ConductorServer, workflow_input: dict[str, Any]) -> dict[str, Any]:
    result = project.cli("run-workflow", "--input", json.dumps(workflow_input), "--timeout", "60")
    summary = json.loads(result.stdout)
    return conductor.workflow(summary["workflowId"])


def tasks_by_name(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["taskType"]: task for task in workflow["tasks"]}


def test_register_twice_is_idempotent_and_the_server_holds_the_schemas(
    project: BakedProject, conductor: ConductorServer
) -> None:
    first, second = project.cli("register"), project.cli("register")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert {line.split()[0] for line in second.stdout.splitlines()} == {"unchanged"}
    for name in (TASK, SYNC_TASK, ASYNC_TASK):
        ours = json.loads((definitions(project) / "tasks" / f"{name}.json").read_text())
        theirs = conductor.api("GET", f"/metadata/taskdefs/{name}")
        assert isinstance(theirs, dict)
        for key in ("inputSchema", "outputSchema"):
            assert theirs[key]["data"] == ours[key]["data"], (name, key)
            assert (theirs[key]["name"], theirs[key]["version"]) == (ours[key]["name"], 1)
        assert theirs["inputKeys"] == ours["inputKeys"] and theirs["enforceSchema"] is False


def test_the_worker_serves_every_task_and_the_workflow_completes(
    project: BakedProject, conductor: ConductorServer, worker: WorkerProcess
) -> None:
    workflow = run_workflow(project, conductor, {**VALID_ORDER, "text": "hello"})
    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    tasks = tasks_by_name(workflow)
    assert tasks[SYNC_TASK]["outputData"] == {"text": "hello"}
    assert tasks[ASYNC_TASK]["outputData"] == {"text": "hello"}
    assert tasks[TASK]["outputData"]["total"] == "2.00"


def test_bad_input_to_a_new_task_fails_terminally(
    project: BakedProject, conductor: ConductorServer, worker: WorkerProcess
) -> None:
    workflow = run_workflow(project, conductor, {**VALID_ORDER, "text": 7})
    assert workflow["status"] == "FAILED"
    failed = tasks_by_name(workflow)[SYNC_TASK]
    assert failed["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert failed["reasonForIncompletion"] == "text must be a string"
    assert failed["retryCount"] == 0 and len(workflow["tasks"]) == 2  # no retry, nothing after it


def test_oss_stores_enforce_schema_but_does_not_enforce_it(
    project: BakedProject, conductor: ConductorServer, worker: WorkerProcess
) -> None:
    """With enforceSchema on, Conductor OSS still schedules a task whose input violates its schema:
    the worker receives it, and only the worker's own parsing rejects it."""
    path = definitions(project) / "tasks" / f"{SYNC_TASK}.json"
    original = path.read_text()
    path.write_text(json.dumps({**json.loads(original), "enforceSchema": True}, indent=2))
    try:
        assert project.cli("register").returncode == 0
        stored = conductor.api("GET", f"/metadata/taskdefs/{SYNC_TASK}")
        assert isinstance(stored, dict) and stored["enforceSchema"] is True
        workflow = run_workflow(project, conductor, {**VALID_ORDER, "text": 7})
        task = tasks_by_name(workflow)[SYNC_TASK]
        assert task["inputData"]["text"] == 7
        assert task["workerId"]  # a worker polled it: the server did not validate the input
        assert (task["status"], task["reasonForIncompletion"]) == (
            "FAILED_WITH_TERMINAL_ERROR",
            "text must be a string",
        )
    finally:
        path.write_text(original)
        assert project.cli("register").returncode == 0


SERVER_DEFINITIONS: list[dict[str, Any]] = [
    {
        "name": KEYS_TASK,
        "description": "Defined by another team, with keys only.",
        "ownerEmail": "other.team@example.com",
        "retryCount": 1,
        "timeoutSeconds": 60,
        "responseTimeoutSeconds": 20,
        "inputKeys": ["customer_id", "amount"],
        "outputKeys": ["receipt"],
    },
    {
        "name": SCHEMA_TASK,
        "description": "Charges a card.",
        "ownerEmail": "other.team@example.com",
        "retryCount": 2,
        "timeoutSeconds": 60,
        "responseTimeoutSeconds": 20,
        "inputKeys": ["card", "amount", "currency", "tags"],
        "outputKeys": ["charge_id", "captured"],
        "inputSchema": {
            "name": f"{SCHEMA_TASK}_input",
            "version": 1,
            "type": "JSON",
            "data": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "card": {
                        "type": "object",
                        "description": "the card to charge",
                        "properties": {
                            "number": {"type": "string", "minLength": 12},
                            "cvc": {"type": ["string", "null"]},
                        },
                        "required": ["number"],
                    },
                    "amount": {"type": "number", "minimum": 0},
                    "currency": {"enum": ["EUR", "USD"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["card", "amount"],
            },
        },
        "outputSchema": {
            "name": f"{SCHEMA_TASK}_output",
            "version": 1,
            "type": "JSON",
            "data": {
                "type": "object",
                "properties": {"charge_id": {"type": "string"}, "captured": {"type": "boolean"}},
                "required": ["charge_id", "captured"],
            },
        },
        "enforceSchema": False,
    },
]


def test_from_server_generates_workers_from_keys_and_from_schemas(
    project: BakedProject, conductor: ConductorServer
) -> None:
    conductor.api("POST", "/metadata/taskdefs", SERVER_DEFINITIONS)
    for definition in SERVER_DEFINITIONS:
        name = definition["name"]
        result = project.cli("new-worker", name, "--from-server")
        assert result.returncode == 0, result.stderr
        saved = json.loads((definitions(project) / "tasks" / f"{name}.json").read_text())
        # As the repository holds a definition: the fields that differ from task-defaults.json (else
        # from the server's defaults), without the server's bookkeeping.
        assert (saved["retryCount"], saved["responseTimeoutSeconds"]) == (definition["retryCount"], 20)
        assert saved["ownerEmail"] == "other.team@example.com" and saved["timeoutSeconds"] == 60
        assert saved["retryLogic"] == "FIXED" and saved["retryDelaySeconds"] == 60  # server defaults, not ours
        assert not {"createTime", "updateTime", "createdBy", "updatedBy", "concurrentExecLimit"} & set(saved)
    source = (project.path / "src" / project.package / "workers" / f"{SCHEMA_TASK}.py").read_text()
    assert "    card: NwChargeCardInputCard\n    amount: float\n" in source
    assert 'currency: Literal["EUR", "USD"] | None = None' in source
    assert "    charge_id: str\n    captured: bool\n" in source
    keys_source = (project.path / "src" / project.package / "workers" / f"{KEYS_TASK}.py").read_text()
    assert "    customer_id: Any = None\n    amount: Any = None\n" in keys_source
    # The server's schema, with its descriptions and constraints, is kept: it says what the code says.
    saved = json.loads((definitions(project) / "tasks" / f"{SCHEMA_TASK}.json").read_text())
    assert saved["inputSchema"]["data"] == SERVER_DEFINITIONS[1]["inputSchema"]["data"]
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        project.run(*command)
    assert " passed" in project.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration").stdout
    # register finds the server holding exactly the definition it had; the keys-only one gains schemas.
    lines = project.cli("register").stdout.splitlines()
    assert f"unchanged task definition {SCHEMA_TASK}" in lines
    assert f"updated task definition {KEYS_TASK}" in lines
    stored = conductor.api("GET", f"/metadata/taskdefs/{KEYS_TASK}")
    assert isinstance(stored, dict) and set(stored["inputSchema"]["data"]["properties"]) == {"customer_id", "amount"}


def test_from_server_with_a_missing_definition_changes_nothing(project: BakedProject) -> None:
    before = tree(project)
    result = project.cli("new-worker", "nw_not_on_the_server", "--from-server")
    assert result.returncode == 2
    assert result.stderr == "error: the server has no task definition named 'nw_not_on_the_server'\n"
    assert tree(project) == before
