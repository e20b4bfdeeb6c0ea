"""The "limit" client: batch poll and task update over plain HTTP, no SDK. Runs until SIGTERM or --max-seconds.

    python -m bench.rawclient --api URL --task NAME [--sleep-ms 50] [--threads 4] [--batch 10]

Each thread owns one keep-alive connection and loops: poll up to --batch tasks, wait --sleep-ms once
for all of them (their waits overlap, as an event loop's would, so a thread keeps --batch tasks in
flight), then report each COMPLETED with `POST /tasks/update-v2`, which also hands back the next task
of the same type; those run the same way before the next poll. Tasks in flight: threads x batch.
"""

import argparse
import os
import signal
import socket
import threading
import time
from typing import Any

from bench.rest import Rest, RestError

stop = threading.Event()


def _result(task: dict[str, Any], worker_id: str) -> dict[str, Any]:
    return {
        "taskId": task["taskId"],
        "workflowInstanceId": task["workflowInstanceId"],
        "workerId": worker_id,
        "status": "COMPLETED",
        "outputData": {"ok": True},
    }


def _loop(api: str, task_type: str, worker_id: str, batch: int, sleep_s: float, deadline: float, v2: bool) -> None:
    rest = Rest(api)
    params = {"workerid": worker_id, "count": batch, "timeout": 100}
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            held = list(rest.request("GET", f"/tasks/poll/batch/{task_type}", params=params) or [])
            while held:
                if sleep_s:
                    time.sleep(sleep_s)
                following = []
                for task in held:
                    answer = rest.request("POST", "/tasks/update-v2" if v2 else "/tasks", body=_result(task, worker_id))
                    if isinstance(answer, dict) and answer.get("taskId"):
                        following.append(answer)
                held = following
        except (RestError, OSError):
            time.sleep(0.1)
    rest.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rawclient")
    parser.add_argument("--api", required=True, help="server API URL, ending in /api")
    parser.add_argument("--task", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--sleep-ms", type=float, default=0.0)
    parser.add_argument("--update", choices=["v1", "v2"], default="v2", help="v2 also hands back the next task")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    deadline = time.monotonic() + args.max_seconds
    worker_id = f"{socket.gethostname()}-raw-{os.getpid()}"
    threads = [
        threading.Thread(
            target=_loop,
            args=(
                args.api,
                args.task,
                f"{worker_id}-{n}",
                args.batch,
                args.sleep_ms / 1000,
                deadline,
                args.update == "v2",
            ),
            daemon=True,
        )
        for n in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
