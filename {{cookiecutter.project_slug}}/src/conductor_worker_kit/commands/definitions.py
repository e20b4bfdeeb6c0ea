# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The task and workflow definitions shipped in `definitions/`, and how they reach the server.

The JSON files are the whole truth: `register` makes every field the server stores equal to the file,
and a field left out of a file goes back to its default (the project's task defaults, else the server's).
"""

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from ..conductor_client import ConductorClient, ServerError, server_message
from ..project import Project

INPUT_SUFFIX = ".input.json"  # `<workflow>.input.json`: the input `run-workflow` starts it with

Definition = dict[str, Any]


def _fields(names: str, **defaults: Any) -> Definition:
    return dict.fromkeys(names.split()) | defaults


# The fields Conductor stores for each kind of definition, with the value it stores when a definition
# leaves the field out (Conductor OSS 3.32; a test against the real server keeps this true). Only
# defaults that are not empty are listed: None, "", 0, false, [] and {} all mean "not set" (below).
# Fields a server stores beyond these (an Orkes extra) are left alone unless a file sets them.
TASK_FIELDS = _fields(
    "name description retryCount timeoutSeconds inputKeys outputKeys runtimeMetadata timeoutPolicy retryLogic "
    "retryDelaySeconds responseTimeoutSeconds concurrentExecLimit inputTemplate rateLimitPerFrequency "
    "rateLimitFrequencyInSeconds isolationGroupId executionNameSpace ownerEmail pollTimeoutSeconds "
    "backoffScaleFactor maxRetryDelaySeconds backoffJitterMs baseType totalTimeoutSeconds "
    "taskStatusListenerEnabled inputSchema outputSchema enforceSchema",
    retryCount=3,
    timeoutPolicy="TIME_OUT_WF",
    retryLogic="FIXED",
    retryDelaySeconds=60,
    responseTimeoutSeconds=3600,
    rateLimitFrequencyInSeconds=1,
    backoffScaleFactor=1,
    taskStatusListenerEnabled=True,
)
WORKFLOW_FIELDS = _fields(
    "name description version tasks inputParameters outputParameters failureWorkflow schemaVersion restartable "
    "workflowStatusListenerEnabled ownerEmail timeoutPolicy timeoutSeconds variables inputTemplate "
    "failureWorkflowVersion workflowStatusListenerSink rateLimitConfig inputSchema outputSchema enforceSchema "
    "metadata cacheConfig maskedFields",
    version=1,
    schemaVersion=2,
    restartable=True,
    timeoutPolicy="ALERT_ONLY",
    enforceSchema=True,
)
WORKFLOW_TASK_FIELDS = _fields(
    "name taskReferenceName description inputParameters type dynamicTaskNameParam caseValueParam caseExpression "
    "scriptExpression decisionCases dynamicForkJoinTasksParam dynamicForkTasksParam dynamicForkTasksInputParamName "
    "defaultCase forkTasks startDelay subWorkflowParam joinOn sink optional taskDefinition rateLimited "
    "defaultExclusiveJoinTask asyncComplete loopCondition loopOver items retryCount evaluatorType expression "
    "onStateChange joinStatus cacheConfig permissive joinMode metadata",
    type="SIMPLE",
)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def definition_files(folder: Path) -> list[tuple[Path, Definition]]:
    """Each definition file in `folder` (a project's tasks_dir or workflows_dir) with its JSON, as written."""
    paths = sorted(folder.glob("*.json"))
    return [(path, json.loads(path.read_text())) for path in paths if not path.name.endswith(INPUT_SUFFIX)]


def _task_files(project: Project) -> list[tuple[Path, Definition]]:
    defaults: Definition = json.loads(project.task_defaults_file.read_text())
    return [(path, {**defaults, **task}) for path, task in definition_files(project.tasks_dir)]


def task_definitions(project: Project) -> list[Definition]:
    """Each task definition as `register` sends it: the task defaults, overridden by the task's file."""
    return [task for _, task in _task_files(project)]


def workflow_definitions(project: Project) -> list[Definition]:
    return [workflow for _, workflow in definition_files(project.workflows_dir)]


def example_input(project: Project, workflow_name: str) -> dict[str, Any]:
    path = project.workflows_dir / f"{workflow_name}{INPUT_SUFFIX}"
    data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return data


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {} or (type(value) in (bool, int) and not value)


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if not _is_empty(item)}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


def _known(definition: Any, fields: Definition) -> Any:
    """A definition inside another, in its known fields only (no server bookkeeping, no server extras)."""
    if not isinstance(definition, dict):
        return definition
    return stored_form({name: value for name, value in definition.items() if name in fields}, fields)


