"""The benchmark's report: targets with their spread, the results table, the limit's grid, where the CPU went,
and a chart."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import Row, Spread, get, paired_ratios, per_round, rows_of, verdict

MB = 1024 * 1024
IDLE_SETUPS = {
    "adaptive": "the generated default",
    "held": "the previous default: every poll held",
    "busy": "unheld every 10 ms, as an adaptive worker polls while busy",
}


@dataclass(frozen=True)
class Check:
    """One target: its measure over rounds, the verdict, and what the numbers were (or why there are none)."""

    name: str
    target: str
    spread: Spread | None
    verdict: str
    detail: str
    unit: str = "x"
    digits: int = 2

    def value(self) -> str:
        return "n/a" if self.spread is None else self.spread.text(self.digits, self.unit)


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _spread(spread: Spread | None, digits: int = 0, scale: float = 1.0) -> str:
    if spread is None:
        return "n/a"
    if spread.n == 1:
        return _num(spread.median / scale, digits)
    low, high = _num(spread.low / scale, digits), _num(spread.high / scale, digits)
    return f"{_num(spread.median / scale, digits)} ({low}-{high})"


def _median(rounds: list[Row], workload: str, client: str, key: str) -> float | None:
    spread = Spread.of(per_round(rounds, workload, client, get(key)))
    return None if spread is None else spread.median


def _check(
    name: str,
    target: float,
    higher_is_better: bool,
    values: list[float],
    detail: str,
    missing: str,
    unit: str = "x",
    digits: int = 2,
) -> Check:
    spread = Spread.of(values)
    sign = ">=" if higher_is_better else "<="
    found = "not measured" if spread is None else verdict(spread, target, higher_is_better)
    return Check(name, f"{sign} {target:g}{unit}", spread, found, detail if spread else missing, unit, digits)


def checks(rounds: list[Row], not_measured: dict[str, str]) -> list[Check]:
    """The targets of docs/benchmark.md, each from per-round values of this run."""

    def why(*workloads: str) -> str:
        reasons = [f"{w}: not measured, {not_measured[w]}" for w in workloads if w in not_measured]
        return "; ".join(reasons) or f"no round ran {' and '.join(workloads)} with every client it needs"

    def tps(workload: str, client: str) -> str:
        return _num(_median(rounds, workload, client, "tasks_per_s"), 1)

    def mb(workload: str, key: str) -> str:
        value = _median(rounds, workload, "ours", key)
        return _num(None if value is None else value / MB)

    tasks_per_s = get("tasks_per_s")
    import_s = _median(rounds, "import", "sdk", "import_s")
    first_task_s = _median(rounds, "noop", "ours", "first_poll_s")
    sdk_first_task_s = _median(rounds, "import", "sdk", "sdk_first_task_s")
    cpu_per_task = Spread.of(per_round(rounds, "noop", "ours", client_cpu_per_task))
    cpu_ms = _num(None if cpu_per_task is None else cpu_per_task.median * 1000, 2)
    async_processes = max((r.get("processes", 0) for r in rows_of(rounds, "async", "ours").values()), default=0)
    return [
        _check(
            "no-op tasks/s, ours / limit",
            0.95,
            True,
            paired_ratios(rounds, ("noop", "ours"), ("noop", "limit"), tasks_per_s),
            f"medians {tps('noop', 'ours')} vs {tps('noop', 'limit')} tasks/s",
            why("noop"),
        ),
        _check(
            "I/O-bound (50 ms) tasks/s, sync worker / limit",
            0.95,
            True,
            paired_ratios(rounds, ("io", "ours"), ("io", "limit"), tasks_per_s),
            f"medians {tps('io', 'ours')} vs {tps('io', 'limit')} tasks/s",
            why("io"),
        ),
        _check(
            "I/O-bound (200 ms) tasks/s, async worker / limit, in one worker process",
            0.95,
            True,
            paired_ratios(rounds, ("async", "ours"), ("async", "limit"), tasks_per_s),
            f"medians {tps('async', 'ours')} vs {tps('async', 'limit')} tasks/s; "
            f"{async_processes} processes in the tree (the `worker` command included)",
            why("async"),
        ),
        _check(
            "p50 scheduled → started, ours / limit (paced load)",
            2.0,
            False,
            paired_ratios(rounds, ("noop", "ours"), ("noop", "limit"), get("start_p50_ms")),
            f"medians {_num(_median(rounds, 'noop', 'ours', 'start_p50_ms'))} vs "
            f"{_num(_median(rounds, 'noop', 'limit', 'start_p50_ms'))} ms; the previous default (every poll "
            f"held) {_num(_median(rounds, 'noop', 'ours-held', 'start_p50_ms'))} ms",
            why("noop"),
        ),
        _check(
            "idle polls/s, adaptive default / every poll held",
            1.2,
            False,
            paired_ratios(rounds, ("idle", "adaptive"), ("idle", "held"), get("polls_per_s")),
            f"medians {_num(_median(rounds, 'idle', 'adaptive', 'polls_per_s'), 1)} vs "
            f"{_num(_median(rounds, 'idle', 'held', 'polls_per_s'), 1)} polls/s",
            why("idle"),
        ),
        _check(
            "idle worker CPU, adaptive default / every poll held",
            1.2,
            False,
            paired_ratios(rounds, ("idle", "adaptive"), ("idle", "held"), get("worker_cores")),
            f"medians {_percent(rounds, 'adaptive', 'worker_cores')} vs {_percent(rounds, 'held', 'worker_cores')} "
            "% of a core",
            why("idle"),
        ),
        _check(
            "tree RSS, 10 task types vs 1, idle",
            1.5,
            False,
            paired_ratios(rounds, ("types10", "ours"), ("types1", "ours"), get("idle_rss_bytes")),
            f"medians {mb('types10', 'idle_rss_bytes')} vs {mb('types1', 'idle_rss_bytes')} MB",
            why("types10", "types1"),
        ),
        _check(
            "tree RSS, 10 task types vs 1, under load",
            1.5,
            False,
            paired_ratios(rounds, ("types10", "ours"), ("types1", "ours"), get("load_rss_bytes")),
            f"medians {mb('types10', 'load_rss_bytes')} vs {mb('types1', 'load_rss_bytes')} MB",
            why("types10", "types1"),
        ),
        _check(
            "start → first task picked up, as a multiple of one SDK import",
            1.3,
            False,
            paired_ratios(rounds, ("noop", "ours"), ("import", "sdk"), get("first_poll_s"), get("import_s")),
            f"medians {_num(first_task_s, 2)} s vs {_num(import_s, 2)} s "
            "(`import conductor.client.automator.task_handler` in a fresh interpreter); "
            f"the SDK alone (bench/sdk_start.py) took its first task in {_num(sdk_first_task_s, 2)} s",
            why("noop", "import"),
        ),
        _check(
            "peak tree RSS, one task type",
            80,
            False,
            [v / MB for v in per_round(rounds, "noop", "ours", get("peak_rss_bytes"))],
            "ours on the no-op workload, backlog and paced phases",
            why("noop"),
            unit=" MB",
            digits=0,
        ),
        _check(
            "no-op tasks/s, JSON logs / text logs (ours-json / ours)",
            0.9,
            True,
            paired_ratios(rounds, ("noop", "ours-json"), ("noop", "ours"), tasks_per_s),
            f"medians {tps('noop', 'ours-json')} vs {tps('noop', 'ours')} tasks/s",
            why("noop"),
        ),
        _check(
            "no-op tasks/s, traces on / off (ours-traced / ours)",
            0.9,
            True,
            paired_ratios(rounds, ("noop", "ours-traced"), ("noop", "ours"), tasks_per_s),
            f"medians {tps('noop', 'ours-traced')} vs {tps('noop', 'ours')} tasks/s; a span per task, sent in batches",
            why("noop"),
        ),
        _check(
            "no-op tasks/s a CPU-bound worker keeps with one JSON log line per task",
            0.9,
            True,
            cost_ratios(rounds, get("json_line_us")),
            f"{_num(_median(rounds, 'costs', 'kit', 'json_line_us'))} us of CPU per line "
            f"({_num(_median(rounds, 'costs', 'kit', 'text_line_us'))} us as text) against {cpu_ms} ms "
            "of worker CPU per no-op task (ours); bench/log_cost.py",
            why("noop"),
        ),
        _check(
            "no-op tasks/s a CPU-bound worker keeps with a span per task",
            0.9,
            True,
            cost_ratios(rounds, get("span_us")),
            f"{_num(_median(rounds, 'costs', 'kit', 'span_us'))} us of CPU per span against {cpu_ms} ms "
            "of worker CPU per no-op task (ours); bench/span_cost.py",
            why("noop"),
        ),
        _check(
            "I/O-bound (50 ms) tasks/s, ours / anchor (SDK defaults)",
            5.0,
            True,
            paired_ratios(rounds, ("io", "ours"), ("io", "anchor"), tasks_per_s),
            f"medians {tps('io', 'ours')} vs {tps('io', 'anchor')} tasks/s",
            why("io"),
        ),
    ]


def _percent(rounds: list[Row], setup: str, key: str) -> str:
    value = _median(rounds, "idle", setup, key)
    return _num(None if value is None else 100 * value, 1)


def client_cpu_per_task(row: Row) -> float | None:
    """The worker tree's CPU seconds per task in the drain window: less swayed by other load than tasks/s."""
    cpu, done = row.get("cpu"), row.get("backlog_completed")
    return cpu["client_cpu_s"] / done if cpu and done else None


