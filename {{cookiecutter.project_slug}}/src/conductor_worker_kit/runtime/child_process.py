# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""A function run in a child process forked from the `worker` command, watched like `subprocess.Popen`.

Forked, not started with a new interpreter: the child begins with the command's interpreter and
modules already loaded, so a worker process reaches its first poll sooner (see docs/sizing.md).
- Forking a process that has threads can leave the child deadlocked on a lock another thread held,
  so `fork` refuses (ForkError) when the `worker` command has more than one thread, e.g. because a
  logging handler added to it starts one.
- SIGTERM, SIGINT and SIGUSR1 are blocked across the fork: a signal sent to the child before it has its own
  handlers waits for them instead of hitting the command's.
- The child closes the command's pipes it has no use for, and always ends with `os._exit`: it never
  returns into the command's code (whose `finally` blocks would release the health directory). As in
  multiprocessing's forked processes, `atexit` functions do not run there; logging is flushed.
"""

import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable

from .stop_request import StopRequest

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}


class ForkError(Exception):
    """No child could be forked: the command has threads, or the system refused (e.g. a pids limit)."""


def thread_count() -> int:
    """This process's threads, as the kernel counts them (C extensions' included) where it says so."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


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
    threads = thread_count()
    if threads > 1:
        raise ForkError(f"the worker command has {threads} threads: forking it could deadlock a worker process")
    sys.stdout.flush()
    sys.stderr.flush()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pid = os.fork()
    except OSError as error:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        raise ForkError(f"cannot fork a process: {error.strerror}") from None
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
    except SystemExit as exit_request:
        status = exit_request.code if isinstance(exit_request.code, int) else 1
    except BaseException:  # whatever happens, the child must not unwind into the command's code
        traceback.print_exc()
    finally:
        try:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
