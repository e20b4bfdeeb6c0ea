"""The gate a worker process waits at before its first poll: GO opens it; a closed pipe or a stop does not."""

import os
import threading

from conductor_worker_kit.runtime.process_protocol import GO
from conductor_worker_kit.runtime.stop_request import StopRequest
from conductor_worker_kit.runtime.worker_process import _wait_for_go


def test_go_opens_the_gate() -> None:
    read, write = os.pipe()
    os.write(write, GO)
    os.close(write)
    assert _wait_for_go(read, StopRequest()) is True


def test_a_gate_closed_without_go_means_do_not_poll() -> None:
    """The command closes the gate when it stops or the server check failed (or it is gone)."""
    read, write = os.pipe()
    os.close(write)
    assert _wait_for_go(read, StopRequest()) is False


def test_a_stop_request_ends_the_wait() -> None:
    read, write = os.pipe()
    stop = StopRequest()
    timer = threading.Timer(0.3, stop.request)
    timer.start()
    try:
        assert _wait_for_go(read, stop) is False
    finally:
        timer.join()  # no thread left behind: the tests that fork refuse to while one runs
        os.close(write)
