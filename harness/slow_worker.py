"""Add workers to a baked project the way its README says, so tests have tasks in flight:
a slow sync worker, a slow `async def` worker, and any number of quick extra task types."""

from harness.baked_project import BakedProject
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow

SLOW_TASK = "slow_task"
SLOW_WORKFLOW = "slow_workflow"
SLOW_ASYNC_TASK = "slow_async_task"
SLOW_ASYNC_WORKFLOW = "slow_async_workflow"
MANY_WORKFLOW = "many_types_workflow"
ORPHANING_TASK = "orphaning_task"
ORPHANING_WORKFLOW = "orphaning_workflow"

SLOW_MODULE = '''"""Workers that take their time: they keep tasks in flight while tests stop things."""

import asyncio
import time

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="slow_task", thread_count=4, poll_interval_millis=100)
def slow_task(seconds: float = 1.0, n: int = 0) -> dict[str, object]:
    time.sleep(seconds)
    return {"n": n, "slept": seconds}


@worker_task(task_definition_name="slow_async_task", thread_count=50, poll_interval_millis=100)
async def slow_async_task(seconds: float = 1.0, n: int = 0) -> dict[str, object]:
    await asyncio.sleep(seconds)
    return {"n": n, "slept": seconds}
'''

# Task code that starts a process which outlives its parent: `sh` puts `sleep` in the background and exits,
# so the sleep is orphaned (re-parented to PID 1, or to the nearest subreaper) and becomes a zombie when it
# ends unless that process reaps it.
ORPHANING_MODULE = '''"""A worker whose task leaves an orphaned process behind."""

import socket
import subprocess

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="orphaning_task", thread_count=2, poll_interval_millis=100)
def orphaning_task(seconds: float = 1.0) -> dict[str, object]:
    started = subprocess.run(
        ["sh", "-c", f"sleep {seconds} >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True
    )
    return {"orphan": int(started.stdout), "host": socket.gethostname()}
'''

QUICK_WORKER = """

@worker_task(task_definition_name="{name}", thread_count=2, poll_interval_millis=100)
def {name}(n: int = 0) -> dict[str, object]:
    return {{"n": n, "by": "{name}"}}
"""


def _add_module(project: BakedProject, module: str, text: str, names: list[str]) -> None:
    """A module in `workers/`, each of its workers listed in WORKERS."""
    for name in names:
        project.add_worker(module, text, name)


def _task_definition(project: BakedProject, name: str, response_timeout_seconds: int, keys: list[str]) -> None:
    write_task_definition(project, name, retryCount=2, responseTimeoutSeconds=response_timeout_seconds, inputKeys=keys)


def _workflow(project: BakedProject, name: str, tasks: list[str], inputs: list[str]) -> None:
    write_workflow(project, name, {task: from_workflow_input(*inputs) for task in tasks}, inputs)


def add_orphaning_worker(project: BakedProject) -> None:
    """`orphaning_task`, with a one-task workflow: each task leaves a `sleep` orphaned for `seconds`."""
    _add_module(project, "orphaning", ORPHANING_MODULE, ["orphaning_task"])
    _task_definition(project, ORPHANING_TASK, 30, ["seconds"])
    _workflow(project, ORPHANING_WORKFLOW, [ORPHANING_TASK], ["seconds"])


def add_slow_worker(project: BakedProject, response_timeout_seconds: int = 30) -> None:
    """`slow_task` (sync, 4 threads) and `slow_async_task` (async def), each with a one-task workflow."""
    _add_module(project, "slow", SLOW_MODULE, ["slow_task", "slow_async_task"])
    for task, workflow in ((SLOW_TASK, SLOW_WORKFLOW), (SLOW_ASYNC_TASK, SLOW_ASYNC_WORKFLOW)):
        _task_definition(project, task, response_timeout_seconds, ["seconds", "n"])
        _workflow(project, workflow, [task], ["seconds", "n"])


def add_quick_workers(project: BakedProject, count: int) -> list[str]:
    """`count` more task types, all in one workflow that runs each of them once."""
    names = [f"quick_{index}" for index in range(count)]
    text = '"""Quick workers: many task types in one project."""\n\n'
    text += "from conductor.client.worker.worker_task import worker_task\n"
    text += "".join(QUICK_WORKER.format(name=name) for name in names)
    _add_module(project, "quick", text, names)
    for name in names:
        _task_definition(project, name, 30, ["n"])
    _workflow(project, MANY_WORKFLOW, names, ["n"])
    return names


CRASH_MODULE = '''"""A worker process that dies on its own when TEST_CRASH_EXIT_STATUS is set: for restart tests.

It dies once this process has polled (its heartbeat for crash_probe is newer than the process) and a
second has passed, so each death comes after the worker process reported that it serves: its first poll
goes out unheld, before the other task types' runners have all started.
"""

import os
import threading
import time
from pathlib import Path

from conductor.client.worker.worker_task import worker_task

LOADED_AT = time.time()


def _crash_after_first_poll() -> None:
    health_dir = Path(os.environ["WORKER_HEALTH_DIR"])
    while not any(beat.stat().st_mtime > LOADED_AT for beat in health_dir.glob("*.crash_probe.beat")):
        time.sleep(0.1)
    time.sleep(1.0)
    os._exit(int(os.environ["TEST_CRASH_EXIT_STATUS"]))


if os.environ.get("TEST_CRASH_EXIT_STATUS"):
    threading.Thread(target=_crash_after_first_poll, daemon=True).start()


@worker_task(task_definition_name="crash_probe", thread_count=1)
def crash_probe() -> dict[str, object]:
    return {}
'''


def add_crashing_worker(project: BakedProject) -> None:
    """`crash_probe`: its module ends the worker process after its first poll when TEST_CRASH_EXIT_STATUS is set."""
    _add_module(project, "crash", CRASH_MODULE, ["crash_probe"])
    _task_definition(project, "crash_probe", 30, [])
