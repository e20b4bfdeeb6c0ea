"""The `worker` command: start the worker processes, keep them up, drain them on SIGTERM/SIGINT.

This process never imports conductor-python (nor prometheus_client): it stays small and starts fast.
Each worker process (`worker_host.py`) runs the SDK's runners for its share of the workers; the first
one also works out the plan (`process_plan.py`) and reports it, and this process starts the others.
The first one serves Prometheus `/metrics` too, summed over the files every worker process writes.
- A worker process that dies after it started serving is restarted, after 1, 2, 4, 8, 16 s; the
  count starts again once one has run for a minute. When that does not keep it up, or a process
  fails before it serves, everything is stopped and the command exits 1 with one line saying why.
- SIGTERM or SIGINT: every worker process drains (takes no new task, finishes and reports the
  ones it holds) within WORKER_SHUTDOWN_GRACE_SECONDS. Exit 0 only if all of them drained.
"""

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import health
from .config import ConfigError, Settings, load_process_layout, unknown_task_variables
from .stop_request import StopRequest

RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
STABLE_SECONDS = 60.0
# After the grace, the time worker processes get to name what they abandoned and exit.
EXIT_MARGIN_SECONDS = 5.0
HOST_BAD_CONFIG = 2
HOST_ABANDONED = 3
HOST_NO_SERVER = 4

log = logging.getLogger(__name__)


def _describe(status: int) -> str:
    return f"signal {signal.Signals(-status).name}" if status < 0 else f"status {status}"


@dataclass
class Slot:
    """One worker process, and its restarts."""

    index: int
    tasks: list[str] | None  # None: not planned yet (the first process plans)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    serving: bool = False
    failures: int = 0
    restart_at: float | None = None

    @property
    def label(self) -> str:
        return f"worker process {self.index}" + (f" ({', '.join(self.tasks)})" if self.tasks else "")


