"""The benchmark's markdown table, ratios, target check and chart."""

import math
from pathlib import Path
from typing import Any

MB = 1024 * 1024

# The targets the generated defaults are tuned for (docs/benchmark.md).
TARGET_NOOP_VS_LIMIT = 0.8
TARGET_IO_VS_ANCHOR = 5.0
TARGET_RSS_MB = 150
TARGET_FIRST_POLL_S = 3.0


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def find(results: list[dict[str, Any]], workload: str, client: str) -> dict[str, Any] | None:
    return next((r for r in results if r["workload"] == workload and r["client"] == client), None)


def ratio(results: list[dict[str, Any]], workload: str, top: str, bottom: str) -> float:
    a, b = find(results, workload, top), find(results, workload, bottom)
    if not a or not b or not b.get("tasks_per_s"):
        return float("nan")
    return float(a.get("tasks_per_s", float("nan"))) / float(b["tasks_per_s"])


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | client | settings | tasks/s | sched→started p50 / p95 / p99 (ms) "
        "| sched→completed p50 / p95 / p99 (ms) | peak RSS of tree (MB) | PSS of tree (MB) | processes "
        "| start → first poll best / worst (s) | stalls left out (n / s) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        settings = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items())
        started = " / ".join(_num(r.get(f"start_p{q}_ms")) for q in (50, 95, 99))
        completed = " / ".join(_num(r.get(f"complete_p{q}_ms")) for q in (50, 95, 99))
        drained = "" if r.get("drained", True) else f" (only {r.get('backlog_completed')}/{r.get('backlog')})"
        lines.append(
            f"| {r['workload']} | {r['client']} | {settings} | {_num(r.get('tasks_per_s'), 1)}{drained} "
            f"| {started} | {completed} | {_num(r.get('peak_rss_bytes', 0) / MB)} | {_num(r.get('pss_bytes', 0) / MB)} "
            f"| {r.get('processes', 'n/a')} "
            f"| {_num(r.get('first_poll_s'), 2)} / {_num(r.get('first_poll_worst_s', r.get('first_poll_s')), 2)} "
            f"| {r.get('stalls', 0)} / {_num(r.get('stalled_s', 0.0))} |"
        )
    return "\n".join(lines)


def checks(results: list[dict[str, Any]], poll_interval_ms: int) -> list[tuple[str, bool | None, str]]:
    """(target, met?, measured) for each target; met is None when the run did not measure it."""
    out: list[tuple[str, bool | None, str]] = []
    noop = ratio(results, "noop", "ours", "limit")
    out.append(
        (
            f"no-op: ours >= {TARGET_NOOP_VS_LIMIT}x limit",
            None if math.isnan(noop) else noop >= TARGET_NOOP_VS_LIMIT,
            f"{noop:.2f}x",
        )
    )
    io = ratio(results, "io", "ours", "anchor")
    out.append(
        (
            f"I/O: ours >= {TARGET_IO_VS_ANCHOR:g}x anchor",
            None if math.isnan(io) else io >= TARGET_IO_VS_ANCHOR,
            f"{io:.2f}x",
        )
    )
    for workload in ("noop", "io"):
        ours = find(results, workload, "ours")
        if not ours:
            continue
        p50 = ours.get("start_p50_ms", float("nan"))
        out.append(
            (
                f"{workload}: ours p50 sched→started <= poll interval ({poll_interval_ms} ms)",
                None if math.isnan(p50) else p50 <= poll_interval_ms,
                f"{p50:.0f} ms",
            )
        )
    ours = find(results, "noop", "ours")
    if ours:
        rss = ours.get("peak_rss_bytes", 0) / MB
        out.append(
            (
                f"ours: peak RSS of one worker's process tree <= {TARGET_RSS_MB} MB",
                rss <= TARGET_RSS_MB,
                f"{rss:.0f} MB (PSS {ours.get('pss_bytes', 0) / MB:.0f} MB)",
            )
        )
        first = ours.get("first_poll_s", float("nan"))
        out.append(
            (
                f"ours: start → first poll <= {TARGET_FIRST_POLL_S:g} s",
                None if math.isnan(first) else first <= TARGET_FIRST_POLL_S,
                f"{first:.2f} s",
            )
        )
    return out


def ratios_text(results: list[dict[str, Any]]) -> str:
    lines = []
    for workload in ("noop", "io"):
        for bottom in ("limit", "anchor"):
            value = ratio(results, workload, "ours", bottom)
            if not math.isnan(value):
                lines.append(f"{workload}: ours/{bottom} = {value:.2f}x")
    return "\n".join(lines)


def markdown(results: list[dict[str, Any]], meta: dict[str, Any], poll_interval_ms: int, chart_name: str) -> str:
    verdicts = checks(results, poll_interval_ms)
    mark = {True: "met", False: "NOT met", None: "not measured"}
    parts = [
        "# Benchmark results",
        "",
        *(f"- {key}: {value}" for key, value in meta.items()),
        "",
        table(results),
        "",
        "Ratios (tasks/s, same server, same run):",
        "",
        *(f"- {line}" for line in ratios_text(results).splitlines()),
        "",
        "Targets:",
        "",
        *(f"- {name}: **{mark[ok]}** ({measured})" for name, ok, measured in verdicts),
        "",
        f"![benchmark chart]({chart_name})",
        "",
    ]
    return "\n".join(parts)


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in ("noop", "io") if any(r["workload"] == w for r in results)]
    clients = list(dict.fromkeys(r["client"] for r in results))
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / max(1, len(clients))
    panels = [
        ("tasks/s (backlog drain)", lambda r: r.get("tasks_per_s", 0.0), True),
        ("p50 scheduled→started (ms, paced)", lambda r: r.get("start_p50_ms", 0.0), False),
        ("peak RSS of process tree (MB)", lambda r: r.get("peak_rss_bytes", 0) / MB, False),
    ]
    for axis, (title, value, log_scale) in zip(axes, panels, strict=True):
        for n, client in enumerate(clients):
            heights = []
            for workload in workloads:
                found = find(results, workload, client)
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
