"""The drain half of `scripts/e2e.sh`: SIGTERM a busy worker, then prove no task was lost or run twice.

    python scripts/drain_check.py queue IDS_FILE              # start the workflows while no worker polls
    python scripts/drain_check.py signal WORKER_PID IDS_FILE  # SIGTERM the worker once it is under way
    python scripts/drain_check.py verify IDS_FILE             # each COMPLETED, its task run exactly once

The workflows are queued before the worker starts, so when it is signalled it is still working through
the backlog: tasks are in flight however fast the machine is.

It uses the project's own settings and REST client, so it works against Conductor OSS and Orkes alike.
"""

import os
import signal
import sys
import time
from pathlib import Path

from conductor_worker_kit.commands import run_workflow
from conductor_worker_kit.commands.definitions import example_input, workflow_definitions
from conductor_worker_kit.conductor_client import ConductorClient
from conductor_worker_kit.config import load_env_file, load_settings
from conductor_worker_kit.project import Project

PROJECT = Project("{{ cookiecutter.package_name }}")

WORKFLOWS = int(os.environ.get("E2E_DRAIN_WORKFLOWS", "300"))
# SIGTERM once this many have completed: the worker is then busy with the rest.
COMPLETED_BEFORE_SIGNAL = 10
TIMEOUT_SECONDS = float(os.environ.get("E2E_WORKFLOW_TIMEOUT_SECONDS", "120"))


def _tasks(server: ConductorClient, workflow_id: str) -> tuple[str, list[str]]:
    workflow = server.request("GET", f"/workflow/{workflow_id}", params={"includeTasks": "true"}).json()
    return str(workflow["status"]), [str(task["status"]) for task in workflow.get("tasks", [])]


def queue(server: ConductorClient, ids_file: Path) -> int:
    name = workflow_definitions(PROJECT)[0]["name"]
    workflow_input = example_input(PROJECT, name)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    ids = [run_workflow.start(server, name, workflow_input, None, deadline) for _ in range(WORKFLOWS)]
    ids_file.write_text("\n".join(ids) + "\n")
    print(f"drain check: {WORKFLOWS} workflows queued")
    return 0


def signal_when_under_way(server: ConductorClient, worker_pid: int, ids_file: Path) -> int:
    first = ids_file.read_text().split()[:COMPLETED_BEFORE_SIGNAL]
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while sum(_tasks(server, wid)[0] == "COMPLETED" for wid in first) < len(first):
        if time.monotonic() > deadline:
            print(f"drain check: the worker did not complete {len(first)} workflows", file=sys.stderr)
            return 1
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            print("drain check: the worker exited before it completed a workflow", file=sys.stderr)
            return 1
        time.sleep(0.05)
    os.kill(worker_pid, signal.SIGTERM)
    print(f"drain check: SIGTERM sent once {len(first)} of the queued workflows had completed")
    return 0


def verify(server: ConductorClient, ids_file: Path) -> int:
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
    with ConductorClient(load_settings()) as server:
        if argv[:1] == ["queue"] and len(argv) == 2:
            return queue(server, Path(argv[1]))
        if argv[:1] == ["signal"] and len(argv) == 3:
            return signal_when_under_way(server, int(argv[1]), Path(argv[2]))
        if argv[:1] == ["verify"] and len(argv) == 2:
            return verify(server, Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
