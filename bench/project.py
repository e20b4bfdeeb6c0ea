"""The baked projects the benchmark drives, and the workers it adds to them.

Workers are added the way the generated README says to add one: a module per worker in
`src/<pkg>/workers/`, appended to the one `WORKERS` list in `workers/__init__.py`, with a task definition
of the same name (and, for the benchmark, a one-task workflow to start it).
"""

import json
import re
from pathlib import Path
from typing import Any

from harness.baked_project import BakedProject, bake

NOOP_TASK = "bench_noop"
IDLE_TASK = "bench_idle"
IO_TASK = "bench_io"
ASYNC_TASK = "bench_async_io"
TEN_TASK = "bench_ten"
TASK_TYPES = 10
IO_SLEEP_MS = 50
ASYNC_SLEEP_MS = 200
# An async worker's thread_count is how many of its tasks wait at once in one event loop, sized by the
# generated README's rule (tasks/s x task seconds x 1.5) for the server's ceiling: ~270 tasks/s of 200 ms
# gives ~80. 50 in flight capped a drain at 50 / (0.2 s + ~30 ms in the server) = ~217 tasks/s (in an A/B run
# of 2026-12-06: 217 and 222 against the bare loop's 266 and 263, where 100 drained 272 and 261); on a slower
# server that reached ~150 tasks/s, 100 drained 149 against 144 with 50 (docs/sizing.md).
ASYNC_CONCURRENCY = 100


SYNC_IO_WORKER = '''"""Benchmark task: waits, as a call to another service or a database would."""

import time

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="{task}"{decorator_args})
def {task}(duration_ms: object = {sleep_ms}) -> dict[str, object]:
    milliseconds = float(duration_ms) if isinstance(duration_ms, (int, float)) else {sleep_ms}.0
    time.sleep(milliseconds / 1000)
    return {{"slept_ms": milliseconds}}
'''

ASYNC_IO_WORKER = '''"""Benchmark task: an `async def` worker that awaits, as a non-blocking client call would."""

import asyncio

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="{task}"{decorator_args})
async def {task}(duration_ms: object = {sleep_ms}) -> dict[str, object]:
    milliseconds = float(duration_ms) if isinstance(duration_ms, (int, float)) else {sleep_ms}.0
    await asyncio.sleep(milliseconds / 1000)
    return {{"slept_ms": milliseconds}}
'''

NOOP_WORKER = '''"""Benchmark task: does nothing (one more task type in the project)."""

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="{task}"{decorator_args})
def {task}(order_id: object = None) -> dict[str, object]:
    return {{"order_id": order_id}}
'''


def _package_dir(project: BakedProject) -> Path:
    return project.path / "src" / project.package


def decorator_defaults(project: BakedProject) -> dict[str, int]:
    """thread_count and poll_interval_millis as the generated example worker sets them (SDK defaults if absent).

    A value may be a literal or a constant of the workers package (e.g. THREAD_COUNT in workers/defaults.py);
    one that cannot be read stops the run, so the bench never measures a worker with settings it guessed.
    """
    marker = f'task_definition_name="{project.task_name}"'
    modules = sorted((_package_dir(project) / "workers").glob("*.py"))
    texts = [module.read_text() for module in modules]
    source = next((text for text in texts if marker in text), "")
    if not source:
        raise RuntimeError(f"no module in {project.package}/workers declares the task {project.task_name}")
    constants = {name: int(value) for text in texts for name, value in re.findall(r"^([A-Z_]+) = (\d+)", text, re.M)}
    found = {"thread_count": 1, "poll_interval_millis": 100}
    for name in found:
        match = re.search(rf"@worker_task\([^)]*\b{name}=(\w+)", source)
        if match is None:
            continue
        value = match.group(1)
        if value.isdigit():
            found[name] = int(value)
        elif value in constants:
            found[name] = constants[value]
        else:
            raise RuntimeError(f"{project.package}/workers: cannot read {name}={value}; update bench/project.py")
    return found