class Supervisor:
    def __init__(self, settings: Settings, metrics_dir: Path | None) -> None:
        self.settings = settings
        self.metrics_dir = metrics_dir
        self.messages: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.slots = [Slot(0, None)]

    def start(self, slot: Slot) -> None:
        read, write = os.pipe()
        command = [sys.executable, "-m", f"{__package__}.worker_host", "--slot", str(slot.index)]
        command += ["--report-fd", str(write)]
        if slot.tasks is not None:
            command += ["--tasks", ",".join(slot.tasks)]
        if self.metrics_dir is not None:
            command += ["--metrics-dir", str(self.metrics_dir)]
        env = {**os.environ}
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        slot.process = subprocess.Popen(command, pass_fds=(write,), env=env)  # noqa: S603
        os.close(write)
        slot.started_at, slot.serving, slot.restart_at = time.monotonic(), False, None
        threading.Thread(target=self._read_reports, args=(slot.index, read), daemon=True).start()

    def _read_reports(self, index: int, fd: int) -> None:
        with os.fdopen(fd) as pipe:
            for line in pipe:
                self.messages.put((index, json.loads(line)))

    def _handle(self, index: int, message: dict[str, Any]) -> None:
        slot = self.slots[index]
        if "plan" in message:
            plan: list[list[str]] = message["plan"]
            slot.tasks = plan[0]
            self.slots += [Slot(number, tasks) for number, tasks in enumerate(plan) if number > 0]
            health.record_plan(self.settings.health_dir, plan)
            names = sorted({task for tasks in plan for task in tasks})
            log.info("serving tasks %s in %d worker process(es)", ", ".join(names), len(plan))
            for line in unknown_task_variables(os.environ, names):
                log.warning("%s", line)  # a misspelled task name in a CONDUCTOR_WORKER_<TASK>_* variable
            for later in self.slots[1:]:
                self.start(later)
        if "serving" in message:
            slot.serving = True

    def watch(self, stop: StopRequest) -> int | None:
        """Keep the processes up until a stop is requested (None) or they cannot be kept up (an exit status)."""
        while not stop.wait(0.1):
            while not self.messages.empty():
                self._handle(*self.messages.get())
            now = time.monotonic()
            for slot in self.slots:
                if slot.process is None:
                    if slot.restart_at is not None and now >= slot.restart_at:
                        self.start(slot)
                    continue
                status = slot.process.poll()
                if status is None:
                    continue
                slot.process = None
                if status == HOST_BAD_CONFIG:
                    return HOST_BAD_CONFIG  # the process printed the one line
                if status == HOST_NO_SERVER:
                    return 1  # the same: the server did not answer or refused the credentials
                if not slot.serving:
                    log.error("%s failed to start (%s; its error is above)", slot.label, _describe(status))
                    return 1
                if now - slot.started_at >= STABLE_SECONDS:
                    slot.failures = 0
                if slot.failures >= len(RESTART_DELAYS):
                    log.error(
                        "%s exited %d times in a row, last with %s: giving up",
                        slot.label,
                        slot.failures + 1,
                        _describe(status),
                    )
                    return 1
                delay = RESTART_DELAYS[slot.failures]
                slot.failures += 1
                slot.restart_at = now + delay
                log.warning("%s exited with %s: restarting in %.0fs", slot.label, _describe(status), delay)
        return None

    def drain(self) -> bool:
        """SIGTERM to every worker process; True if each of them drained and exited 0."""
        running = [slot for slot in self.slots if slot.process is not None]
        for slot in running:
            assert slot.process is not None
            slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds + EXIT_MARGIN_SECONDS
        clean = True
        for slot in running:
            assert slot.process is not None
            try:
                status = slot.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                slot.process.kill()
                status = slot.process.wait()
                log.error("%s did not stop after the grace: killed", slot.label)
            if status == -signal.SIGTERM and not slot.serving:
                # Stopped before it had set up its handlers (they come before anything is polled):
                # it held no task, so there was nothing to drain.
                status = 0
            if status == HOST_ABANDONED:
                log.error("%s abandoned running tasks at the end of the grace (named above)", slot.label)
            elif status != 0 and status > 0:
                log.error("%s exited with %s while draining", slot.label, _describe(status))
            clean = clean and status == 0
        return clean


def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT: 0 after a clean drain, 1 if the workers cannot be kept up or did not
    drain, 2 on a configuration error."""
    stop = StopRequest()
    stop.install()  # first, so a signal at any point ends in a drain

    # Everything that can fail comes before the health directory is touched: a second start that
    # fails leaves a running worker's state alone.
    load_process_layout()
    owner = health.owner(settings.health_dir)
    if owner is not None:
        raise ConfigError(
            f"WORKER_HEALTH_DIR {settings.health_dir} belongs to a running worker (pid {owner}); "
            "stop it, or give this one its own WORKER_HEALTH_DIR"
        )
    try:
        metrics_dir = health.claim(settings.health_dir)
    except health.HealthDirInUse as error:
        raise ConfigError(
            f"WORKER_HEALTH_DIR {settings.health_dir} belongs to a running worker (pid {error})"
        ) from None
    try:
        supervisor = Supervisor(settings, metrics_dir if settings.metrics_port is not None else None)
        if stop.signal is not None:  # stopped while starting: nothing was started, nothing to drain
            log.info("received %s before any worker process started: stopped", stop.signal.name)
            return 0
        supervisor.start(supervisor.slots[0])
        failed = supervisor.watch(stop)
        if failed is None and stop.signal is not None:
            log.info("received %s: draining (grace %.0fs)", stop.signal.name, settings.shutdown_grace_seconds)
        clean = supervisor.drain()
    finally:
        health.release(settings.health_dir)
    if failed is not None:
        return failed
    if not clean:
        log.error("stopped, but not every task finished and reported: see the lines above")
        return 1
    log.info("stopped: every task taken was finished and reported")
    return 0
