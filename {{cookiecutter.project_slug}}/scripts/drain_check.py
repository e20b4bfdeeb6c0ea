"""The drain half of `scripts/e2e.sh`: SIGTERM a busy worker, then prove no task was lost or run twice.

    python scripts/drain_check.py burst WORKER_PID IDS_FILE   # start workflows, SIGTERM the worker mid-way
    python scripts/drain_check.py verify IDS_FILE             # each COMPLETED, its task run exactly once

It uses the project's own settings and REST client, so it works against Conductor OSS and Orkes alike.
"""

import os
import signal
import sys
import time
from pathlib import Path

from {{ cookiecutter.package_name }} import run_workflow
from {{ cookiecutter.package_name }}.config import load_env_file, load_settings
from {{ cookiecutter.package_name }}.definitions import example_input, workflow_definitions
from {{ cookiecutter.package_name }}.server import ConductorServer

WORKFLOWS = int(os.environ.get("E2E_DRAIN_WORKFLOWS", "300"))
# SIGTERM once this many have completed: the worker is then busy with the rest.
COMPLETED_BEFORE_SIGNAL = 10
TIMEOUT_SECONDS = float(os.environ.get("E2E_WORKFLOW_TIMEOUT_SECONDS", "120"))


def _tasks(server: ConductorServer, workflow_id: str) -> tuple[str, list[str]]:
    workflow = server.request("GET", f"/workflow/{workflow_id}", params={"includeTasks": "true"}).json()
    return str(workflow["status"]), [str(task["status"]) for task in workflow.get("tasks", [])]


def burst(server: ConductorServer, worker_pid: int, ids_file: Path) -> int:
    name = workflow_definitions()[0]["name"]
    workflow_input = example_input(name)
    ids = [run_workflow.start(server, name, workflow_input) for _ in range(WORKFLOWS)]
    ids_file.write_text("\n".join(ids) + "\n")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while sum(_tasks(server, wid)[0] == "COMPLETED" for wid in ids[:COMPLETED_BEFORE_SIGNAL]) < COMPLETED_BEFORE_SIGNAL:
        if time.monotonic() > deadline:
            print(f"drain check: the worker did not complete {COMPLETED_BEFORE_SIGNAL} workflows", file=sys.stderr)
            return 1
        time.sleep(0.05)
    os.kill(worker_pid, signal.SIGTERM)
    print(f"drain check: SIGTERM sent with {WORKFLOWS} workflows started")
    return 0


def verify(server: ConductorServer, ids_file: Path) -> int:
    ids = ids_file.read_text().split()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        results = {wid: _tasks(server, wid) for wid in ids}
        if all(status != "RUNNING" for status, _ in results.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    wrong = {wid: result for wid, result in results.items() if result != ("COMPLETED", ["COMPLETED"])}
    for wid, (status, attempts) in sorted(wrong.items())[:10]:
        print(f"drain check: workflow {wid} is {status}, task attempts {attempts}", file=sys.stderr)
    if wrong:
        print(f"drain check: {len(wrong)} of {len(ids)} workflows did not run their task exactly once", file=sys.stderr)
        return 1
    print(f"drain check: all {len(ids)} workflows COMPLETED, each task run exactly once")
    return 0


def main(argv: list[str]) -> int:
    load_env_file()
    with ConductorServer(load_settings()) as server:
        if argv[:1] == ["burst"] and len(argv) == 3:
            return burst(server, int(argv[1]), Path(argv[2]))
        if argv[:1] == ["verify"] and len(argv) == 2:
            return verify(server, Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
