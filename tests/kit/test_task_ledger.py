"""The ledger a drain waits on: what is held, and no new poll once draining."""

from conductor_worker_kit.runtime.task_ledger import HeldTask, TaskLedger

A, B = HeldTask("a", "charge", "wf-1"), HeldTask("b", "charge", "wf-2")


def test_idle_only_when_nothing_is_held_and_no_poll_is_in_flight() -> None:
    ledger = TaskLedger()
    assert ledger.idle()
    assert ledger.poll_started()
    assert not ledger.idle()
    ledger.poll_finished([A])
    assert ledger.held() == [A]
    ledger.take(B)  # handed out with A's result
    ledger.release("a")
    assert ledger.held() == [B]
    ledger.release("b")
    assert ledger.idle()


def test_draining_refuses_new_polls_but_counts_the_one_in_flight() -> None:
    ledger = TaskLedger()
    assert ledger.poll_started()
    ledger.start_draining()
    assert not ledger.poll_started()
    assert not ledger.idle()
    ledger.poll_finished([A])
    assert not ledger.idle()
    ledger.release("a")
    assert ledger.idle()


def test_a_result_the_sdk_could_not_report_is_lost_not_held() -> None:
    ledger = TaskLedger()
    ledger.take(A)
    ledger.lose("a")
    assert ledger.idle()
    assert ledger.lost() == [A]
    assert str(A) == "charge a (workflow wf-1)"
