"""The run record and heartbeat files behind `python -m {{ cookiecutter.package_name }} health`."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import health


def test_healthy_when_every_process_polled_every_task_recently(tmp_path: Path) -> None:
    health.claim(tmp_path)
    health.record_plan(tmp_path, [["a", "b"], ["a", "b"]])
    for slot in (0, 1):
        health.beat(tmp_path, slot, "a")
        health.beat(tmp_path, slot, "b")
    assert health.problems(tmp_path, max_age_seconds=60) == []


def test_unhealthy_before_a_start_while_starting_before_a_poll_and_after_silence(tmp_path: Path) -> None:
    assert "no worker is running here" in health.problems(tmp_path, 60)[0]
    health.claim(tmp_path)
    assert health.problems(tmp_path, 60) == ["starting: no worker process has reported yet"]
    health.record_plan(tmp_path, [["a", "b"]])
    health.beat(tmp_path, 0, "a")
    assert health.problems(tmp_path, 60) == ["process 0, b: has not polled yet"]
    health.beat(tmp_path, 0, "b")
    old = time.time() - 120
    os.utime(tmp_path / "0.a.beat", (old, old))
    assert health.problems(tmp_path, 60)[0].startswith("process 0, a: last poll 120s ago")


def test_a_new_start_forgets_old_heartbeats_and_metrics(tmp_path: Path) -> None:
    metrics = health.claim(tmp_path)
    (metrics / "counter_1.db").write_bytes(b"x")
    health.record_plan(tmp_path, [["a"]])
    health.beat(tmp_path, 0, "a")
    health.release(tmp_path)
    assert list(tmp_path.iterdir()) == []
    health.claim(tmp_path)
    health.record_plan(tmp_path, [["a"]])
    assert health.problems(tmp_path, 60) == ["process 0, a: has not polled yet"]


def test_a_stopped_worker_is_unhealthy_at_once(tmp_path: Path) -> None:
    health.claim(tmp_path)
    health.record_plan(tmp_path, [["a"]])
    health.beat(tmp_path, 0, "a")
    health.release(tmp_path)
    assert "no worker is running here" in health.problems(tmp_path, 60)[0]


def test_a_killed_worker_is_unhealthy_at_once(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    (tmp_path / health.RUN_FILE).write_text(json.dumps({"pid": pid, "processes": [["a"]]}))
    health.beat(tmp_path, 0, "a")
    assert health.problems(tmp_path, 60) == [f"the worker (pid {pid}) is not running"]


def test_a_directory_owned_by_a_running_worker_is_refused_and_left_alone(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            (tmp_path / health.RUN_FILE).write_text(json.dumps({"pid": other.pid, "processes": [["a"]]}))
            health.beat(tmp_path, 0, "a")
            assert health.owner(tmp_path) == other.pid
            with pytest.raises(health.HealthDirInUse):
                health.claim(tmp_path)
            health.release(tmp_path)
            assert health.problems(tmp_path, 60) == []
        finally:
            other.kill()
