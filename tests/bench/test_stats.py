"""The benchmark's arithmetic over rounds, on hand-made rounds: spreads, paired ratios, verdicts, CPU bounds."""

import pytest

from bench.report import checks, limit_warnings
from bench.sampling import CpuWindow
from bench.stats import Spread, aggregate, get, paired_ratios, verdict


def _round(workload: str, client: str, number: int, **values: object) -> dict[str, object]:
    return {"workload": workload, "client": client, "round": number, "settings": {}, **values}


def test_a_spread_is_the_median_with_min_and_max_of_the_finite_values() -> None:
    spread = Spread.of([3.0, 1.0, float("nan"), 2.0, 10.0])
    assert spread == Spread(median=2.5, low=1.0, high=10.0, n=4)
    assert Spread.of([float("nan")]) is None


def test_a_verdict_is_met_only_when_every_round_meets_the_target() -> None:
    assert verdict(Spread(1.0, 0.95, 1.1, 3), 0.9, higher_is_better=True) == "met"
    assert verdict(Spread(0.8, 0.7, 0.85, 3), 0.9, higher_is_better=True) == "NOT met"
    assert verdict(Spread(0.92, 0.85, 1.11, 3), 0.9, higher_is_better=True) == "not decided"
    assert verdict(Spread(1.2, 1.1, 1.6, 3), 1.5, higher_is_better=False) == "not decided"
    assert verdict(Spread(1.2, 1.1, 1.4, 3), 1.5, higher_is_better=False) == "met"
    assert verdict(None, 1.5, higher_is_better=False) == "not measured"


def test_ratios_pair_clients_within_a_round_never_across_rounds() -> None:
    rounds = [
        _round("noop", "ours", 1, tasks_per_s=100.0),
        _round("noop", "limit", 1, tasks_per_s=200.0),
        _round("noop", "ours", 2, tasks_per_s=150.0),
        _round("noop", "limit", 2, tasks_per_s=150.0),
        _round("noop", "ours", 3, tasks_per_s=90.0),  # its limit round is missing: no ratio
    ]
    assert paired_ratios(rounds, ("noop", "ours"), ("noop", "limit"), get("tasks_per_s")) == [0.5, 1.0]


def test_a_target_straddled_by_the_rounds_is_not_decided_and_a_missing_one_says_why() -> None:
    rounds = [
        _round("noop", "ours", 1, tasks_per_s=80.0),
        _round("noop", "limit", 1, tasks_per_s=100.0),
        _round("noop", "ours", 2, tasks_per_s=111.0),
        _round("noop", "limit", 2, tasks_per_s=100.0),
    ]
    found = {c.name: c for c in checks(rounds, {"async": "no drain completed a task"})}
    noop = found["no-op tasks/s, ours / limit"]
    assert noop.verdict == "not decided" and noop.spread is not None
    assert (noop.spread.low, noop.spread.high, noop.spread.n) == (0.8, 1.11, 2)
    async_check = found["I/O-bound (200 ms) tasks/s, async worker / limit, in one worker process"]
    assert async_check.verdict == "not measured" and "no drain completed a task" in async_check.detail


def test_aggregate_gives_medians_over_rounds_and_pools_latencies() -> None:
    rounds = [
        _round("noop", "ours", n, tasks_per_s=rate, paced_start_ms=[n * 10.0], paced_complete_ms=[n * 20.0])
        for n, rate in ((1, 100.0), (2, 300.0), (3, 200.0))
    ]
    (row,) = aggregate(rounds)
    assert row["tasks_per_s"] == Spread(200.0, 100.0, 300.0, 3)
    assert row["start_p50_ms"] == 20.0 and row["paced_completed"] == 3


def test_the_cpu_bound_is_named_from_the_measured_seconds() -> None:
    one_core_client = CpuWindow(wall_s=2.0, server_s=1.0, client_s=1.9, busiest_client_process_s=1.8, other_s=0.2)
    assert one_core_client.bound.startswith("client-bound")
    busy_server = CpuWindow(wall_s=2.0, server_s=2.6, client_s=1.0, busiest_client_process_s=0.6, other_s=0.2, cores=2)
    assert busy_server.bound.startswith("CPU-saturated, server-bound")
    crowded = CpuWindow(wall_s=2.0, server_s=1.0, client_s=0.5, busiest_client_process_s=0.5, other_s=2.3, cores=2)
    assert crowded.bound.startswith("CPU-saturated by other load")
    waiting = CpuWindow(wall_s=2.0, server_s=0.5, client_s=0.3, busiest_client_process_s=0.3, other_s=0.1, cores=2)
    assert waiting.bound == "not CPU-bound (waits)"


def test_a_worker_faster_than_the_limit_in_a_round_is_called_out() -> None:
    rounds = [
        _round("noop", "limit", 1, tasks_per_s=100.0),
        _round("noop", "ours", 1, tasks_per_s=90.0),
        _round("noop", "limit", 2, tasks_per_s=100.0),
        _round("noop", "ours", 2, tasks_per_s=111.0),
    ]
    (warning,) = limit_warnings(rounds)
    assert warning.startswith("noop, round 2: ours drained 111.0 tasks/s, the limit 100.0")


def test_a_per_task_cost_is_weighed_against_the_worker_cpu_per_task_of_the_same_round() -> None:
    rounds = [
        # 2 ms of worker CPU per task; a 50 us line keeps 2 / 2.05 of a CPU-bound worker's tasks/s.
        _round("noop", "ours", 1, cpu={"client_cpu_s": 2.0}, backlog_completed=1000),
        _round("costs", "kit", 1, json_line_us=50.0, text_line_us=5.0, span_us=500.0),
        _round("noop", "ours", 2, cpu={"client_cpu_s": 1.0}, backlog_completed=1000),
        _round("costs", "kit", 3, json_line_us=50.0, text_line_us=5.0, span_us=500.0),  # no ours in round 3
    ]
    found = {c.name: c for c in checks(rounds, {})}
    logs = found["no-op tasks/s a CPU-bound worker keeps with one JSON log line per task"]
    spans = found["no-op tasks/s a CPU-bound worker keeps with a span per task"]
    assert logs.spread is not None and spans.spread is not None and logs.spread.n == spans.spread.n == 1
    assert logs.spread.median == pytest.approx(2 / 2.05) and logs.verdict == "met"
    assert spans.spread.median == pytest.approx(2 / 2.5) and spans.verdict == "NOT met"
    assert "50 us of CPU per line (5 us as text)" in logs.detail and "1.50 ms" in logs.detail
