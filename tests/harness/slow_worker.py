"""Add a second, slow worker to a baked project the way its README says, so tests have tasks in flight."""

import json

from tests.harness.baked_project import BakedProject

SLOW_TASK = "slow_task"
SLOW_WORKFLOW = "slow_workflow"

WORKER_MODULE = '''"""A worker that takes its time: it keeps tasks in flight while tests stop things."""

import time

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="slow_task", thread_count=4, poll_interval_millis=100)
def slow_task(seconds: float = 1.0, n: int = 0) -> dict[str, object]:
    time.sleep(seconds)
    return {"n": n, "slept": seconds}
'''


def add_slow_worker(project: BakedProject, response_timeout_seconds: int = 30) -> None:
    package = project.path / "src" / project.package
    project.add_worker("slow", WORKER_MODULE, SLOW_TASK)
    task = {
        "name": SLOW_TASK,
        "ownerEmail": "tests@example.com",
        "retryCount": 2,
        "retryLogic": "FIXED",
        "retryDelaySeconds": 1,
        "timeoutSeconds": 300,
        "responseTimeoutSeconds": response_timeout_seconds,
        "timeoutPolicy": "TIME_OUT_WF",
        "inputKeys": ["seconds", "n"],
        "outputKeys": ["n", "slept"],
    }
    (package / "definitions" / "tasks" / f"{SLOW_TASK}.json").write_text(json.dumps(task, indent=2))
    workflow = {
        "name": SLOW_WORKFLOW,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "tests@example.com",
        "inputParameters": ["seconds", "n"],
        "tasks": [
            {
                "name": SLOW_TASK,
                "taskReferenceName": "slow",
                "type": "SIMPLE",
                "inputParameters": {"seconds": "${workflow.input.seconds}", "n": "${workflow.input.n}"},
            }
        ],
        "outputParameters": {"n": "${slow.output.n}"},
    }
    (package / "definitions" / "workflows" / f"{SLOW_WORKFLOW}.json").write_text(json.dumps(workflow, indent=2))
