# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The `run-workflow` command: start a workflow, wait for it to end, report how it ended."""

import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..conductor_client import ConductorClient, ServerError

TERMINAL = {"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"}
POLL_SECONDS = 0.5
RETRY_SECONDS = 2.0
# What a server restarting, or a proxy in front of one, answers for a moment.
PASSING_STATUSES = {502, 503, 504}


def _retrying(deadline: float, call: Callable[[], Any]) -> Any:
    """`call`, again every RETRY_SECONDS while the server is unreachable or briefly unavailable, until
    the deadline (run-workflow's --timeout); any other failure, or one at the deadline, is raised."""
    told = False
    while True:
        try:
            return call()
        except ServerError as error:
            passing = error.status is None or error.status in PASSING_STATUSES
            remaining = deadline - time.monotonic()
            if not passing or remaining <= 0:
                raise
            if not told:
                print(f"{error}; retrying until the --timeout runs out", file=sys.stderr)
                told = True
            # The last try falls on the deadline itself, so the whole --timeout is used.
            time.sleep(min(RETRY_SECONDS, remaining))


def start(
    server: ConductorClient,
    name: str,
    workflow_input: dict[str, Any],
    domain: str | None = None,
    deadline: float | None = None,
) -> str:
    """Start workflow `name`; its id. With a deadline (time.monotonic()), retried until then."""
    # The correlation id makes a retried start safe: if an earlier attempt reached the server but its
    # answer was lost, the workflow it started is found and used instead of starting a second one.
    request: dict[str, Any] = {"name": name, "input": workflow_input, "correlationId": f"run-workflow-{uuid.uuid4()}"}
    if domain:
        # Every task of this run is queued in `domain`; only workers polling that domain get it.
        request["taskToDomain"] = {"*": domain}
    attempts = 0

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            started = server.request(
                "GET", f"/workflow/{name}/correlated/{request['correlationId']}", params={"includeClosed": "true"}
            ).json()
            if started:
                return str(started[0]["workflowId"])
        return server.request("POST", "/workflow", json=request).text.strip().strip('"')

    return str(_retrying(time.monotonic() if deadline is None else deadline, attempt))


def wait(server: ConductorClient, workflow_id: str, deadline: float) -> dict[str, Any]:
    while True:
        workflow: dict[str, Any] = _retrying(
            deadline,
            lambda: server.request("GET", f"/workflow/{workflow_id}", params={"includeTasks": "true"}).json(),
        )
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
