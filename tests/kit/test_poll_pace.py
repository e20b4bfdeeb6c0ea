"""Adaptive polling, per task type: unheld and fast while tasks keep coming, held and slow once quiet."""

from dataclasses import dataclass, field

from conductor_worker_kit.runtime.poll_pace import PollPace


@dataclass
class Worker:
    """The two things the pace touches on the SDK's `Worker`."""

    poll_interval: float = 100
    name: str = "charge"

    def get_task_definition_name(self) -> str:
        return self.name


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Counted:
    polls: list[tuple[str, bool]] = field(default_factory=list)

    def __call__(self, task_type: str, held: bool) -> None:
        self.polls.append((task_type, held))


def test_quiet_polls_are_held_at_the_configured_interval() -> None:
    worker, counted = Worker(), Counted()
    pace = PollPace(worker, busy_seconds=2, busy_interval_ms=10, count=counted, clock=Clock())
    pace.poll_held()  # the first one
    assert pace.poll_held()
    assert pace.poll_held()
    assert worker.poll_interval == 100
    assert counted.polls == [("charge", False), ("charge", True), ("charge", True)]


def test_the_first_poll_is_unheld_so_tasks_waiting_at_start_are_not_held_for_a_batch() -> None:
    worker = Worker()
    pace = PollPace(worker, busy_seconds=2, busy_interval_ms=10, clock=Clock())
    assert not pace.poll_held(), "a held poll with fewer tasks queued than its batch waits the whole hold"
    assert worker.poll_interval == 100, "an empty first poll does not make the task type busy"
    assert pace.poll_held()


def test_work_makes_it_busy_until_the_quiet_spell_then_held_again() -> None:
    worker, clock, counted = Worker(), Clock(), Counted()
    pace = PollPace(worker, busy_seconds=2, busy_interval_ms=10, count=counted, clock=clock)
    pace.saw_work()
    assert worker.poll_interval == 10, "the runner's next wait is already the busy interval"
    assert not pace.poll_held()
    clock.now += 1.9
    assert not pace.poll_held()
    assert worker.poll_interval == 10
    pace.saw_work()  # a result reported: busy again for the whole spell
    clock.now += 1.9
    assert not pace.poll_held()
    clock.now += 0.2
    assert pace.poll_held()
    assert worker.poll_interval == 100
    assert counted.polls == [("charge", False)] * 3 + [("charge", True)]


def test_zero_busy_seconds_holds_every_poll() -> None:
    worker = Worker()
    pace = PollPace(worker, busy_seconds=0, busy_interval_ms=10, clock=Clock())
    pace.saw_work()
    assert pace.poll_held()
    assert worker.poll_interval == 100


def test_a_worker_configured_below_the_beat_never_asks_for_the_hold() -> None:
    worker = Worker(poll_interval=50)
    pace = PollPace(worker, busy_seconds=2, busy_interval_ms=10, clock=Clock())
    assert not pace.poll_held()
    assert worker.poll_interval == 50
    pace.saw_work()
    assert worker.poll_interval == 10


def test_the_busy_interval_is_never_slower_than_the_configured_one() -> None:
    worker = Worker(poll_interval=5)
    pace = PollPace(worker, busy_seconds=2, busy_interval_ms=10, clock=Clock())
    pace.saw_work()
    assert worker.poll_interval == 5