def add_worker(project: BakedProject, task: str, module_source: str, description: str, input_keys: list[str]) -> None:
    """Add the worker module to WORKERS, its task definition, and a one-task workflow to start it."""
    project.add_worker(task, module_source, task)
    definitions = _package_dir(project) / "definitions"
    generated = json.loads((definitions / "tasks" / f"{project.task_name}.json").read_text())
    definition = {**generated, "name": task, "description": description, "inputKeys": input_keys, "outputKeys": []}
    (definitions / "tasks" / f"{task}.json").write_text(json.dumps(definition, indent=2))
    workflow = {
        "name": workflow_for(task),
        "description": f"Benchmark: one {task} task.",
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": generated["ownerEmail"],
        "inputParameters": input_keys,
        "tasks": [
            {
                "name": task,
                "taskReferenceName": "only",
                "type": "SIMPLE",
                "inputParameters": {key: f"${{workflow.input.{key}}}" for key in input_keys},
            }
        ],
        "timeoutPolicy": "TIME_OUT_WF",
        "timeoutSeconds": 600,
    }
    (definitions / "workflows" / f"{workflow['name']}.json").write_text(json.dumps(workflow, indent=2))


def workflow_for(task: str) -> str:
    return f"{task}_workflow"


def _decorator_args(numbers: dict[str, int]) -> str:
    return "".join(f", {name}={value}" for name, value in numbers.items())


def bake_noop(work_dir: Path) -> BakedProject:
    """The generated project as is; its example worker serves the no-op workload (a few dozen µs of work)."""
    return bake(work_dir, project_name="Bench Noop Worker", task_definition_name=NOOP_TASK)


def ten_task_types() -> list[str]:
    return [f"{TEN_TASK}_{n}" for n in range(TASK_TYPES)]


def bake_ten(work_dir: Path) -> BakedProject:
    """The generated project plus nine no-op workers: ten task types, as a team's project grows to."""
    first, *others = ten_task_types()
    project = bake(work_dir, project_name="Bench Ten Worker", task_definition_name=first)
    args = _decorator_args(decorator_defaults(project))
    for task in others:
        add_worker(project, task, NOOP_WORKER.format(task=task, decorator_args=args), "Benchmark: no-op.", ["order_id"])
    return project


def bake_io(work_dir: Path) -> BakedProject:
    """The generated project plus a sync worker that sleeps and an async worker that awaits; its own example
    worker stays paused. The sync one has the generated decorator numbers, the async one ASYNC_CONCURRENCY."""
    project = bake(work_dir, project_name="Bench IO Worker", task_definition_name=IDLE_TASK)
    numbers = decorator_defaults(project)
    add_worker(
        project,
        IO_TASK,
        SYNC_IO_WORKER.format(task=IO_TASK, decorator_args=_decorator_args(numbers), sleep_ms=IO_SLEEP_MS),
        f"Benchmark: waits {IO_SLEEP_MS} ms.",
        ["duration_ms"],
    )
    async_numbers = {**numbers, "thread_count": ASYNC_CONCURRENCY}
    add_worker(
        project,
        ASYNC_TASK,
        ASYNC_IO_WORKER.format(task=ASYNC_TASK, decorator_args=_decorator_args(async_numbers), sleep_ms=ASYNC_SLEEP_MS),
        f"Benchmark: awaits {ASYNC_SLEEP_MS} ms.",
        ["duration_ms"],
    )
    return project


def example_input(project: BakedProject) -> dict[str, Any]:
    """The example workflow's input as the generated project ships it."""
    definitions = _package_dir(project) / "definitions"
    for candidate in (
        definitions / "workflows" / f"{project.workflow_name}.input.json",
        definitions / "example_input.json",
    ):
        if candidate.is_file():
            data: dict[str, Any] = json.loads(candidate.read_text())
            return data
    raise RuntimeError(f"no example input for {project.workflow_name} under {definitions}")
