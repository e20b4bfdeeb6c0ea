# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""SIGTERM and SIGINT as a request to stop, which the main loop checks.

The handler only records the signal: it takes no lock and writes nothing. Python runs a handler on
the main thread between two bytecodes, possibly while that thread holds the very lock the handler
would take: `Event.set()` inside `Event.wait` hangs the process for good instead of draining it,
and a log line written inside another write to stderr fails with "reentrant call".
"""

import signal
import time
from types import FrameType


class StopRequest:
    """`requested` after the first SIGTERM/SIGINT: drain. `hurried` after a second one to the `worker`
    command, or SIGUSR1 (what the command sends its worker processes then): abandon the running tasks now.

    A worker process does not count SIGINT/SIGTERM towards hurrying: Ctrl-C in a terminal reaches every
    process of the group, and the command's own SIGTERM follows, so one Ctrl-C arrives there twice."""

    def __init__(self, hurry_on_second_signal: bool = False) -> None:
        self.signal: signal.Signals | None = None
        self.requested = False
        self.hurried = False
        self.hurry_on_second_signal = hurry_on_second_signal

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._record)
        signal.signal(signal.SIGINT, self._record)
        signal.signal(signal.SIGUSR1, self._hurry)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if not self.requested:
            self.signal = signal.Signals(signum)
            self.requested = True
        elif self.hurry_on_second_signal and self.signal is not None:
            self.hurried = True

    def _hurry(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        self.hurried = True

    def request(self) -> None:
        """A stop the process decides on itself (no signal)."""
        self.requested = True

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless a stop was requested; whether one was. A signal does not cut the
        sleep short (Python resumes it after the handler), so keep `seconds` small."""
        if not self.requested:
            time.sleep(seconds)
        return self.requested