def cost_ratios(rounds: list[Row], extra_us: Callable[[Row], float | None]) -> list[float]:
    """Per round, ours' worker CPU per no-op task over the same plus one more thing per task (`extra_us`, read
    from the round's costs row: bench/log_cost.py, span_cost.py, metrics_cost.py): the share of tasks/s a
    worker whose CPU is the bottleneck keeps."""
    costs, ours = rows_of(rounds, "costs", "kit"), rows_of(rounds, "noop", "ours")
    ratios = []
    for number in sorted(costs.keys() & ours.keys()):
        cpu, extra = client_cpu_per_task(ours[number]), extra_us(costs[number])
        if cpu and extra is not None:
            ratios.append(cpu / (cpu + extra / 1e6))
    return ratios


def legacy_metrics_extra_us(row: Row) -> float | None:
    """What the SDK's legacy metrics cost a task beyond its canonical ones (the kit's default), in us."""
    legacy, canonical = get("metrics_legacy_us")(row), get("metrics_canonical_us")(row)
    return None if legacy is None or canonical is None else legacy - canonical


def other_ratios(rounds: list[Row]) -> list[tuple[str, Spread | None]]:
    """Ratios without a target, for context."""
    pairs = [("noop", "ours", "anchor"), ("noop", "ours-held", "limit"), ("io", "anchor", "limit")]
    found = [
        (f"{w}: {a} / {b} tasks/s", Spread.of(paired_ratios(rounds, (w, a), (w, b), get("tasks_per_s"))))
        for w, a, b in pairs
    ]
    # The previous default (every poll held) against the latency target's 2x, and the idle cost's other parts.
    held = paired_ratios(rounds, ("noop", "ours-held"), ("noop", "limit"), get("start_p50_ms"))
    server = paired_ratios(rounds, ("idle", "adaptive"), ("idle", "held"), get("server_cores"))
    busy = paired_ratios(rounds, ("idle", "busy"), ("idle", "held"), get("polls_per_s"))
    costs = [
        (f"noop: {name} / ours worker CPU per task", paired_ratios(rounds, ("noop", name), ("noop", "ours"), cpu))
        for name, cpu in (("ours-json", client_cpu_per_task), ("ours-traced", client_cpu_per_task))
    ]
    # Start to first task: what the kit's own start adds to the SDK's, and what polling at all adds to the import.
    kit_start = paired_ratios(rounds, ("noop", "ours"), ("import", "sdk"), get("first_poll_s"), get("sdk_first_task_s"))
    sdk_start = paired_ratios(rounds, ("import", "sdk"), ("import", "sdk"), get("sdk_first_task_s"), get("import_s"))
    legacy_over_canonical = [
        legacy / canonical
        for row in rows_of(rounds, "costs", "kit").values()
        if (legacy := get("metrics_legacy_us")(row)) is not None and (canonical := get("metrics_canonical_us")(row))
    ]
    on_legacy_metrics = cost_ratios(rounds, legacy_metrics_extra_us)
    return [
        *found,
        *((name, Spread.of(values)) for name, values in costs),
        ("costs: the SDK's metrics, CPU per task, legacy / canonical (the default)", Spread.of(legacy_over_canonical)),
        ("noop: tasks/s a CPU-bound worker keeps on legacy metrics instead", Spread.of(on_legacy_metrics)),
        ("start → first task: ours / the SDK alone", Spread.of(kit_start)),
        ("start → first task: the SDK alone / one SDK import", Spread.of(sdk_start)),
        ("noop: ours-held / limit p50 scheduled → started", Spread.of(held)),
        ("idle: server CPU, adaptive / held", Spread.of(server)),
        ("idle: polls/s, busy (unheld every 10 ms) / held", Spread.of(busy)),
    ]


