"""SIGTERM and SIGINT as a request to stop, which the main loop checks.

The handler only records the signal and takes no lock. Python runs a handler on the main thread
between two bytecodes, possibly while that thread holds a lock (inside `threading.Event.wait`, or
a logging call), and a handler that took the same lock (`Event.set()`, `log.info()`) would hang
the process for good instead of draining it.
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
        """Sleep up to `seconds`; whether a stop was requested."""
        if not self.requested:
            time.sleep(seconds)
        return self.requested
