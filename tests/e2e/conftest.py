"""Fixtures of the e2e tier's tests that start worker commands and workflows of their own."""

from collections.abc import Iterator

import pytest

from harness.baked_project import WorkerProcess
from harness.conductor_server import ConductorServer


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker commands a test starts: killed if still running after it, their logs printed (pytest shows
    them on failure)."""
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
        print(f"===== {process.log_path.name} =====\n{process.log()}")


@pytest.fixture
def workflows(conductor: ConductorServer) -> Iterator[list[str]]:
    """Workflows a test starts: terminated after it unless done, so no task of theirs is given out again."""
    started: list[str] = []
    yield started
    for workflow_id in started:
        if conductor.workflow(workflow_id)["status"] == "RUNNING":
            conductor.api("DELETE", f"/workflow/{workflow_id}?reason=test+cleanup")
