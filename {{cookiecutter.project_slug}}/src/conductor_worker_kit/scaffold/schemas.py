# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""`schemas`: write each worker's typed I/O into its task definition: inputSchema / outputSchema and the keys.

The dataclasses named by `@typed_io` are the source; the JSON follows them. A stored schema that says
the same as the generated one (documentation keywords such as `description` aside) is left as it is.
"""

import dataclasses
import json
from pathlib import Path
from typing import Any

from ..commands.definitions import definition_files
from ..project import Project
from ..task_io import agrees, io_types, json_schema

FLAT_WIDTH = 100


def schema_def(task_name: str, direction: str, cls: type[Any]) -> dict[str, Any]:
    """A task definition's `inputSchema` / `outputSchema` entry (the SDK's naming: <task>_input)."""
    return {"name": f"{task_name}_{direction}", "version": 1, "type": "JSON", "data": json_schema(cls)}


def typed_workers(project: Project) -> dict[str, tuple[type[Any], type[Any]]]:
    """Task name -> (input, output) dataclasses of every served worker that names them (@typed_io)."""
    from ..runtime.sdk_adapter import workers_for

    found = {}
    functions = project.worker_functions()
    for function, worker in zip(functions, workers_for(functions), strict=True):
        types = io_types(function)
        if types is not None:
            found[worker.get_task_definition_name()] = types
    return found


def stale_fields(task: dict[str, Any], input_type: type[Any], output_type: type[Any]) -> dict[str, Any]:
    """The fields of `task` that disagree with the typed I/O, with the values they should have."""
    stale: dict[str, Any] = {}
    for direction, cls in (("input", input_type), ("output", output_type)):
        keys = [field.name for field in dataclasses.fields(cls)]
        if task.get(f"{direction}Keys") != keys:
            stale[f"{direction}Keys"] = keys
        wanted = schema_def(task["name"], direction, cls)
        stored = task.get(f"{direction}Schema")
        if not isinstance(stored, dict) or not agrees(wanted["data"], stored.get("data")):
            stale[f"{direction}Schema"] = wanted
    return stale


def json_text(data: object, indent: int = 0) -> str:
    """JSON indented by 2, with lists and objects of plain values kept on one line when short."""
    flat = json.dumps(data, ensure_ascii=False)
    plain = not isinstance(data, (dict, list)) or all(
        not isinstance(value, (dict, list)) for value in (data.values() if isinstance(data, dict) else data)
    )
    if not isinstance(data, (dict, list)) or (plain and indent + len(flat) <= FLAT_WIDTH) or not data:
        return flat
    pad = " " * (indent + 2)
    if isinstance(data, dict):
        items = [f"{pad}{json.dumps(key, ensure_ascii=False)}: {json_text(v, indent + 2)}" for key, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    assert isinstance(data, list)
    items = [pad + json_text(value, indent + 2) for value in data]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def write_json(path: Path, data: object) -> None:
    path.write_text(json_text(data) + "\n")


def update(project: Project, check: bool = False) -> list[str]:
    """Bring every task definition's schemas in step with its worker; `check`: report, write nothing."""
    workers = typed_workers(project)
    lines = []
    for path, task in definition_files(project.tasks_dir):
        relative = path.relative_to(project.definitions_dir)
        if task.get("name") not in workers:
            lines.append(f"skipped {relative}: its worker names no typed input and result (@typed_io)")
            continue
        stale = stale_fields(task, *workers[task["name"]])
        if not stale:
            lines.append(f"unchanged {relative}")
        elif check:
            lines.append(f"stale {relative}: {', '.join(stale)} (run `make schemas`)")
        else:
            task.update(stale)
            task.setdefault("enforceSchema", False)
            write_json(path, task)
            lines.append(f"updated {relative}: {', '.join(stale)}")
    return lines
