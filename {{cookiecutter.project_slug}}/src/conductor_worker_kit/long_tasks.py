# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Tasks that run longer than their responseTimeoutSeconds.

The server times out a task it has heard nothing of for responseTimeoutSeconds, retries it (the work
runs twice) and drops the first attempt's late result. Three ways out (README, Long-running tasks):
a longer responseTimeoutSeconds; lease extension (`lease_extend_enabled=True` on `@worker_task`, or
CONDUCTOR_WORKER_<TASK>_LEASE_EXTEND_ENABLED=true), where the runner tells the server the task is alive;
or a worker that returns `in_progress(...)` and is called again later with the same task.
"""

from collections.abc import Mapping
from typing import Any


def in_progress(callback_after_seconds: int, output: Mapping[str, object] | None = None) -> Any:
    """Return this from a worker for "not done yet, ask me again in `callback_after_seconds`".

    The server keeps the task IN_PROGRESS with `output` so far, queues it again after the delay, and the
    worker gets the same task back (its poll count one higher; the SDK's `get_task_context()` tells it).
    Typed keyword arguments: a misspelled one fails `make check` instead of every attempt at run time.
    """
    if isinstance(callback_after_seconds, bool) or not isinstance(callback_after_seconds, int):
        raise TypeError(f"callback_after_seconds must be a whole number of seconds (got {callback_after_seconds!r})")
    if callback_after_seconds < 1:
        raise ValueError(f"callback_after_seconds must be at least 1 (got {callback_after_seconds})")
    from .runtime.sdk_adapter import TaskInProgress  # the SDK: loaded by the worker that returns it

    return TaskInProgress(callback_after_seconds=callback_after_seconds, output=dict(output or {}))
