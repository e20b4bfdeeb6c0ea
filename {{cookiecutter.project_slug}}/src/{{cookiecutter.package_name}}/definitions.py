"""The task and workflow definitions shipped in `definitions/`, and how they reach the server."""

import json
from pathlib import Path
from typing import Any

from .server import ConductorServer, ServerError

DEFINITIONS_DIR = Path(__file__).parent / "definitions"


INPUT_SUFFIX = ".input.json"  # `<workflow>.input.json`: the input `run-workflow` starts it with


def _load_all(folder: str) -> list[dict[str, Any]]:
    paths = sorted((DEFINITIONS_DIR / folder).glob("*.json"))
    return [json.loads(path.read_text()) for path in paths if not path.name.endswith(INPUT_SUFFIX)]


def task_definitions() -> list[dict[str, Any]]:
    return _load_all("tasks")


def workflow_definitions() -> list[dict[str, Any]]:
    return _load_all("workflows")


def example_input(workflow_name: str) -> dict[str, Any]:
    path = DEFINITIONS_DIR / "workflows" / f"{workflow_name}{INPUT_SUFFIX}"
    data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return data


def contains(actual: object, desired: object) -> bool:
    """True when every field we define has our value on the server (the server adds fields of its own)."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(contains(actual.get(key), value) for key, value in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return actual == desired


def _upsert_task(server: ConductorServer, task: dict[str, Any]) -> str:
    name = task["name"]
    current = server.request("GET", f"/metadata/taskdefs/{name}", allow=(404,))
    if current.status_code == 404 or not current.content:
        server.request("POST", "/metadata/taskdefs", json=[task])
        return f"created task definition {name}"
    if contains(current.json(), task):
        return f"unchanged task definition {name}"
    server.request("PUT", "/metadata/taskdefs", json=task)
    return f"updated task definition {name}"


def _upsert_workflow(server: ConductorServer, workflow: dict[str, Any]) -> str:
    name, version = workflow["name"], workflow.get("version", 1)
    current = server.request("GET", f"/metadata/workflow/{name}", params={"version": version}, allow=(404,))
    existed = current.status_code != 404 and bool(current.content)
    if existed and contains(current.json(), workflow):
        return f"unchanged workflow {name} v{version}"
    # PUT is an upsert; per-definition failures come back inside an HTTP 200 body.
    result = server.request("PUT", "/metadata/workflow", json=[workflow]).json()
    errors = result.get("bulkErrorResults") if isinstance(result, dict) else None
    if errors:
        raise ServerError(f"the server refused workflow {name}: {errors}")
    return f"{'updated' if existed else 'created'} workflow {name} v{version}"


def register(server: ConductorServer) -> list[str]:
    """Upsert every definition; task definitions first, since workflows refer to them."""
    lines = [_upsert_task(server, task) for task in task_definitions()]
    return lines + [_upsert_workflow(server, workflow) for workflow in workflow_definitions()]
