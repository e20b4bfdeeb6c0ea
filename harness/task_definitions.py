"""Task and workflow definitions written into a bake's `definitions/`, the way a user adds them, so a
test states only what matters to it (a short responseTimeoutSeconds, one retry, an input left out)."""

import json
from typing import Any

from harness.baked_project import BakedProject


def write_task_definition(project: BakedProject, name: str, **fields: Any) -> None:
    """`definitions/tasks/<name>.json`: quick retries, no input required, then `fields` over them."""
    task = {
        "name": name,
        "ownerEmail": "tests@example.com",
        "retryCount": 1,
        "retryLogic": "FIXED",
        "retryDelaySeconds": 1,
        "timeoutSeconds": 300,
        "responseTimeoutSeconds": 30,
        "timeoutPolicy": "TIME_OUT_WF",
        **fields,
    }
    path = project.path / "src" / project.package / "definitions" / "tasks" / f"{name}.json"
    path.write_text(json.dumps(task, indent=2))


def write_workflow(
    project: BakedProject, name: str, tasks: dict[str, dict[str, Any]], inputs: list[str] | None = None
) -> None:
    """`definitions/workflows/<name>.json` running `tasks` (task name: its inputParameters) in order, each
    referenced as `<task>_ref`; its `.input.json` supplies every workflow input the tasks read (as 1)."""
    inputs = inputs if inputs is not None else sorted({key for given in tasks.values() for key in given})
    workflow = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "tests@example.com",
        "inputParameters": inputs,
        "tasks": [
            {"name": task, "taskReferenceName": f"{task}_ref", "type": "SIMPLE", "inputParameters": given}
            for task, given in tasks.items()
        ],
        # No workflow timeout: the server then re-checks a workflow whose task waits in the queue every
        # 30 s (its workflowOffsetTimeout) instead of after the workflow's timeoutSeconds + 1. That matters
        # when a killed worker held the task: the server's decide sets that re-check after a poll may
        # already have taken the task (a worker polling at once wins the race), overwriting the poll's
        # shorter responseTimeoutSeconds re-check, so with 600 s the task sat IN_PROGRESS for 601 s.
        "timeoutPolicy": "TIME_OUT_WF",
        "timeoutSeconds": 0,
    }
    workflows = project.path / "src" / project.package / "definitions" / "workflows"
    (workflows / f"{name}.json").write_text(json.dumps(workflow, indent=2))
    (workflows / f"{name}.input.json").write_text(json.dumps(dict.fromkeys(inputs, 1), indent=2))


def from_workflow_input(*keys: str) -> dict[str, str]:
    """inputParameters that pass each of `keys` on from the workflow's input."""
    return {key: f"${{workflow.input.{key}}}" for key in keys}
