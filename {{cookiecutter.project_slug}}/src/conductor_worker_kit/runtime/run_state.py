# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Worker liveness on disk, for `python -m <package> health` (container and Kubernetes probes).

The `worker` command records its pid and which worker process serves which tasks in `run.json`,
and removes it when it stops; each worker process touches a file per task whenever it polls (a
failed poll counts: the process is alive and retrying) or finishes a task. Healthy means: the
`worker` command runs, and every task of every worker process polled within the max age.
The SDK's own metrics `/health` answers OK whatever the workers do, so it is not used.
"""

import json
import os
import shutil
import time
from pathlib import Path

RUN_FILE = "run.json"
METRICS_DIR = "metrics"


class HealthDirInUse(Exception):
    """Another running `worker` owns this health directory."""


def _beat_path(health_dir: Path, slot: int, task_name: str) -> Path:
    return health_dir / f"{slot}.{task_name}.beat"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_run(health_dir: Path) -> dict[str, object] | None:
    try:
        run = json.loads((health_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return run if isinstance(run, dict) else None


def owner(health_dir: Path) -> int | None:
    """The pid of another running `worker` that owns this directory, if any."""
    run = _read_run(health_dir)
    pid = run.get("pid") if run else None
    if isinstance(pid, int) and pid != os.getpid() and _alive(pid):
        return pid
    return None


def served_here(health_dir: Path) -> list[str] | None:
    """The tasks a `worker` running on this machine (with this health directory) serves; None if none runs."""
    run = _read_run(health_dir)
    pid = run.get("pid") if run else None
    if run is None or not isinstance(pid, int) or not _alive(pid):
        return None
    processes = run.get("processes")
    return sorted({task for tasks in processes for task in tasks}) if isinstance(processes, list) else []


def claim(health_dir: Path) -> Path:
    """At start, after every check that can fail: forget an earlier run's files; unhealthy until polls.

    Returns the directory where worker processes write their metrics.
    """
    pid = owner(health_dir)
    if pid is not None:
        raise HealthDirInUse(pid)
    health_dir.mkdir(parents=True, exist_ok=True)
    _clear(health_dir)
    (health_dir / RUN_FILE).write_text(json.dumps({"pid": os.getpid(), "processes": None}))
    metrics = health_dir / METRICS_DIR
    metrics.mkdir()
    return metrics


def record_plan(health_dir: Path, processes: list[list[str]]) -> None:
    """Which tasks each worker process serves: from now on each of them must keep polling."""
    path = health_dir / RUN_FILE
    path.with_suffix(".tmp").write_text(json.dumps({"pid": os.getpid(), "processes": processes}))
    path.with_suffix(".tmp").replace(path)


def release(health_dir: Path) -> None:
    """At exit: unhealthy at once, and nothing left behind."""
    if _read_run(health_dir) is not None and owner(health_dir) is None:
        _clear(health_dir)


def _clear(health_dir: Path) -> None:
    for stale in [*health_dir.glob("*.beat"), health_dir / RUN_FILE]:
        stale.unlink(missing_ok=True)
    shutil.rmtree(health_dir / METRICS_DIR, ignore_errors=True)


def beat(health_dir: Path, slot: int, task_name: str) -> None:
    _beat_path(health_dir, slot, task_name).touch()  # creates it, or sets its mtime to now


def problems(health_dir: Path, max_age_seconds: float, now: float | None = None) -> list[str]:
    """Why the worker is unhealthy; an empty list means every worker process polled recently."""
    run = _read_run(health_dir)
    if run is None:
        return [f"no worker is running here ({health_dir / RUN_FILE} is missing)"]
    pid = run.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return [f"the worker (pid {pid}) is not running"]
    processes = run.get("processes")
    if not isinstance(processes, list):
        return ["starting: no worker process has reported yet"]
    now = time.time() if now is None else now
    found = []
    for slot, tasks in enumerate(processes):
        for name in tasks:
            try:
                age = now - _beat_path(health_dir, slot, name).stat().st_mtime
            except OSError:
                found.append(f"process {slot}, {name}: has not polled yet")
                continue
            if age > max_age_seconds:
                found.append(f"process {slot}, {name}: last poll {age:.0f}s ago (limit {max_age_seconds:.0f}s)")
    return found
