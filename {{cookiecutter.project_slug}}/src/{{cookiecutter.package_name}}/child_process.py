"""A function run in a child process forked from the `worker` command, watched like `subprocess.Popen`.

Forked, not started with a new interpreter: the child begins with the command's interpreter and
modules already loaded, so a worker process reaches its first poll sooner (see docs/benchmark.md).
Forking is safe because the `worker` command's process never starts a thread (Python 3.12+ warns
when one forks a process that has threads); its tests check that.
- SIGTERM and SIGINT are blocked across the fork: a signal sent to the child before it has its own
  handlers waits for them instead of hitting the command's.
- The child closes the command's pipes it has no use for, and always ends with `os._exit`: it never
  returns into the command's code (whose `finally` blocks would release the health directory).
"""

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable

from .stop_request import StopRequest

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class ChildProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status once it has exited (negative: the signal that ended it), else None."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if it still runs after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> int:
        """SIGKILL (unless it has exited already); its exit status."""
        status = self.poll()
        if status is None:
            os.kill(self.pid, signal.SIGKILL)
            status = self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return status


def fork(target: Callable[[StopRequest], int], close: Iterable[int] = ()) -> ChildProcess:
    """Run `target` in a forked child; its return value is the child's exit status.

    `target` gets the child's own StopRequest, installed before any signal can reach the child.
    `close`: file descriptors of the command's that the child must not keep open.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return ChildProcess(pid)
    status = 1
    try:
        for fd in close:
            os.close(fd)
        stop = StopRequest()
        stop.install()
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        status = target(stop)
    except BaseException:  # whatever happens, the child must not unwind into the command's code
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
