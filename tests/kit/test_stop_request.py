"""SIGTERM/SIGINT become a stop request the main loop sees; the handler takes no lock."""

import os
import signal
from collections.abc import Iterator

import pytest
from conductor_worker_kit.runtime.stop_request import StopRequest


@pytest.fixture
def stop() -> Iterator[StopRequest]:
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
    request = StopRequest()
    request.install()
    yield request
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_is_recorded_and_seen_by_the_next_wait(stop: StopRequest, signum: signal.Signals) -> None:
    assert not stop.wait(0.01)
    os.kill(os.getpid(), signum)  # the handler runs before the next line
    assert stop.requested
    assert stop.signal == signum
    assert stop.wait(5)


def test_the_first_signal_is_the_one_named(stop: StopRequest) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.wait(0)
    assert stop.signal == signal.SIGINT


def test_a_stop_the_process_decides_on_names_no_signal(stop: StopRequest) -> None:
    stop.request()
    assert stop.wait(5)
    assert stop.signal is None


@pytest.fixture
def command_stop() -> Iterator[StopRequest]:
    """The `worker` command's own: a second signal hurries it."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
    request = StopRequest(hurry_on_second_signal=True)
    request.install()
    yield request
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_a_second_signal_to_the_command_hurries_it(command_stop: StopRequest) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    assert command_stop.requested and not command_stop.hurried
    os.kill(os.getpid(), signal.SIGTERM)
    assert command_stop.hurried
    assert command_stop.signal == signal.SIGINT


def test_a_worker_process_is_not_hurried_by_a_signal_that_reaches_it_twice(stop: StopRequest) -> None:
    """Ctrl-C reaches the whole process group, then the command's SIGTERM follows: still one drain."""
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.requested and not stop.hurried


def test_sigusr1_hurries_a_worker_process(stop: StopRequest) -> None:
    os.kill(os.getpid(), signal.SIGUSR1)
    assert stop.requested and stop.hurried