def _workflow_tasks(tasks: Any) -> Any:
    return [_known(task, WORKFLOW_TASK_FIELDS) for task in tasks] if isinstance(tasks, list) else tasks


# Fields that hold further definitions, compared field by field with their own defaults.
_NESTED: dict[str, Callable[[Any], Any]] = {
    "tasks": _workflow_tasks,
    "defaultCase": _workflow_tasks,
    "loopOver": _workflow_tasks,
    "forkTasks": lambda branches: [_workflow_tasks(branch) for branch in branches],
    "decisionCases": lambda cases: {case: _workflow_tasks(tasks) for case, tasks in cases.items()},
    "taskDefinition": lambda task: _known(task, TASK_FIELDS),
}


def stored_form(definition: Definition, fields: Definition) -> Definition:
    """What the server keeps for `definition`, comparable by meaning: every known field, a missing one at
    its default, values that mean "not set" dropped; server bookkeeping (createTime, ...) ignored."""
    result: Definition = {}
    for name in fields.keys() | definition.keys():
        value = definition.get(name, fields.get(name))
        if name in _NESTED and not _is_empty(value):
            value = _NESTED[name](value)
        value = _without_empty(value)
        if not _is_empty(value):
            result[name] = value
    return result


def same_definition(on_server: Definition, ours: Definition, fields: Definition) -> bool:
    """True when the server's copy equals ours in every field the server stores or ours sets."""
    known = {name: value for name, value in on_server.items() if name in fields or name in ours}
    return stored_form(known, fields) == stored_form(ours, fields)


def _field(path: str) -> str:
    """`updateTaskDef.arg0.retryCount` -> `retryCount`: the part of a validation path a person can use."""
    return re.sub(r"^\w+\.arg\d+(\[\d+\])*\.?", "", path)


def _refusal(path: Path, what: str, response: httpx.Response) -> ServerError:
    """One line per reason the server gave, each naming the file."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("validationErrors") if isinstance(body, dict) else None
    reasons = []
    for error in errors or []:
        reason = " ".join(str(error.get("message", "")).split())
        field = _field(str(error.get("path", "")))
        if field and field not in reason:
            reason = f"{field}: {reason}"
        if error.get("invalidValue") is not None:
            reason += f" (got {error['invalidValue']})"
        reasons.append(reason)
    if not reasons:
        reasons = [f"HTTP {response.status_code}: {server_message(response)}"]
    return ServerError(
        "\n".join(f"{_display(path)}: the server refused {what}: {reason}" for reason in reasons), response.status_code
    )


def _upsert_task(server: ConductorClient, path: Path, task: Definition) -> str:
    name = task["name"]
    current = server.task_definition(name)
    existed = current is not None
    if current is not None and same_definition(current, task, TASK_FIELDS):
        return f"unchanged task definition {name}"
    # PUT replaces the whole definition, so a field left out of the file returns to its default.
    response = (
        server.request("PUT", "/metadata/taskdefs", json=task, allow=(400,))
        if existed
        else server.request("POST", "/metadata/taskdefs", json=[task], allow=(400,))
    )
    if response.status_code == 400:
        raise _refusal(path, f"task definition {name}", response)
    return f"{'updated' if existed else 'created'} task definition {name}"


def _upsert_workflow(server: ConductorClient, path: Path, workflow: Definition) -> str:
    name, version = workflow["name"], workflow.get("version", 1)
    current = server.request("GET", f"/metadata/workflow/{name}", params={"version": version}, allow=(404,))
    existed = current.status_code != 404 and bool(current.content)
    if existed and same_definition(current.json(), workflow, WORKFLOW_FIELDS):
        return f"unchanged workflow {name} v{version}"
    # PUT is an upsert that replaces the whole definition; some failures come back inside an HTTP 200 body.
    response = server.request("PUT", "/metadata/workflow", json=[workflow], allow=(400,))
    if response.status_code == 400:
        raise _refusal(path, f"workflow {name}", response)
    result = response.json()
    errors = result.get("bulkErrorResults") if isinstance(result, dict) else None
    if errors:
        where = f"{_display(path)}: the server refused workflow {name}"
        raise ServerError("\n".join(f"{where}: {error}" for error in errors.values()))
    return f"{'updated' if existed else 'created'} workflow {name} v{version}"


def register(server: ConductorClient, project: Project) -> Iterator[str]:
    """Make the server's definitions equal the files, one line each; task definitions first, since
    workflows use them. A refused definition stops it: the ones after it are not sent."""
    for path, task in _task_files(project):
        yield _upsert_task(server, path, task)
    for path, workflow in definition_files(project.workflows_dir):
        yield _upsert_workflow(server, path, workflow)
