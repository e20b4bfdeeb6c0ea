# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The `worker` command: start the worker processes, keep them up, drain them on SIGTERM/SIGINT.

This process never imports conductor-python, prometheus_client or httpx, and never starts a thread:
it stays small, and it can fork (`child_process.py`). Each worker process (`worker_process.py`) runs
the SDK's runners for its share of the workers; the first one also works out the plan
(`process_plan.py`) and reports it, and this process starts the others. The first one serves
Prometheus `/metrics` too, summed over the files every worker process writes.
- At start, the first worker process, once it has loaded the SDK, checks that the server answers as
  Conductor and accepts the credentials, before it polls or the others start; when the check fails,
  the command exits 1 with the check's one line. (Run there, the check costs two requests: the SDK
  has loaded httpx already, where a check of its own would load it again beside the SDK, on the same
  cores, and delay the first poll.)
- A worker process that dies after it started serving is restarted, after 1, 2, 4, 8, 16 s; the
  count starts again once one has run for a minute. When that does not keep it up, or a process
  fails before it serves, everything is stopped and the command exits 1 with one line saying why.
- SIGTERM or SIGINT: every worker process drains (takes no new task, finishes and reports the
  ones it holds) within WORKER_SHUTDOWN_GRACE_SECONDS. Exit 0 only if all of them drained. A second
  one stops at once: the worker processes abandon their running tasks, name them, and the command
  exits 1.
