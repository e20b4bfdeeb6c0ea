"""The server's time per reported result, from access log lines as the bench's server writes them."""

from pathlib import Path

import pytest

from bench.run import time_in_server
from bench.server_time import attach, mean_ms, reports

LINES = [
    "1796531710000 1796531710040 POST /api/tasks/update-v2 200",  # 40 ms, in the drain
    "1796531710100 1796531710120 POST /api/tasks 200",  # 20 ms: a v1 report, in the drain
    "1796531710050 1796531710150 GET /api/tasks/poll/batch/noop 200",  # a poll: not a result
    "1796531710060 1796531710070 POST /api/workflow 200",  # a start: not a result
    "1796531712000 1796531712500 POST /api/tasks/update-v2 200",  # after the drain
    "not a line of the log",
]


def test_only_result_reports_are_read_as_begin_and_end_seconds() -> None:
    assert reports(LINES) == [
        (1796531710.0, 1796531710.04),
        (1796531710.1, 1796531710.12),
        (1796531712.0, 1796531712.5),
    ]


def test_the_mean_counts_the_reports_that_began_within_the_window() -> None:
    found = reports(LINES)
    assert mean_ms(found, 1796531709.9, 1796531711.0) == pytest.approx(30.0)
    assert mean_ms(found, 1796531711.0, 1796531711.5) is None


def test_each_drain_gets_its_own_mean_and_rows_without_a_window_get_none(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("\n".join(LINES) + "\n")
    rows: list[dict[str, object]] = [
        {"drain_start": 1796531709.9, "drain_end": 1796531711.0},
        {"drain_start": 1796531711.9, "drain_end": 1796531712.1},
        {"workload": "import"},
    ]
    assert attach(rows, log) == 2
    assert rows[0]["server_report_ms"] == pytest.approx(30.0)
    assert rows[1]["server_report_ms"] == pytest.approx(500.0)
    assert "server_report_ms" not in rows[2]


def test_a_log_in_another_format_measures_nothing_and_the_run_says_why(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text('127.0.0.1 - - [06/Dec/2026:05:00:00 +0000] "POST /api/tasks/update-v2 HTTP/1.1" 200 5\n')
    rows: list[dict[str, object]] = [{"drain_start": 1796531709.9, "drain_end": 1796531711.0}]
    assert attach(rows, log) == 0
    assert rows[0]["server_report_ms"] is None
    (why,) = time_in_server(rows, log).values()
    assert "no result reports" in why
    assert "no access log" in time_in_server(rows, None)["time in the server per result"]
    assert str(tmp_path / "gone.log") in time_in_server(rows, tmp_path / "gone.log")["time in the server per result"]
