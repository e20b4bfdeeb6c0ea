"""How long the server took over each result a client reported, from the server's own access log.

A drain's rate on this server is set mostly by how long each result report (`POST /tasks/update-v2`,
or `POST /tasks`) takes inside the server: a client with N tasks in flight completes at most
N / (task time + report time + its own time per task). The time starts once the server has read the
request's headers, so a body sent late by the client counts too. Tomcat writes one line per request
(`harness.conductor_server.ConductorServer(access_log=True)`): begin and end in epoch milliseconds,
method, path, status.
"""

import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPORT_PATHS = ("/api/tasks/update-v2", "/api/tasks")


def reports(lines: Iterable[str]) -> list[tuple[float, float]]:
    """(begin, end) in epoch seconds of every result report in these access log lines."""
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or fields[2] != "POST" or fields[3] not in REPORT_PATHS:
            continue
        try:
            found.append((int(fields[0]) / 1000, int(fields[1]) / 1000))
        except ValueError:
            continue
    return found


def mean_ms(found: list[tuple[float, float]], start: float, end: float) -> float | None:
    """The mean time in the server of the reports that began within [start, end], in ms; None if none did."""
    inside = [(done - began) * 1000 for began, done in found if start <= began <= end]
    return statistics.mean(inside) if inside else None


def attach(rows: list[dict[str, Any]], access_log: Path) -> int:
    """Add `server_report_ms` to every row that has a drain window (drain_start, drain_end); returns how
    many got a value (none: the log is not in this format, or was not flushed)."""
    found = reports(access_log.read_text(errors="replace").splitlines())
    measured = 0
    for row in rows:
        if row.get("drain_start") and row.get("drain_end"):
            row["server_report_ms"] = mean_ms(found, row["drain_start"], row["drain_end"])
            measured += row["server_report_ms"] is not None
    return measured
