"""Waiting for a condition, never for a fixed time: tests on two busy cores must neither flake nor
silently check the wrong state."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.2


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what_did_not_happen: str,
    details: Callable[[], str] | None = None,
    every: float = POLL_SECONDS,
) -> T:
    """Poll `condition` every `every` seconds until it returns something truthy, and return that.

    After `timeout` seconds the test fails with `what_did_not_happen` and the time it was given,
    e.g. "no task IN_PROGRESS within 20 s", followed by `details()` (a log tail, the last state).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"{what_did_not_happen} within {timeout:g} s"
            raise AssertionError(f"{message}\n{details()}" if details is not None else message)
        time.sleep(every)
