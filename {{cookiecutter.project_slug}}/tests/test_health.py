"""The heartbeat files behind `python -m {{ cookiecutter.package_name }} health`."""

import os
import time
from pathlib import Path

from {{ cookiecutter.package_name }} import health


def test_healthy_when_every_served_task_polled_recently(tmp_path: Path) -> None:
    health.mark_served(tmp_path, ["a", "b"])
    health.beat(tmp_path, "a")
    health.beat(tmp_path, "b")
    assert health.problems(tmp_path, max_age_seconds=60) == []


def test_unhealthy_before_a_start_before_a_poll_and_after_silence(tmp_path: Path) -> None:
    assert "no worker has started" in health.problems(tmp_path, 60)[0]
    health.mark_served(tmp_path, ["a", "b"])
    health.beat(tmp_path, "a")
    assert health.problems(tmp_path, 60) == ["b: has not polled yet"]
    old = time.time() - 120
    os.utime(tmp_path / "a.beat", (old, old))
    assert health.problems(tmp_path, 60)[0].startswith("a: last poll 120s ago")


def test_a_restart_forgets_old_heartbeats(tmp_path: Path) -> None:
    health.mark_served(tmp_path, ["a"])
    health.beat(tmp_path, "a")
    health.mark_served(tmp_path, ["a"])
    assert health.problems(tmp_path, 60) == ["a: has not polled yet"]


def test_reset_makes_an_earlier_run_unhealthy(tmp_path: Path) -> None:
    health.mark_served(tmp_path, ["a"])
    health.beat(tmp_path, "a")
    health.reset(tmp_path)
    assert "no worker has started" in health.problems(tmp_path, 60)[0]
