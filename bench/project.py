"""The baked projects the benchmark drives, and the I/O-bound bench task added to one of them."""

import json
import re
from pathlib import Path
from typing import Any

from tests.harness.baked_project import BakedProject, bake

NOOP_TASK = "bench_noop"
IDLE_TASK = "bench_idle"
IO_TASK = "bench_io"
IO_WORKFLOW = "bench_io_workflow"

# Added to the I/O project as its README's "Adding a second worker" says: a module-level function in
# a module in workers/ listed in WORKERS, with a task definition of the same name. The decorator numbers
# are the generated project's own (read from its example worker), so the bench task runs with its defaults.
IO_WORKER_MODULE = '''"""Benchmark task: waits ~50 ms, as a call to another service or a database would."""

import time

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="{task}"{decorator_args})
def {task}(duration_ms: object = 50) -> dict:
    milliseconds = float(duration_ms) if isinstance(duration_ms, (int, float)) else 50.0
    time.sleep(milliseconds / 1000)
    return {{"slept_ms": milliseconds}}
'''


def decorator_defaults(project: BakedProject) -> dict[str, int]:
    """thread_count and poll_interval_millis as the generated example worker sets them (SDK defaults if absent)."""
    source = (project.path / "src" / project.package / "workers" / "invoice_total.py").read_text()
    found = {"thread_count": 1, "poll_interval_millis": 100}
    for name in found:
        match = re.search(rf"@worker_task\([^)]*\b{name}=(\d+)", source)
        if match:
            found[name] = int(match.group(1))
    return found


def bake_noop(work_dir: Path) -> BakedProject:
    """The generated project as is; its example worker serves the no-op workload (a few dozen µs of work)."""
    return bake(work_dir, project_name="Bench Noop Worker", task_definition_name=NOOP_TASK)


def bake_io(work_dir: Path) -> BakedProject:
    """A second generated project with the bench I/O task added; its own example task stays paused."""
    project = bake(work_dir, project_name="Bench IO Worker", task_definition_name=IDLE_TASK)
    package_dir = project.path / "src" / project.package
    numbers = decorator_defaults(project)
    args = "".join(f", {name}={value}" for name, value in numbers.items())
    project.add_worker("bench_io", IO_WORKER_MODULE.format(task=IO_TASK, decorator_args=args), IO_TASK)

    definitions = package_dir / "definitions"
    generated_task = json.loads((definitions / "tasks" / f"{IDLE_TASK}.json").read_text())
    task: dict[str, Any] = {
        **generated_task,
        "name": IO_TASK,
        "description": "Benchmark: waits ~50 ms.",
        "inputKeys": ["duration_ms"],
        "outputKeys": ["slept_ms"],
    }
    (definitions / "tasks" / f"{IO_TASK}.json").write_text(json.dumps(task, indent=2))
    workflow = {
        "name": IO_WORKFLOW,
        "description": "Benchmark: one bench_io task.",
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": generated_task["ownerEmail"],
        "inputParameters": ["duration_ms"],
        "tasks": [
            {
                "name": IO_TASK,
                "taskReferenceName": "io",
                "type": "SIMPLE",
                "inputParameters": {"duration_ms": "${workflow.input.duration_ms}"},
            }
        ],
        "timeoutPolicy": "TIME_OUT_WF",
        "timeoutSeconds": 600,
    }
    (definitions / "workflows" / f"{IO_WORKFLOW}.json").write_text(json.dumps(workflow, indent=2))
    return project


def example_input(project: BakedProject) -> dict[str, Any]:
    """The example workflow's input as the generated project ships it."""
    definitions = project.path / "src" / project.package / "definitions"
    for candidate in (
        definitions / "workflows" / f"{project.workflow_name}.input.json",
        definitions / "example_input.json",
    ):
        if candidate.is_file():
            data: dict[str, Any] = json.loads(candidate.read_text())
            return data
    raise RuntimeError(f"no example input for {project.workflow_name} under {definitions}")
