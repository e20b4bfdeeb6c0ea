"""The SDK alone, from start to first task: `<baked project>/.venv/bin/python bench/sdk_start.py API TASK_TYPE`.

What any worker on conductor-python does before its first task, and nothing more: import the SDK, make its
HTTP client (`ApiClient`, which makes an httpx client), poll once for one task of TASK_TYPE (a task must be
queued), and complete it. Prints the task's `startTime` (epoch ms, the server's clock: when the poll took
it), which the benchmark compares with the moment it launched this process. Against the `worker`
command's start to first task it says what the kit's own start costs (the command, its worker process,
the server check) beyond what the SDK costs anyone; against one SDK import, what polling at all costs
beyond the import (an interpreter, httpx's connection stack, a client, a request).
"""

import socket
import sys

from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.task_result_status import TaskResultStatus

POLL_TIMEOUT_MS = 100
# ~10 s of held polls (an empty one takes ~200 ms); the task is queued before the launch, so the first one takes it
POLLS = 50


def main(api: str, task_type: str) -> int:
    tasks = TaskResourceApi(ApiClient(Configuration(server_api_url=api)))
    worker_id = f"{socket.gethostname()}-sdk-start"
    for _ in range(POLLS):
        polled = tasks.batch_poll(task_type, workerid=worker_id, count=1, timeout=POLL_TIMEOUT_MS)
        if polled:
            task = polled[0]
            result = TaskResult(
                task_id=task.task_id,
                workflow_instance_id=task.workflow_instance_id,
                worker_id=worker_id,
                status=TaskResultStatus.COMPLETED,
            )
            tasks.update_task(result)
            print(task.start_time)
            return 0
    print(f"no {task_type} task to poll", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
