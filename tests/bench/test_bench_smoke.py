"""A tiny run of the benchmark (`python -m bench`) against the session's real server: the report files
appear and the numbers are sane. Performance targets are not asserted here; docs/benchmark.md has them."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.conductor_server import ConductorServer

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]
CLIENTS = {"limit", "ours", "anchor"}


def test_a_short_benchmark_run_writes_a_sane_report(conductor: ConductorServer, tmp_path: Path) -> None:
    out = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--server-url",
        conductor.api_url,
        "--out",
        str(out),
        "--rounds",
        "1",
        "--backlog-noop",
        "12",
        "--backlog-io",
        "12",
        "--paced",
        "6",
        "--rate",
        "10",
        "--phase-timeout",
        "120",
    ]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    markdown = (out / "benchmark.md").read_text()
    assert "| workload | client |" in markdown and "ours/limit" in markdown and "ours/anchor" in markdown
    assert (out / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ours/limit" in run.stdout and "ours/anchor" in run.stdout

    rows = json.loads((out / "results.json").read_text())["results"]
    assert {(r["workload"], r["client"]) for r in rows} == {(w, c) for w in ("noop", "io") for c in CLIENTS}
    for row in rows:
        where = f"{row['workload']}/{row['client']}"
        assert row["drained"] and row["backlog_completed"] == row["backlog"] == 12, where
        assert row["completed"] == 6, where
        assert 0 < row["tasks_per_s"] < 100_000 and math.isfinite(row["tasks_per_s"]), where
        assert 0 <= row["start_p50_ms"] <= row["start_p95_ms"] <= row["start_p99_ms"], where
        assert row["start_p50_ms"] <= row["complete_p50_ms"] < 120_000, where
        assert 0 < row["first_poll_s"] < 120, where
        assert 5 * 2**20 < row["peak_rss_bytes"] < 4 * 2**30 and row["processes"] >= 1, where
        if row["workload"] == "io":
            assert row["complete_p50_ms"] - row["start_p50_ms"] >= 40, f"{where}: the 50 ms task ran too fast"