"""

import logging
import os
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, Settings, load_process_layout
from ..project import Project
from . import run_state, tracing
from .child_process import ChildProcess, ForkError, fork
from .process_protocol import ABANDONED, BAD_CONFIG, DRAINED, NO_SERVER, read_report
from .stop_request import StopRequest

RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
STABLE_SECONDS = 60.0
# After the grace, the time worker processes get to name what they abandoned and exit.
EXIT_MARGIN_SECONDS = 5.0

log = logging.getLogger(__name__)


def _describe(status: int) -> str:
    return f"signal {signal.Signals(-status).name}" if status < 0 else f"status {status}"


@dataclass
class Slot:
    """One worker process, and its restarts."""

    index: int
    tasks: list[str] | None  # None: not planned yet (the first process plans)
    process: ChildProcess | None = None
    reports: int | None = None  # the pipe it writes its JSON lines to
    unread: bytes = b""
    started_at: float = 0.0
    serving: bool = False
    failures: int = 0
    restart_at: float | None = None

    @property
    def label(self) -> str:
        return f"worker process {self.index}" + (f" ({', '.join(self.tasks)})" if self.tasks else "")

    def restart_delay(self, exited_at: float) -> float | None:
        """The wait before restarting it, now that it exited at `exited_at` (time.monotonic()); None once
        RESTART_DELAYS are used up. A process that ran STABLE_SECONDS or longer starts the count again."""
        if exited_at - self.started_at >= STABLE_SECONDS:
            self.failures = 0
        if self.failures >= len(RESTART_DELAYS):
            return None
        self.failures += 1
        return RESTART_DELAYS[self.failures - 1]


@dataclass
class Supervisor:
    settings: Settings
    project: Project
    metrics_dir: Path | None
    slots: list[Slot] = field(default_factory=lambda: [Slot(0, None)])

    def _own_fds(self) -> list[int]:
        """The pipes this process holds, which no child must keep open."""
        return [slot.reports for slot in self.slots if slot.reports is not None]

    def start(self, slot: Slot) -> None:
        reports_read, reports_write = os.pipe()
        settings, project, tasks, metrics_dir = self.settings, self.project, slot.tasks, self.metrics_dir

        def host(stop: StopRequest) -> int:
            from . import worker_process

            return worker_process.run(stop, settings, project, slot.index, tasks, reports_write, metrics_dir)

        try:
            slot.process = fork(host, close=[*self._own_fds(), reports_read])
        except ForkError:
            os.close(reports_read)
            raise
        finally:
            os.close(reports_write)
        # Not blocking: a process the worker process started itself may hold the pipe open after it exited.
        os.set_blocking(reports_read, False)
        slot.reports, slot.unread = reports_read, b""
        slot.started_at, slot.serving, slot.restart_at = time.monotonic(), False, None

    def _read_reports(self, slot: Slot, exited: bool = False) -> None:
        """Handle the JSON lines `slot` wrote; once it has `exited`, all it wrote, then close the pipe."""
        while slot.reports is not None:
            try:
                chunk: bytes | None = os.read(slot.reports, 65536)
            except BlockingIOError:
                chunk = None  # nothing more for now; after the exit, nothing more from it at all
            if chunk:
                *lines, slot.unread = (slot.unread + chunk).split(b"\n")
                for line in lines:
                    self._handle(slot, read_report(line))
                continue
            if chunk is None and not exited:
                return
            os.close(slot.reports)
            slot.reports = None

    def _handle(self, slot: Slot, message: dict[str, Any]) -> None:
        if "plan" in message:
            plan: list[list[str]] = message["plan"]
            slot.tasks = plan[0]
            self.slots += [Slot(number, tasks) for number, tasks in enumerate(plan) if number > 0]
            run_state.record_plan(self.settings.health_dir, plan)
            names = sorted({task for tasks in plan for task in tasks})
            log.info("serving tasks %s in %d worker process(es)", ", ".join(names), len(plan))
            for later in self.slots[1:]:
                self.start(later)
        if "serving" in message:
            slot.serving = True

    def watch(self, stop: StopRequest) -> int | None:
        """Keep the processes up until a stop is requested (None) or they cannot be kept up (an exit status)."""
        while not stop.requested:
            by_pipe = {slot.reports: slot for slot in self.slots if slot.reports is not None}
            readable, _, _ = select.select(list(by_pipe), [], [], 0.1)
            for pipe in readable:
                self._read_reports(by_pipe[pipe])
            now = time.monotonic()
            for slot in self.slots:
                if slot.process is None:
                    if slot.restart_at is not None and now >= slot.restart_at:
                        self.start(slot)
                    continue
                status = slot.process.poll()
                if status is None:
                    continue
                self._read_reports(slot, exited=True)
                slot.process = None
                if status == BAD_CONFIG:
                    return BAD_CONFIG  # the process printed the one line; the command exits 2 too
                if not slot.serving:
                    if status != NO_SERVER:  # a failed server check printed its one line, and that is all
                        log.error("%s failed to start (%s; its error is above)", slot.label, _describe(status))
                    return 1
                delay = slot.restart_delay(now)
                if delay is None:
                    log.error(
                        "%s exited %d times in a row, last with %s: giving up",
                        slot.label,
                        slot.failures + 1,
                        _describe(status),
                    )
                    return 1
                slot.restart_at = now + delay
                log.warning("%s exited with %s: restarting in %.0fs", slot.label, _describe(status), delay)
        return None

    def drain(self, stop: StopRequest) -> bool:
        """SIGTERM to every worker process; True if each of them drained and exited 0. A second signal
        to this command (`stop.hurried`) makes them abandon their running tasks at once (SIGUSR1)."""
        running = [slot for slot in self.slots if slot.process is not None]
        for slot in running:
            assert slot.process is not None
            slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds + EXIT_MARGIN_SECONDS
        hurried = False
        while time.monotonic() < deadline and any(slot.process.poll() is None for slot in running if slot.process):
            if stop.hurried and not hurried:
                hurried = True
                log.warning("received a second signal: stopping at once, abandoning the running tasks")
                for slot in running:
                    assert slot.process is not None
                    slot.process.send_signal(signal.SIGUSR1)
            time.sleep(0.02)
        clean = True
        for slot in running:
            assert slot.process is not None
            status = slot.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            if status is None:
                status = slot.process.kill()
                log.error("%s did not stop after the grace: killed", slot.label)
            if status == ABANDONED:
                log.error("%s abandoned running tasks (named above)", slot.label)
            elif status > 0 and slot.serving:  # one that never served printed why itself
                log.error("%s exited with %s while draining", slot.label, _describe(status))
            clean = clean and status == DRAINED
        return clean


def serve(settings: Settings, project: Project) -> int:
    """Run until SIGTERM/SIGINT: 0 after a clean drain, 1 if the workers cannot be kept up or did not
    drain, 2 on a configuration error."""
    stop = StopRequest(hurry_on_second_signal=True)
    stop.install()  # first, so a signal at any point ends in a drain

    # Everything that can fail comes before the health directory is touched: a second start that
    # fails leaves a running worker's state alone.
    load_process_layout()
    owner = run_state.owner(settings.health_dir)
    if owner is not None:
        raise ConfigError(
            f"WORKER_HEALTH_DIR {settings.health_dir} belongs to a running worker (pid {owner}); "
            "stop it, or give this one its own WORKER_HEALTH_DIR"
        )
    no_traces = tracing.unavailable(os.environ)
    if no_traces is not None:
        log.warning("%s", no_traces)
    try:
        metrics_dir = run_state.claim(settings.health_dir)
    except run_state.HealthDirInUse as error:
        raise ConfigError(
            f"WORKER_HEALTH_DIR {settings.health_dir} belongs to a running worker (pid {error})"
        ) from None
    try:
        supervisor = Supervisor(settings, project, metrics_dir if settings.metrics_port is not None else None)
        if stop.signal is not None:  # stopped while starting: nothing was started, nothing to drain
            log.info("received %s before any worker process started: stopped", stop.signal.name)
            return 0
        try:
            supervisor.start(supervisor.slots[0])
            failed = supervisor.watch(stop)
        except ForkError as error:
            log.error("%s", error)
            failed = 1
        if failed is None and stop.signal is not None:
            log.info(
                "received %s: draining the running tasks (grace %.0fs); a second one stops at once",
                stop.signal.name,
                settings.shutdown_grace_seconds,
            )
        clean = supervisor.drain(stop)
    finally:
        run_state.release(settings.health_dir)
    if failed is not None:
        return failed
    if not clean:
        log.error("stopped, but not every task finished and reported: see the lines above")
        return 1
    log.info("stopped: every task taken was finished and reported")
    return 0
