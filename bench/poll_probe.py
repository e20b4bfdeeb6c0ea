"""How long the server holds a batch poll, which sets the latency any one-loop poller can reach.

    .venv/bin/python -m bench.poll_probe                  # starts its own server
    .venv/bin/python -m bench.poll_probe --server-url http://127.0.0.1:8080/api

The SDK's runners send `GET /tasks/poll/batch/{type}?count=<free threads>&timeout=100` from one
loop per task type. This asks the same question with a few counts and timeouts: nothing queued,
tasks already queued, and a task that arrives 30 ms into the poll, and prints a markdown table
of how many tasks came back and after how long. Each cell is the median of `--repeat` polls.
"""

import argparse
import statistics
import sys
import threading
import time
import uuid

from bench.rest import Rest
from harness.conductor_server import ConductorServer

CASES = [(1, 0), (1, 100), (16, 0), (16, 100), (1, 1000)]  # (count, timeout ms)
ARRIVAL_S = 0.03


def _define(rest: Rest, task: str) -> str:
    owner = {"ownerEmail": "bench@example.com"}
    rest.request("POST", "/metadata/taskdefs", body=[{"name": task, "retryCount": 0, **owner}])
    workflow = f"{task}_workflow"
    step = {"name": task, "taskReferenceName": task, "type": "SIMPLE"}
    rest.request("PUT", "/metadata/workflow", body=[{"name": workflow, "version": 1, "tasks": [step], **owner}])
    return workflow


def _poll(rest: Rest, task: str, count: int, timeout_ms: int) -> tuple[int, float]:
    began = time.perf_counter()
    query = {"workerid": "probe", "count": count, "timeout": timeout_ms}
    tasks = rest.request("GET", f"/tasks/poll/batch/{task}", query)
    elapsed_ms = (time.perf_counter() - began) * 1000
    for polled in tasks or []:  # complete it, so the next case starts from an empty queue
        result = {"taskId": polled["taskId"], "workflowInstanceId": polled["workflowInstanceId"], "status": "COMPLETED"}
        rest.request("POST", "/tasks", body=result)
    return len(tasks or []), elapsed_ms


def _start(api: str, workflow: str, delay_s: float = 0.0) -> None:
    if delay_s:
        time.sleep(delay_s)
    rest = Rest(api)
    rest.request("POST", "/workflow", body={"name": workflow, "version": 1, "input": {}})
    rest.close()


def probe(api: str, repeat: int) -> list[dict[str, object]]:
    rest = Rest(api)
    task = f"poll_probe_{uuid.uuid4().hex[:8]}"
    workflow = _define(rest, task)
    for _ in range(5):  # warm the server's code paths up
        _poll(rest, task, 1, 0)
    rows = []
    for count, timeout_ms in CASES:
        cells: dict[str, object] = {"count": count, "timeout_ms": timeout_ms}
        for situation in ("empty", "2 queued", "arrives at 30 ms"):
            results = []
            for _ in range(repeat):
                if situation == "2 queued":
                    _start(api, workflow)
                    _start(api, workflow)
                    time.sleep(0.3)  # queued before the poll
                arrival = None
                if situation == "arrives at 30 ms":
                    arrival = threading.Thread(target=_start, args=(api, workflow, ARRIVAL_S))
                    arrival.start()
                results.append(_poll(rest, task, count, timeout_ms))
                if arrival is not None:
                    arrival.join()
                while _poll(rest, task, 16, 0)[0]:  # leftovers of this case
                    pass
            got = statistics.median(n for n, _ in results)
            cells[situation] = f"{got:g} in {statistics.median(ms for _, ms in results):.0f} ms"
        rows.append(cells)
    rest.close()
    return rows


def table(rows: list[dict[str, object]]) -> str:
    arrives = f"a task arrives {ARRIVAL_S * 1000:.0f} ms in"
    heads = ["count", "timeout (ms)", "nothing queued", "2 tasks queued", arrives]
    lines = ["| " + " | ".join(heads) + " |", "|" + " ---: |" * 2 + " --- |" * 3]
    for row in rows:
        values = [row["count"], row["timeout_ms"], row["empty"], row["2 queued"], row["arrives at 30 ms"]]
        lines.append("| " + " | ".join(map(str, values)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", help="a running server's API URL (default: start one)")
    parser.add_argument("--repeat", type=int, default=3, help="polls per cell (default 3)")
    args = parser.parse_args(argv)
    if args.server_url:
        print(table(probe(args.server_url.rstrip("/"), args.repeat)))
        return 0
    with ConductorServer() as server:
        print(table(probe(server.api_url, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
