"""The `run-workflow` command: start a workflow, wait for it to end, report how it ended."""

import time
from typing import Any

from .server import ConductorServer

TERMINAL = {"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"}
POLL_SECONDS = 0.5


def start(server: ConductorServer, name: str, workflow_input: dict[str, Any], domain: str | None = None) -> str:
    request: dict[str, Any] = {"name": name, "input": workflow_input}
    if domain:
        # Every task of this run is queued in `domain`; only workers polling that domain get it.
        request["taskToDomain"] = {"*": domain}
    return server.request("POST", "/workflow", json=request).text.strip().strip('"')


def wait(server: ConductorServer, workflow_id: str, timeout_seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    while True:
        workflow: dict[str, Any] = server.request(
            "GET", f"/workflow/{workflow_id}", params={"includeTasks": "true"}
        ).json()
        if workflow.get("status") in TERMINAL or time.monotonic() >= deadline:
            return workflow
        time.sleep(POLL_SECONDS)


def summary(workflow: dict[str, Any]) -> dict[str, Any]:
    """What a person needs to see: status, output, and each task that did not complete."""
    result: dict[str, Any] = {
        "workflowId": workflow.get("workflowId"),
        "status": workflow.get("status"),
        "output": workflow.get("output", {}),
    }
    if workflow.get("reasonForIncompletion"):
        result["reasonForIncompletion"] = workflow["reasonForIncompletion"]
    unfinished = [
        {key: task.get(key) for key in ("referenceTaskName", "taskType", "status", "reasonForIncompletion", "domain")}
        for task in workflow.get("tasks", [])
        if task.get("status") != "COMPLETED"
    ]
    if unfinished:
        result["tasks"] = unfinished
    if workflow.get("status") not in TERMINAL:
        result["hint"] = (
            "still running: a task stuck in SCHEDULED means no worker polls it "
            "(worker not running, or task name or domain mismatch); run `doctor`"
        )
    return result
