"""The run record and heartbeat files behind `python -m <package> health`."""

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from conductor_worker_kit.config import Settings
from conductor_worker_kit.runtime import run_state as health
from conductor_worker_kit.runtime.task_ledger import TaskLedger
from conductor_worker_kit.runtime.worker_process import HostEvents


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


def test_a_busy_worker_writes_a_task_types_heartbeat_at_most_once_a_second(tmp_path: Path) -> None:
    events = HostEvents(replace(Settings(), health_dir=tmp_path), 0, TaskLedger())
    finished = SimpleNamespace(task_type="a")
    events.on_task_execution_completed(finished)
    beat = tmp_path / "0.a.beat"
    os.utime(beat, (1, 1))
    for _ in range(100):  # tasks finished within the same second: no write
        events.on_task_execution_completed(finished)
    assert beat.stat().st_mtime == 1
    events.on_poll_completed(SimpleNamespace(task_type="b"))  # each type has its own heartbeat
    assert (tmp_path / "0.b.beat").exists()
    events.last_beat["a"] -= events.beat_every  # a second later
    events.on_poll_completed(finished)
    assert beat.stat().st_mtime > 1


def test_heartbeats_come_often_enough_for_a_short_max_age(tmp_path: Path) -> None:
    settings = replace(Settings(), health_dir=tmp_path, health_max_age_seconds=2)
    assert HostEvents(settings, 0, TaskLedger()).beat_every == 0.5
