"""Forked children: their exit status, their own stop handling from the first instant, and the pipes they close."""

import os
import select
import signal
import threading
import time

import pytest
from conductor_worker_kit.runtime.child_process import ForkError, fork
from conductor_worker_kit.runtime.stop_request import StopRequest


def _until_stopped(stop: StopRequest) -> int:
    deadline = time.monotonic() + 30
    while not stop.requested and time.monotonic() < deadline:
        time.sleep(0.01)
    return 5 if stop.requested else 6


def test_the_return_value_is_the_exit_status() -> None:
    assert fork(lambda stop: 7).wait(30) == 7


def test_an_exception_is_exit_status_1_with_its_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    def fails(stop: StopRequest) -> int:
        raise RuntimeError("boom")

    assert fork(fails).wait(30) == 1
    assert "RuntimeError: boom" in capfd.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sent_right_after_the_fork_reaches_the_childs_own_stop_request(signum: int) -> None:
    # Without the signals blocked across the fork, one that lands before the child installed its
    # handlers runs the parent's (pytest's) instead, and the child never sees it.
    for _ in range(20):
        child = fork(_until_stopped)
        child.send_signal(signum)
        assert child.wait(30) == 5


def test_the_parent_keeps_its_handlers_and_mask() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.pthread_sigmask(signal.SIG_BLOCK, [])
    fork(lambda stop: 0).wait(30)
    assert (signal.getsignal(signal.SIGTERM), signal.pthread_sigmask(signal.SIG_BLOCK, [])) == before


def test_the_child_closes_the_pipes_it_is_given() -> None:
    read, write = os.pipe()
    child = fork(_until_stopped, close=[write])
    os.close(write)
    try:
        # Only the child's copy of `write` could keep the pipe open: end of file means it closed it.
        assert select.select([read], [], [], 10)[0] == [read]
        assert os.read(read, 1) == b""
        assert child.poll() is None
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(30)
        os.close(read)


def _ignores_stop_requests(stop: StopRequest) -> int:
    time.sleep(60)
    return 0


def test_kill_ends_a_child_that_ignores_stop_requests() -> None:
    child = fork(_ignores_stop_requests)
    child.send_signal(signal.SIGTERM)
    assert child.wait(0.3) is None
    assert child.kill() == -signal.SIGKILL
    assert child.poll() == -signal.SIGKILL


def test_fork_refuses_while_the_process_has_another_thread() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        with pytest.raises(ForkError, match="has 2 threads: forking it could deadlock"):
            fork(lambda stop: 0)
    finally:
        release.set()
        thread.join()
