"""Add a worker that fails its first attempts to a baked project, the way its README adds a worker,
so tests can watch the server retry a task with the task definition's backoff."""

import json
from pathlib import Path
from typing import Any

from harness.baked_project import BakedProject

FLAKY_TASK = "flaky_task"
FLAKY_WORKFLOW = "flaky_workflow"
INPUTS = ("key", "failures", "attempts_dir")

WORKER_MODULE = '''"""A worker that fails its first attempts on purpose (a retryable error), then succeeds.

Attempts are counted in a file per `key`, so the count survives whichever worker process runs the retry.
"""

from pathlib import Path

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="flaky_task", thread_count=2, poll_interval_millis=100)
def flaky_task(key: str = "", failures: int = 0, attempts_dir: str = "") -> dict[str, object]:
    attempts = Path(attempts_dir) / key
    with attempts.open("a") as record:
        record.write("attempt\\n")
    attempt = len(attempts.read_text().splitlines())
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return {"key": key, "attempt": attempt}
'''


def add_flaky_worker(project: BakedProject, retry_settings: dict[str, Any]) -> None:
    """The worker module, its task definition (with `retry_settings`) and a one-task workflow."""
    package = project.path / "src" / project.package
    project.add_worker(FLAKY_TASK, WORKER_MODULE, FLAKY_TASK)
    task = {
        "name": FLAKY_TASK,
        "ownerEmail": "tests@example.com",
        **retry_settings,
        "timeoutSeconds": 120,
        "responseTimeoutSeconds": 30,
        "timeoutPolicy": "TIME_OUT_WF",
        "inputKeys": list(INPUTS),
        "outputKeys": ["key", "attempt"],
    }
    write_json(package / "definitions" / "tasks" / f"{FLAKY_TASK}.json", task)
    workflow = {
        "name": FLAKY_WORKFLOW,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "tests@example.com",
        "inputParameters": list(INPUTS),
        "tasks": [
            {
                "name": FLAKY_TASK,
                "taskReferenceName": "flaky",
                "type": "SIMPLE",
                "inputParameters": {name: f"${{workflow.input.{name}}}" for name in INPUTS},
            }
        ],
        "outputParameters": {"attempt": "${flaky.output.attempt}"},
    }
    write_json(package / "definitions" / "workflows" / f"{FLAKY_WORKFLOW}.json", workflow)
    write_json(package / "definitions" / "workflows" / f"{FLAKY_WORKFLOW}.input.json", dict.fromkeys(INPUTS, "x"))


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")
