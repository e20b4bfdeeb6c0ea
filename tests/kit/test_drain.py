"""How a worker process's drain ends: DRAINED when every task taken was reported, FAILED naming each task
whose result the SDK gave up reporting (its TaskUpdateFailure event), ABANDONED naming the tasks still
running when the grace ran out. The runners are left out: the SDK's side is tests/test_sdk_contract.py's
and the e2e tier's (a real LOST result)."""

import logging
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from conductor_worker_kit.config import Settings
from conductor_worker_kit.runtime.process_protocol import ABANDONED, DRAINED, FAILED
from conductor_worker_kit.runtime.task_ledger import HeldTask
from conductor_worker_kit.runtime.worker_process import HostEvents, WorkerHost

A, B = HeldTask("a", "charge", "wf-1"), HeldTask("b", "charge", "wf-2")


@pytest.fixture
def host(tmp_path: Path) -> WorkerHost:
    return WorkerHost(replace(Settings(), health_dir=tmp_path), 0, [], None)


def sdk_gave_up_reporting(host: WorkerHost, task: HeldTask) -> None:
    """What the SDK does after its last retry of a result: a TaskUpdateFailure event to the listeners."""
    HostEvents(replace(Settings(), health_dir=Path("unused")), 0, host.ledger).on_task_update_failure(
        SimpleNamespace(task_id=task.task_id)
    )


def test_a_drain_with_every_result_reported_is_clean(host: WorkerHost) -> None:
    host.ledger.take(A)
    host.ledger.release("a")
    assert host.drain(grace_seconds=5) == DRAINED


def test_a_result_lost_during_the_drain_fails_it_naming_the_task(
    host: WorkerHost, caplog: pytest.LogCaptureFixture
) -> None:
    host.ledger.take(A)
    host.ledger.take(B)
    host.ledger.release("b")
    # The SDK gives up while the drain waits for A (its last retry comes 60 s after the first).
    timer = threading.Timer(0.2, sdk_gave_up_reporting, (host, A))
    timer.start()
    try:
        with caplog.at_level(logging.ERROR):
            assert host.drain(grace_seconds=10) == FAILED
    finally:
        timer.join()  # no thread left behind: the tests that fork refuse to while one runs
    assert "the server did not accept the result of 1 task(s) after the SDK's retries: charge a (workflow wf-1)" in (
        caplog.text
    )


def test_a_result_lost_before_the_drain_was_logged_then_and_does_not_fail_it(host: WorkerHost) -> None:
    host.ledger.take(A)
    sdk_gave_up_reporting(host, A)
    assert host.drain(grace_seconds=5) == DRAINED


def test_a_task_still_running_at_the_end_of_the_grace_is_abandoned_by_name(
    host: WorkerHost, caplog: pytest.LogCaptureFixture
) -> None:
    host.ledger.take(A)
    with caplog.at_level(logging.ERROR):
        assert host.drain(grace_seconds=0.2) == ABANDONED
    assert "abandoning 1 running task(s): charge a (workflow wf-1)" in caplog.text