def limit_warnings(rounds: list[Row]) -> list[str]:
    """Rounds in which a worker drained faster than the limit: there, the limit was no ceiling."""
    warnings = []
    for workload in ("noop", "io", "async"):
        limits = rows_of(rounds, workload, "limit")
        for client in ("ours", "ours-held", "anchor"):
            for number, row in sorted(rows_of(rounds, workload, client).items()):
                mine, limit = row.get("tasks_per_s"), (limits.get(number) or {}).get("tasks_per_s")
                if isinstance(mine, float) and isinstance(limit, float) and mine > limit:
                    warnings.append(
                        f"{workload}, round {number}: {client} drained {mine:.1f} tasks/s, the limit {limit:.1f}; "
                        "the limit was no ceiling there (widen its grid, or read that round as noise)"
                    )
    return warnings


def targets_table(found: list[Check]) -> str:
    lines = [
        "| measure | target | median (min-max) over rounds | verdict | details |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for check in found:
        lines.append(f"| {check.name} | {check.target} | {check.value()} | **{check.verdict}** | {check.detail} |")
    return "\n".join(lines)


def results_table(results: list[Row]) -> str:
    lines = [
        "| workload | client | settings | rounds | tasks/s | sched→started p50 / p95 / p99 (ms) "
        "| sched→completed p50 / p95 / p99 (ms) | peak RSS (MB) | idle RSS (MB) | PSS (MB) | processes "
        "| start → first task (s) | retried | stalls left out (n / s) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if r["workload"] in ("import", "idle", "costs"):
            continue
        settings = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items())
        started = " / ".join(_num(r.get(f"start_p{q}_ms")) for q in (50, 95, 99))
        completed = " / ".join(_num(r.get(f"complete_p{q}_ms")) for q in (50, 95, 99))
        complete = r.get("drained", True) and r.get("backlog_completed") == r.get("backlog")
        failed = f", {r['server_failed']} failed by the server" if r.get("server_failed") else ""
        drained = "" if complete else f" (only {r.get('backlog_completed')}/{r.get('backlog')}{failed})"
        lines.append(
            f"| {r['workload']} | {r['client']} | {settings} | {r['rounds']} "
            f"| {_spread(r.get('tasks_per_s'), 1)}{drained} | {started} | {completed} "
            f"| {_spread(r.get('peak_rss_bytes'), 0, MB)} | {_spread(r.get('idle_rss_bytes'), 0, MB)} "
            f"| {_spread(r.get('pss_bytes'), 0, MB)} | {r.get('processes', 'n/a')} "
            f"| {_spread(r.get('first_poll_s'), 2)} | {r.get('retried', 0)} "
            f"| {r.get('stalls', 0)} / {_num(r.get('stalled_s', 0.0))} |"
        )
    return "\n".join(lines)


def grid_table(sweep: list[Row], chosen: dict[str, dict[str, int]]) -> str:
    lines = [
        "| workload | threads x batch | tasks in flight | tasks/s | of best | raw client (cores) | server (cores) "
        "| rest of machine (cores) | bound | ms in the server per result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for workload in dict.fromkeys(r["workload"] for r in sweep):
        mine = [r for r in sweep if r["workload"] == workload]
        best = max((r.get("tasks_per_s") or 0.0 for r in mine), default=0.0)
        for r in mine:
            s, cpu = r["settings"], r.get("cpu") or {}
            rate = r.get("tasks_per_s")
            share = f"{rate / best:.0%}" if rate and best else "n/a"
            mark = " **(limit)**" if chosen.get(workload) == s else ""
            wall = cpu.get("wall_s") or 0

            def cores(key: str, cpu: dict[str, Any] = cpu, wall: float = wall) -> str:
                value = cpu.get(key)
                return _num(value / wall, 2) if isinstance(value, (int, float)) and wall else "n/a"

            lines.append(
                f"| {workload} | {s['threads']} x {s['batch']}{mark} | {s['threads'] * s['batch']} "
                f"| {_num(rate, 1)} | {share} | {cores('client_cpu_s')} | {cores('server_cpu_s')} "
                f"| {cores('other_cpu_s')} | {cpu.get('bound', 'n/a')} | {_num(r.get('server_report_ms'), 1)} |"
            )
    return "\n".join(lines)


def cpu_table(results: list[Row]) -> str:
    lines = [
        "| workload | client | server (cores) | client tree (cores) | busiest client process (cores) "
        "| rest of machine (cores) | bound (each round) | ms in the server per result |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        if r["workload"] in ("import", "idle", "costs"):
            continue
        lines.append(
            f"| {r['workload']} | {r['client']} | {_spread(r.get('server_cores'), 2)} "
            f"| {_spread(r.get('client_cores'), 2)} | {_spread(r.get('busiest_client_process_cores'), 2)} "
            f"| {_spread(r.get('other_cores'), 2)} | {'; '.join(r.get('bounds', []))} "
            f"| {_spread(r.get('server_report_ms'), 1)} |"
        )
    return "\n".join(lines)


def idle_table(rounds: list[Row]) -> str:
    """Each polling setup of an idle worker: polls/s and CPU, medians with min-max over rounds."""
    lines = [
        "| setup | polls/s | worker tree CPU (% of a core) | server JVM CPU (% of a core) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for setup in dict.fromkeys(r["client"] for r in rounds if r["workload"] == "idle"):
        spreads = [Spread.of(per_round(rounds, "idle", setup, get(key))) for key in ("polls_per_s", "worker_cores")]
        server = Spread.of(per_round(rounds, "idle", setup, get("server_cores")))
        described = IDLE_SETUPS.get(setup, setup)
        lines.append(
            f"| {setup} ({described}) | {_spread(spreads[0], 1)} | {_spread(spreads[1], 1, 0.01)} "
            f"| {_spread(server, 1, 0.01)} |"
        )
    return "\n".join(lines)


def markdown(
    results: list[Row],
    rounds: list[Row],
    sweep: list[Row],
    chosen: dict[str, dict[str, int]],
    not_measured: dict[str, str],
    meta: dict[str, Any],
    chart_name: str,
) -> str:
    parts = [
        "# Benchmark results",
        "",
        *(f"- {key}: {value}" for key, value in meta.items()),
        "",
        "## Targets",
        "",
        "Each ratio is taken within a round (same server, minutes apart), then summarized over rounds. "
        "A verdict is *met* only when every round meets the target, *NOT met* when none does, "
        "*not decided* when the rounds straddle it.",
        "",
        targets_table(checks(rounds, not_measured)),
        "",
        "Other ratios (no target):",
        "",
        *(f"- {name}: {'n/a' if s is None else s.text(2, 'x')}" for name, s in other_ratios(rounds)),
        "",
    ]
    warnings = limit_warnings(rounds)
    if warnings:
        parts += ["**The limit was beaten:**", "", *(f"- {line}" for line in warnings), ""]
    if not_measured:
        parts += ["Not measured:", "", *(f"- {key}: {reason}" for key, reason in not_measured.items()), ""]
    parts += [
        "## Results",
        "",
        "Medians over rounds with min-max in brackets; latency percentiles pool the paced tasks of every round.",
        "",
        results_table(results),
        "",
        "## Idle cost",
        "",
        "A worker with nothing queued, after a settling pause: polls counted on its `/metrics`, CPU from the "
        "sampler; medians with min-max over rounds.",
        "",
        idle_table(rounds),
        "",
        "## The limit: threads x batch grid",
        "",
        "Each grid point drained the same backlog once; the best became the limit client of every round.",
        "",
        grid_table(sweep, chosen),
        "",
        "## Where the CPU went (drain window)",
        "",
        cpu_table(results),
        "",
        f"![benchmark chart]({chart_name})",
        "",
    ]
    return "\n".join(parts)


def summary_text(rounds: list[Row], not_measured: dict[str, str]) -> str:
    lines = [f"{c.verdict}: {c.name} {c.target}: {c.value()} ({c.detail})" for c in checks(rounds, not_measured)]
    lines += [f"{name}: {'n/a' if s is None else s.text(2, 'x')}" for name, s in other_ratios(rounds)]
    lines += [f"warning: {line}" for line in limit_warnings(rounds)]
    return "\n".join(lines)


def chart(results: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r["workload"] in ("noop", "io", "async")]
    workloads = list(dict.fromkeys(r["workload"] for r in shown))
    clients = list(dict.fromkeys(r["client"] for r in shown))
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / max(1, len(clients))

    def median(key: str, scale: float = 1.0) -> Any:
        return lambda r: (r.get(key).median / scale) if r.get(key) else 0.0

    panels = [
        ("tasks/s (backlog drain, median over rounds)", median("tasks_per_s"), True),
        ("p50 scheduled→started (ms, paced)", lambda r: r.get("start_p50_ms", 0.0), False),
        ("peak RSS of process tree (MB, median)", median("peak_rss_bytes", MB), False),
    ]
    for axis, (title, value, log_scale) in zip(axes, panels, strict=True):
        for n, client in enumerate(clients):
            heights = []
            for workload in workloads:
                found = next((r for r in shown if (r["workload"], r["client"]) == (workload, client)), None)
                number = value(found) if found else 0.0
                heights.append(0.0 if number is None or math.isnan(number) else number)
            positions = [i + n * width for i in range(len(workloads))]
            bars = axis.bar(positions, heights, width, label=client)
            axis.bar_label(bars, fmt="%.0f", fontsize=7)
        axis.set_xticks([i + width * (len(clients) - 1) / 2 for i in range(len(workloads))], workloads)
        axis.set_title(title)
        if log_scale:
            axis.set_yscale("log")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
