"""Long-running tasks: `in_progress()` is what the SDK's runners report as IN_PROGRESS with a callback,
and a result reported after the task's responseTimeoutSeconds is kept for a look-up (the server may have
dropped it)."""

import time

import pytest
from conductor.client.context.task_context import TaskInProgress
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.worker.worker import Worker
from conductor_worker_kit import in_progress
from conductor_worker_kit.runtime.task_ledger import HeldTask, TaskLedger


def slow_step(step: int = 0) -> object:
    return in_progress(callback_after_seconds=7, output={"step": step}) if step < 3 else {"done": True}


def test_the_worker_hands_the_sdks_task_in_progress_to_its_runner() -> None:
    """The runner turns it into an IN_PROGRESS result with the callback (proven on the server: e2e)."""
    worker = Worker("slow_step", slow_step)
    returned = worker.execute(Task(task_id="t-1", workflow_instance_id="wf", input_data={}))
    assert isinstance(returned, TaskInProgress)
    assert (returned.callback_after_seconds, returned.output) == (7, {"step": 0})
    done = worker.execute(Task(task_id="t-1", workflow_instance_id="wf", input_data={"step": 3}))
    assert done.status == TaskResultStatus.COMPLETED


@pytest.mark.parametrize("seconds", [0, -5, True, 2.5, "10"])
def test_a_callback_that_is_not_a_whole_number_of_seconds_is_refused(seconds: object) -> None:
    with pytest.raises((TypeError, ValueError), match="callback_after_seconds"):
        in_progress(callback_after_seconds=seconds)  # type: ignore[arg-type]


def test_a_result_reported_after_the_response_timeout_is_kept_for_a_look_up() -> None:
    ledger = TaskLedger()
    late = HeldTask("late", "slow", "wf-1", response_timeout_seconds=5, taken_at=time.monotonic() - 6)
    prompt = HeldTask("prompt", "slow", "wf-2", response_timeout_seconds=5)
    unknown = HeldTask("no-timeout", "slow", "wf-3", taken_at=time.monotonic() - 3600)
    for task in (late, prompt, unknown):
        ledger.take(task)
    for task in (late, prompt, unknown):
        ledger.release(task.task_id, "COMPLETED")
    assert ledger.overdue() == [(late, "COMPLETED")]
    assert ledger.overdue() == []
    assert ledger.idle()
