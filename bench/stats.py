"""Numbers over rounds: each figure as median with min-max, each ratio paired within a round, and a verdict
that says "not decided" when the rounds disagree about a target."""

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> "Spread | None":
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if not finite:
            return None
        return cls(statistics.median(finite), min(finite), max(finite), len(finite))

    def text(self, digits: int = 2, unit: str = "") -> str:
        if self.n == 1:
            return f"{self.median:.{digits}f}{unit} (1 round)"
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}-{self.high:.{digits}f}, {self.n} rounds)"


def verdict(spread: Spread | None, target: float, higher_is_better: bool) -> str:
    """met: every round meets the target; NOT met: none does; not decided: the rounds straddle it."""
    if spread is None:
        return "not measured"
    meets = (lambda v: v >= target) if higher_is_better else (lambda v: v <= target)
    if meets(spread.low) and meets(spread.high):
        return "met"
    if not meets(spread.low) and not meets(spread.high):
        return "NOT met"
    return "not decided"


def rows_of(rounds: list[Row], workload: str, client: str) -> dict[int, Row]:
    return {r["round"]: r for r in rounds if r["workload"] == workload and r["client"] == client}


def per_round(rounds: list[Row], workload: str, client: str, value: Callable[[Row], float | None]) -> list[float]:
    found = (value(row) for row in rows_of(rounds, workload, client).values())
    return [v for v in found if v is not None and math.isfinite(v)]


def paired_ratios(
    rounds: list[Row],
    top: tuple[str, str],
    bottom: tuple[str, str],
    value: Callable[[Row], float | None],
    bottom_value: Callable[[Row], float | None] | None = None,
) -> list[float]:
    """value(top) / value(bottom) for each round in which both (workload, client) pairs ran."""
    tops, bottoms = rows_of(rounds, *top), rows_of(rounds, *bottom)
    ratios = []
    for number in sorted(tops.keys() & bottoms.keys()):
        a, b = value(tops[number]), (bottom_value or value)(bottoms[number])
        if a is not None and b and math.isfinite(a) and math.isfinite(b):
            ratios.append(a / b)
    return ratios


def get(key: str) -> Callable[[Row], float | None]:
    def value(row: Row) -> float | None:
        found = row.get(key)
        return float(found) if isinstance(found, (int, float)) else None

    return value


def cpu_cores(part: str) -> Callable[[Row], float | None]:
    """Cores used in the drain window by part: server, client, busiest_client_process or other."""

    def value(row: Row) -> float | None:
        cpu = row.get("cpu") or {}
        seconds, wall = cpu.get(f"{part}_cpu_s"), cpu.get("wall_s")
        return seconds / wall if isinstance(seconds, (int, float)) and wall else None

    return value


def aggregate(rounds: list[Row]) -> list[Row]:
    """One row per workload and client: medians with min-max over rounds; latency percentiles pooled over the
    paced tasks of every round; the highest memory; the bound each round's CPU showed."""
    rows: list[Row] = []
    for workload, client in dict.fromkeys((r["workload"], r["client"]) for r in rounds):
        mine = list(rows_of(rounds, workload, client).values())
        row: Row = {
            "workload": workload,
            "client": client,
            "settings": mine[0]["settings"],
            "rounds": len(mine),
            "drained": all(r.get("drained") for r in mine),
            "backlog": sum(r.get("backlog", 0) for r in mine),
            "backlog_completed": sum(r.get("backlog_completed", 0) for r in mine),
            "retried": sum(r.get("retried", 0) for r in mine),
            "server_failed": sum(r.get("server_failed", 0) for r in mine),
            "stalls": sum(r.get("stalls", 0) for r in mine),
            "stalled_s": sum(r.get("stalled_s", 0) for r in mine),
            "processes": max(r.get("processes", 0) for r in mine),
            "peak_rss_by_process_mb": max((r.get("peak_rss_by_process_mb", []) for r in mine), key=sum),
            "bounds": sorted({(r.get("cpu") or {}).get("bound", "n/a") for r in mine}),
        }
        for key in (
            "tasks_per_s",
            "first_poll_s",
            "peak_rss_bytes",
            "idle_rss_bytes",
            "load_rss_bytes",
            "pss_bytes",
            "server_report_ms",
        ):
            row[key] = Spread.of(per_round(rounds, workload, client, get(key)))
        for part in ("server", "client", "busiest_client_process", "other"):
            row[f"{part}_cores"] = Spread.of(per_round(rounds, workload, client, cpu_cores(part)))
        to_start = [v for r in mine for v in r.get("paced_start_ms", [])]
        to_end = [v for r in mine for v in r.get("paced_complete_ms", [])]
        row["paced_completed"] = len(to_start)
        for q in (50, 95, 99):
            row[f"start_p{q}_ms"] = percentile(to_start, q)
            row[f"complete_p{q}_ms"] = percentile(to_end, q)
        rows.append(row)
    return rows


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
