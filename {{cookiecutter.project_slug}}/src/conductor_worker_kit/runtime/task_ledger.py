# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Which tasks this worker process holds: taken from the server and not yet reported back.

The SDK's task clients report every poll, every result and every next task handed out with a
result (see `sdk_adapter.py`), so the ledger knows exactly what a drain must wait for. Once draining, it
refuses new polls; a drain is complete when no poll is in flight and nothing is held.
"""

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HeldTask:
    task_id: str
    task_type: str
    workflow_id: str
    response_timeout_seconds: float | None = None  # the server times the task out after this without news
    taken_at: float = field(default_factory=time.monotonic, compare=False)

    def __str__(self) -> str:
        return f"{self.task_type} {self.task_id} (workflow {self.workflow_id})"


class TaskLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, HeldTask] = {}
        self._lost: list[HeldTask] = []
        self._polls_in_flight = 0
        self._draining = False
        self._overdue: list[tuple[HeldTask, str]] = []
        self._first_poll = threading.Event()

    @property
    def draining(self) -> bool:
        return self._draining

    def start_draining(self) -> None:
        with self._lock:
            self._draining = True

    def poll_started(self) -> bool:
        """Whether a poll may go out; False once draining, so no new task is taken."""
        with self._lock:
            if self._draining:
                return False
            self._polls_in_flight += 1
            return True

    def poll_finished(self, tasks: list[HeldTask]) -> None:
        with self._lock:
            self._polls_in_flight -= 1
            self._held.update((task.task_id, task) for task in tasks)
        self._first_poll.set()

    def wait_for_first_poll(self, timeout: float) -> bool:
        """Block until a poll has been answered (True) or `timeout` seconds passed (False): what can wait
        until the worker is serving waits for this."""
        return self._first_poll.wait(timeout)

    def take(self, task: HeldTask) -> None:
        """A task handed out with a result (update-v2's next task)."""
        with self._lock:
            self._held[task.task_id] = task

    def release(self, task_id: str, status: str = "") -> None:
        """The server took this task's result (`status`): the process no longer holds it. A result reported
        later than the task's responseTimeoutSeconds is kept for `overdue`: the server may have dropped it."""
        with self._lock:
            task = self._held.pop(task_id, None)
            timeout = task.response_timeout_seconds if task else None
            if task and timeout and time.monotonic() - task.taken_at > timeout:
                self._overdue.append((task, status))

    def overdue(self) -> list[tuple[HeldTask, str]]:
        """The results reported after their task's responseTimeoutSeconds since the last call, with their status."""
        with self._lock:
            found, self._overdue = self._overdue, []
            return found

    def lose(self, task_id: str) -> None:
        """The SDK gave up reporting this task's result: the server will time it out and retry it."""
        with self._lock:
            task = self._held.pop(task_id, None)
            if task is not None:
                self._lost.append(task)

    def idle(self) -> bool:
        with self._lock:
            return self._polls_in_flight == 0 and not self._held

    def held(self) -> list[HeldTask]:
        with self._lock:
            return sorted(self._held.values(), key=lambda task: (task.task_type, task.task_id))

    def lost(self) -> list[HeldTask]:
        with self._lock:
            return list(self._lost)
