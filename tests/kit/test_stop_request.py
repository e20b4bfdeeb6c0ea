"""SIGTERM/SIGINT become a stop request the main loop sees; every signal handler only sets flags."""

import ast
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import conductor_worker_kit
import pytest
from conductor_worker_kit.runtime.stop_request import StopRequest

KIT = Path(conductor_worker_kit.__file__).parent
# The one call a handler may make: naming the signal. Any other call may take a lock (a log line, a
# write, `Event.set()`, a queue) that the interrupted main thread already holds.
HANDLER_CALLS = {"signal.Signals"}
# Statements that wait, loop, raise or take a lock (`with`): none belongs in a handler.
NOT_IN_A_HANDLER = (
    *(ast.With, ast.AsyncWith, ast.Await, ast.For, ast.While, ast.Try, ast.Raise),
    *(ast.Import, ast.ImportFrom),
)


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


def installed_handlers() -> list[tuple[str, ast.FunctionDef]]:
    """Each function the kit gives `signal.signal()`, found by name in the module that installs it."""
    found = []
    for path in sorted(KIT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "signal.signal":
                handler = node.args[1]
                name = handler.attr if isinstance(handler, ast.Attribute) else getattr(handler, "id", "")
                if name in ("SIG_DFL", "SIG_IGN"):
                    continue
                where = f"{path.relative_to(KIT)}:{node.lineno}"
                assert name in functions, f"{where}: handler {ast.unparse(handler)} not found"
                found.append((f"{where} {name}", functions[name]))
    return found


def test_every_signal_handler_only_sets_flags() -> None:
    handlers = installed_handlers()
    assert {name.split()[-1] for name, _ in handlers} >= {"_record"}, handlers
    problems = []
    for name, handler in handlers:
        for node in ast.walk(handler):
            if isinstance(node, ast.Call) and ast.unparse(node.func) not in HANDLER_CALLS:
                problems.append(f"{name}: calls {ast.unparse(node.func)}")
            elif isinstance(node, NOT_IN_A_HANDLER):
                problems.append(f"{name}: {type(node).__name__} at line {node.lineno}")
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                problems += [
                    f"{name}: assigns {ast.unparse(target)}, not a flag of self"
                    for target in targets
                    if not (isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self")
                ]
    assert problems == []
