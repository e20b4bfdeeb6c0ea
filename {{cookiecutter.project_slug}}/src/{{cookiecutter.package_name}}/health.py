"""Worker liveness on disk: each worker process touches a file whenever it polls or finishes a task.

The SDK's metrics `/health` answers OK as long as the metrics process lives, whatever the workers
do, so container and Kubernetes probes run `python -m <package> health`, which reads these files.
"""

import json
import os
import time
from pathlib import Path

SERVED_FILE = "served.json"


def _beat_path(health_dir: Path, task_name: str) -> Path:
    return health_dir / f"{task_name}.beat"


def reset(health_dir: Path) -> None:
    """Forget an earlier run's files: unhealthy until this run's workers poll."""
    health_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*health_dir.glob("*.beat"), health_dir / SERVED_FILE]:
        stale.unlink(missing_ok=True)


def mark_served(health_dir: Path, task_names: list[str]) -> None:
    """Written by the parent at start: which tasks this container is expected to keep polling."""
    reset(health_dir)
    (health_dir / SERVED_FILE).write_text(json.dumps({"pid": os.getpid(), "tasks": task_names}))


def beat(health_dir: Path, task_name: str) -> None:
    path = _beat_path(health_dir, task_name)
    path.touch()
    os.utime(path)


def problems(health_dir: Path, max_age_seconds: float, now: float | None = None) -> list[str]:
    """Why the worker is unhealthy; an empty list means every served task polled recently."""
    try:
        served = json.loads((health_dir / SERVED_FILE).read_text())
    except (OSError, ValueError):
        return [f"no worker has started here ({health_dir / SERVED_FILE} is missing)"]
    now = time.time() if now is None else now
    found = []
    for name in served.get("tasks", []):
        try:
            age = now - _beat_path(health_dir, name).stat().st_mtime
        except OSError:
            found.append(f"{name}: has not polled yet")
            continue
        if age > max_age_seconds:
            found.append(f"{name}: last poll {age:.0f}s ago (limit {max_age_seconds:.0f}s)")
    return found
