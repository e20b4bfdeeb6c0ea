# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""How one task type polls: held and slow while it is quiet, unheld and fast while tasks keep coming.

A held poll waits on the server's ~100 ms beat, so a new task waits ~50 ms to be picked up; an unheld
poll answers at once, so the poll interval alone sets the pick-up, at the price of more polls when
nothing comes. A task type is *busy* for `busy_seconds` after one of its polls returned a task or one of
its results was accepted (with update-v2 the server may have handed the next task back with it). While
busy, it polls without the hold every `busy_interval_ms`; once quiet, held at its configured interval,
as an idle worker always did. `busy_seconds` 0 turns this off: every poll is held.

A worker whose configured interval is already below the beat polls unheld all the time, as it asked.
Unless `busy_seconds` is 0, the first poll of each task type is unheld too: tasks queued before the
worker started (fewer than a batch, as after a restart) are taken at once, where a held poll would wait
the whole hold for its batch to fill.
The interval is applied through the SDK worker's `poll_interval` (ms), which its runner reads before
every poll; the hold through the poll's `timeout` query parameter (sdk_adapter.py).
"""

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import DEFAULT_BUSY_POLL_INTERVAL_MS, DEFAULT_BUSY_SECONDS

HOLD_BEAT_SECONDS = 0.1  # how often the server looks at the queue while it holds a poll


class PolledWorker(Protocol):
    """What the pace needs of the SDK's `Worker`: its poll interval in ms, read before every poll."""

    poll_interval: Any

    def get_task_definition_name(self) -> str: ...


# (task type, held) for each poll sent, e.g. a Prometheus counter's `labels(...).inc()`.
PollCounter = Callable[[str, bool], None]


class PollPace:
    def __init__(
        self,
        worker: PolledWorker,
        busy_seconds: float = DEFAULT_BUSY_SECONDS,
        busy_interval_ms: float = DEFAULT_BUSY_POLL_INTERVAL_MS,
        count: PollCounter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker = worker
        self.task_type = worker.get_task_definition_name()
        self.quiet_interval_ms = float(worker.poll_interval or 100)  # as the SDK resolved it from env and decorator
        self.busy_seconds = busy_seconds
        self.busy_interval_ms = min(busy_interval_ms, self.quiet_interval_ms)
        self.count = count
        self.clock = clock
        self.always_unheld = self.quiet_interval_ms / 1000 < HOLD_BEAT_SECONDS
        self._lock = threading.Lock()
        self._busy_until = -1.0
        self._first = busy_seconds > 0  # 0: every poll held, the first too

    def busy(self) -> bool:
        return self.clock() < self._busy_until

    def poll_held(self) -> bool:
        """Whether the poll about to go out asks the server to hold it; sets the interval to the one after it."""
        with self._lock:
            busy = self.busy()
            self.worker.poll_interval = self.busy_interval_ms if busy else self.quiet_interval_ms
            first, self._first = self._first, False
        held = not (busy or self.always_unheld or first)
        if self.count is not None:
            self.count(self.task_type, held)
        return held

    def saw_work(self) -> None:
        """A poll returned a task, or a result was accepted: poll fast for the next `busy_seconds`."""
        if self.busy_seconds <= 0:
            return
        with self._lock:
            self._busy_until = self.clock() + self.busy_seconds
            self.worker.poll_interval = self.busy_interval_ms


@dataclass(frozen=True)
class Pacing:
    """How every task type of a worker process is paced: busy for `busy_seconds` after work, polling
    unheld every `busy_interval_ms` meanwhile; `count` counts each poll sent (None: not counted)."""

    busy_seconds: float = DEFAULT_BUSY_SECONDS
    busy_interval_ms: float = DEFAULT_BUSY_POLL_INTERVAL_MS
    count: PollCounter | None = None

    def pace(self, worker: PolledWorker) -> PollPace:
        """The pace of one task type; made once the SDK has applied its CONDUCTOR_WORKER_* settings."""
        return PollPace(worker, self.busy_seconds, self.busy_interval_ms, self.count)


@functools.cache  # one counter per process, however many hosts a process builds
def prometheus_poll_counter() -> PollCounter:
    """`worker_polls_total{taskType, held}`, written where the SDK's metrics are (PROMETHEUS_MULTIPROC_DIR)."""
    from prometheus_client import Counter

    counter = Counter("worker_polls", "Polls sent to the server, held or not", ["taskType", "held"])

    def count(task_type: str, held: bool) -> None:
        counter.labels(task_type, "true" if held else "false").inc()

    return count
