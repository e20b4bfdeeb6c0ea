"""When the `worker` command restarts a worker process that died after it started serving: after 1, 2, 4,
8, 16 s, then it gives up; a process that ran a minute before it died starts the count again. The clock
is the time the process exited (time.monotonic()), given to `Slot.restart_delay`, so no test waits."""

from conductor_worker_kit.runtime.supervisor import STABLE_SECONDS, Slot


def deaths(slot: Slot, ran_for: list[float]) -> list[float | None]:
    """The restart delays of a process that, after each restart, ran for the next of `ran_for` seconds."""
    delays: list[float | None] = []
    clock = slot.started_at
    for seconds in ran_for:
        clock += seconds
        delay = slot.restart_delay(clock)
        delays.append(delay)
        if delay is None:
            break
        clock += delay
        slot.started_at = clock  # restarted
    return delays


def test_a_process_that_keeps_dying_is_restarted_after_1_2_4_8_16_s_then_given_up() -> None:
    assert deaths(Slot(0, ["a"]), [0.5] * 7) == [1.0, 2.0, 4.0, 8.0, 16.0, None]


def test_a_process_that_ran_a_minute_starts_the_count_again() -> None:
    slot = Slot(0, ["a"])
    assert deaths(slot, [0.5, 0.5, 0.5]) == [1.0, 2.0, 4.0]
    assert deaths(slot, [STABLE_SECONDS, 0.5]) == [1.0, 2.0]


def test_a_process_that_ran_less_than_a_minute_does_not_start_the_count_again() -> None:
    slot = Slot(0, ["a"])
    assert deaths(slot, [0.5, 0.5, STABLE_SECONDS - 0.5]) == [1.0, 2.0, 4.0]
