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
    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._record)
        signal.signal(signal.SIGINT, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if not self.requested:
            self.signal = signal.Signals(signum)
            self.requested = True

    def request(self) -> None:
        """A stop the process decides on itself (no signal)."""
        self.requested = True

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless a stop was requested; whether one was. A signal does not cut the
        sleep short (Python resumes it after the handler), so keep `seconds` small."""
        if not self.requested:
            time.sleep(seconds)
        return self.requested
