"""Definitions and workers must agree: the server routes tasks by name alone.

Part of the template: it checks the team's workers and definitions; updated with the template."""

import inspect
from typing import Any

import pytest
from conductor_worker_kit.commands.definitions import (
    TASK_FIELDS,
    WORKFLOW_FIELDS,
    example_input,
    same_definition,
    task_definitions,
    workflow_definitions,
)
from conductor_worker_kit.commands.wiring import wiring_problems
from conductor_worker_kit.project import Project
from conductor_worker_kit.runtime.sdk_adapter import served_workers
from conductor_worker_kit.scaffold.schemas import stale_fields, typed_workers

PROJECT = Project("{{ cookiecutter.package_name }}")

RETRY_LOGIC = {"FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"}
TIMEOUT_POLICY = {"RETRY", "TIME_OUT_WF", "ALERT_ONLY"}


def decorated_workers() -> dict[str, Any]:
    """Every @worker_task the worker command would serve, by task name."""
    return {worker.get_task_definition_name(): worker.execute_function for worker in served_workers(PROJECT)}


def test_every_worker_has_a_definition_and_every_definition_a_worker() -> None:
    assert set(decorated_workers()) == {task["name"] for task in task_definitions(PROJECT)}


@pytest.mark.parametrize("task", task_definitions(PROJECT), ids=lambda task: task["name"])
def test_task_definition_obeys_server_rules(task: dict[str, Any]) -> None:
    assert task["ownerEmail"]
    assert task["retryLogic"] in RETRY_LOGIC
    assert task["timeoutPolicy"] in TIMEOUT_POLICY
    assert task["retryCount"] >= 0
    assert task["retryDelaySeconds"] >= 0
    # The server rejects responseTimeoutSeconds > timeoutSeconds (0 means no total timeout).
    assert task["responseTimeoutSeconds"] >= 1
    assert task["timeoutSeconds"] == 0 or task["responseTimeoutSeconds"] <= task["timeoutSeconds"]
    # A short response timeout re-queues a task abandoned by a killed worker quickly (default 3600 s).
    assert task["responseTimeoutSeconds"] <= 300


@pytest.mark.parametrize("task", task_definitions(PROJECT), ids=lambda task: task["name"])
def test_input_keys_match_worker_parameters(task: dict[str, Any]) -> None:
    function = decorated_workers()[task["name"]]
    assert list(inspect.signature(function).parameters) == task["inputKeys"]


@pytest.mark.parametrize("task", task_definitions(PROJECT), ids=lambda task: task["name"])
def test_schemas_match_the_typed_input_and_result(task: dict[str, Any]) -> None:
    """The schemas and keys say what the worker's dataclasses say; `make schemas` fixes them."""
    if task["name"] not in typed_workers(PROJECT):
        pytest.skip("the worker names no typed input and result (@typed_io): no schema to check")
    input_type, output_type = typed_workers(PROJECT)[task["name"]]
    stale = stale_fields(task, input_type, output_type)
    assert stale == {}, f"{', '.join(stale)} differ from the code: run `make schemas`"


def test_workflows_use_only_known_tasks_as_simple_tasks() -> None:
    known = {task["name"] for task in task_definitions(PROJECT)}
    for workflow in workflow_definitions(PROJECT):
        assert workflow["ownerEmail"]
        simple = [task for task in workflow["tasks"] if task.get("type", "SIMPLE") == "SIMPLE"]
        assert simple, f"{workflow['name']} runs no worker task"
        assert {task["name"] for task in simple} <= known


def test_every_worker_task_gets_the_inputs_its_definition_requires() -> None:
    """Each workflow feeds each worker task every required input (inputSchema, else inputKeys), and its
    .input.json supplies every `${workflow.input.*}` its tasks read; else the task fails at run time."""
    assert wiring_problems(PROJECT) == []


def test_example_inputs_cover_the_workflow_inputs() -> None:
    for workflow in workflow_definitions(PROJECT):
        assert set(workflow["inputParameters"]) <= set(example_input(PROJECT, workflow["name"]))


def test_register_compares_every_field_the_server_stores() -> None:
    """A field the file leaves out counts as the server's default; server bookkeeping does not count."""
    ours = {"name": "t", "retryCount": 3, "timeoutSeconds": 60}
    stored = {"name": "t", "retryCount": 3, "timeoutSeconds": 60, "responseTimeoutSeconds": 3600, "inputKeys": []}
    stored |= {"createTime": 1700000000000, "updatedBy": "someone"}
    assert same_definition(stored, ours, TASK_FIELDS)
    assert not same_definition({**stored, "concurrentExecLimit": 5}, ours, TASK_FIELDS)  # left on the server
    assert not same_definition({**stored, "responseTimeoutSeconds": 30}, ours, TASK_FIELDS)  # not the default


def test_register_compares_the_tasks_inside_a_workflow() -> None:
    ours = {"name": "w", "tasks": [{"name": "t", "taskReferenceName": "t"}], "timeoutSeconds": 0}
    task = {"name": "t", "taskReferenceName": "t", "type": "SIMPLE", "optional": False, "inputParameters": {}}
    stored = {"name": "w", "version": 1, "schemaVersion": 2, "restartable": True, "timeoutPolicy": "ALERT_ONLY"}
    stored |= {"enforceSchema": True, "tasks": [task], "timeoutSeconds": 0}
    assert same_definition(stored, ours, WORKFLOW_FIELDS)
    assert not same_definition({**stored, "tasks": [{**task, "optional": True}]}, ours, WORKFLOW_FIELDS)
