# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Workflow wiring: every worker task of a shipped workflow gets each input its task definition requires,
and each workflow's `.input.json` supplies what its tasks read from `${workflow.input.*}`.

A task that misses a required input fails terminally at run time (the worker refuses its input), long
after `make check` and `register` passed; this finds it from the JSON alone. Used by the project's
consistency test and by `doctor`.
"""

import re
from collections.abc import Iterator
from typing import Any

from ..project import Project
from .definitions import example_input, task_definitions, workflow_definitions

WORKFLOW_INPUT = re.compile(r"\$\{workflow\.input\.([A-Za-z0-9_]+)")


def worker_tasks(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The worker (SIMPLE) tasks of a workflow's task list, branches and loops included."""
    for task in tasks:
        if task.get("type", "SIMPLE") == "SIMPLE":
            yield task
        for branch in [*task.get("decisionCases", {}).values(), task.get("defaultCase", []), task.get("loopOver", [])]:
            yield from worker_tasks(branch)
        for branch in task.get("forkTasks", []):
            yield from worker_tasks(branch)


def required_inputs(task: dict[str, Any]) -> list[str]:
    """What a task definition requires: its inputSchema's `required`, or else every one of its inputKeys."""
    schema = task.get("inputSchema")
    data = schema.get("data") if isinstance(schema, dict) else None
    if isinstance(data, dict) and isinstance(data.get("required"), list):
        return [str(key) for key in data["required"]]
    return [str(key) for key in task.get("inputKeys") or []]


def _workflow_inputs_read(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from WORKFLOW_INPUT.findall(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _workflow_inputs_read(item)
    elif isinstance(value, list):
        for item in value:
            yield from _workflow_inputs_read(item)


def wiring_problems(project: Project) -> list[str]:
    """One line per gap, naming the workflow, the task reference and the missing key."""
    required = {task["name"]: required_inputs(task) for task in task_definitions(project)}
    problems = []
    for workflow in workflow_definitions(project):
        name = workflow["name"]
        example = example_input(project, name)
        read: list[str] = []
        for task in worker_tasks(workflow.get("tasks", [])):
            given = task.get("inputParameters") or {}
            reference = task.get("taskReferenceName", task["name"])
            problems += [
                f"workflow {name}, task {reference}: no inputParameters entry for {key!r}, "
                f"which the task definition {task['name']} requires"
                for key in required.get(task["name"], [])
                if key not in given
            ]
            read += [key for key in _workflow_inputs_read(given) if key not in read]
        problems += [
            f"workflow {name}: its tasks read ${{workflow.input.{key}}}, which {name}.input.json does not supply"
            for key in read
            if key not in example
        ]
    return problems
