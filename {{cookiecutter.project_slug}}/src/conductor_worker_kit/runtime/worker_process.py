# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""One worker process: the SDK's runner for each worker it serves, each on a thread of its own (all
`async def` workers share one event loop), and the drain on SIGTERM/SIGINT.

Forked by the `worker` command (supervisor.py), which runs `run`: it is not a command of its own.
It writes one JSON line per event to a pipe the command reads: the plan, that it serves. The first
process, on the command's first start, checks the server once it has loaded the SDK, before it plans
or polls (exit NO_SERVER with one line when that fails); the others start only after that.

Process 0 also serves Prometheus `/metrics` on WORKER_METRICS_PORT, summed over the metrics files of
every worker process: prometheus_client is loaded here anyway (the SDK records its metrics with it),
so the `worker` command itself does not load it.

Exit status: 0 drained, 1 crashed or a result could not be reported, 2 bad configuration, 3 running
tasks were abandoned (named in the log): the grace ran out, or SIGUSR1 said to stop at once, 4 the
server check failed.
"""

import asyncio
import gc
import logging
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..config import ConfigError, Settings, check_task_variables, load_process_layout
from ..project import Project
from . import run_state, tracing
from .poll_pace import prometheus_poll_counter
from .process_protocol import ABANDONED, BAD_CONFIG, DRAINED, FAILED, NO_SERVER, report
from .stop_request import StopRequest
from .task_ledger import HeldTask, TaskLedger

BEAT_EVERY_SECONDS = 1.0
# The start warning looks up task definitions once the first poll is answered (it would delay it), or
# after this long if no poll is answered (say, the server is slow): it warns all the same.
FIRST_POLL_WAIT_SECONDS = 10.0
# Results the server would refuse to take once the task timed out; IN_PROGRESS only asks to be polled again.
FINAL_STATUSES = {"COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR"}

log = logging.getLogger(__name__)


class NothingToServe(Exception):
    """WORKERS is empty."""


class HostEvents:
    """SDK event listener: heartbeats for `health`, and results the SDK gave up reporting."""

    def __init__(self, settings: Settings, slot: int, ledger: TaskLedger) -> None:
        self.health_dir = settings.health_dir
        self.slot = slot
        self.ledger = ledger
        # A busy worker finishes hundreds of tasks a second: one file write per task type and second is enough.
        self.beat_every = min(BEAT_EVERY_SECONDS, settings.health_max_age_seconds / 4)
        self.last_beat: dict[str, float] = {}

    def on_poll_completed(self, event: Any) -> None:
        now = time.monotonic()
        if now - self.last_beat.get(event.task_type, -math.inf) >= self.beat_every:
            self.last_beat[event.task_type] = now
            run_state.beat(self.health_dir, self.slot, event.task_type)

    # A failed poll shows the loop alive and retrying; a busy worker polls less but finishes tasks.
    on_poll_failure = on_task_execution_completed = on_task_execution_failure = on_poll_completed

    def on_task_update_failure(self, event: Any) -> None:
        self.ledger.lose(event.task_id)


class WorkerHost:
    def __init__(self, settings: Settings, slot: int, workers: list[Any], metrics_dir: str | None) -> None:
        from . import sdk_adapter as sdk  # slow: the SDK, after the signal handlers are in place
        from .log_format import use_task_fields

        use_task_fields(sdk.task_fields)
        self.ledger = TaskLedger()
        self.settings = settings
        self.workers = workers
        configuration = sdk.configuration(settings)
        metrics = sdk.metrics_settings(metrics_dir, settings.canonical_metrics) if metrics_dir else None
        self.metrics_dir = metrics.metrics_directory if metrics else None
        listeners = [HostEvents(settings, slot, self.ledger), *tracing.listeners()]
        pacing = sdk.Pacing(
            settings.busy_seconds, settings.busy_poll_interval_ms, prometheus_poll_counter() if metrics else None
        )
        self.sync_runners: list[Any] = []
        self.async_runners: list[Any] = []
        for worker in workers:
            runners = self.async_runners if sdk.is_async(worker) else self.sync_runners
            runners.append(sdk.build_runner(worker, configuration, metrics, listeners, self.ledger, pacing))
        self.loop = asyncio.new_event_loop()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for runner in self.sync_runners:
            name = f"runner-{runner.worker.get_task_definition_name()}"
            self.threads.append(threading.Thread(target=runner.run, name=name, daemon=True))
        if self.async_runners:
            self.threads.append(threading.Thread(target=self._run_async, name="runner-async", daemon=True))
        for thread in self.threads:
            thread.start()

    def _run_async(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.gather(*(runner.run() for runner in self.async_runners)))

    def check_late_results(self) -> threading.Thread | None:
        """Look up, on a thread of its own, the results reported after their task's responseTimeoutSeconds."""
        overdue = [(task, status) for task, status in self.ledger.overdue() if status in FINAL_STATUSES]
        if not overdue:
            return None
        thread = threading.Thread(target=warn_dropped_results, args=(self.settings, overdue), daemon=True)
        thread.start()
        return thread

    def stopped_runners(self) -> list[str]:
        return [thread.name for thread in self.threads if not thread.is_alive()]

    def drain(self, grace_seconds: float, stop: StopRequest | None = None) -> int:
        """Take nothing more, wait until every task held is reported, then stop the runners. Past the
        grace, or at once when `stop` is hurried, the running tasks are abandoned and named."""
        deadline = time.monotonic() + grace_seconds
        # A result lost before the drain was logged by the SDK when it happened; the exit status is the drain's.
        lost_before = len(self.ledger.lost())
        self.ledger.start_draining()
        for worker in self.workers:
            worker.paused = True
        log.info(
            "draining %d task(s) in flight (grace %.0fs): %s",
            len(self.ledger.held()),
            grace_seconds,
            ", ".join(map(str, self.ledger.held())) or "none",
        )
        while not self.ledger.idle():
            hurried = stop is not None and stop.hurried
            if hurried or time.monotonic() >= deadline:
                held = self.ledger.held()
                log.error(
                    "%s: abandoning %d running task(s): %s; the server gives each to a worker again after its "
                    "responseTimeoutSeconds",
                    "stopping at once" if hurried else f"grace of {grace_seconds:.0f}s exceeded",
                    len(held),
                    ", ".join(map(str, held)),
                )
                return ABANDONED
            time.sleep(0.02)
        late = self.check_late_results()
        if late is not None:
            late.join(timeout=max(1.0, deadline - time.monotonic()))
        for runner in self.sync_runners:
            runner.stop()
        for runner in self.async_runners:
            asyncio.run_coroutine_threadsafe(runner.stop(), self.loop)
        for thread in self.threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        lost = self.ledger.lost()[lost_before:]
        if lost:
            log.error(
                "the server did not accept the result of %d task(s) after the SDK's retries: %s",
                len(lost),
                ", ".join(map(str, lost)),
            )
            return FAILED
        return DRAINED


def serve_metrics(port: int, directory: str) -> None:
    """Prometheus /metrics on `port`, summed over the files every worker process writes in `directory`."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    try:
        start_http_server(port, registry=registry)
    except OSError as error:
        raise ConfigError(f"WORKER_METRICS_PORT {port} cannot be served: {error.strerror}") from None


def _my_workers(project: Project, tasks: list[str] | None) -> tuple[list[Any], list[list[str]] | None]:
    """The workers this process serves (`tasks`), and the plan for all processes if this one makes it."""
    from .process_plan import plan_processes
    from .sdk_adapter import served_workers

    workers = {worker.get_task_definition_name(): worker for worker in served_workers(project)}
    if not workers:
        raise NothingToServe(f"no worker listed in {project.package}.workers.WORKERS: nothing to serve")
    if tasks is not None:
        return [workers[name] for name in tasks], None
    check_task_variables(os.environ, list(workers))  # the first process checks for all of them
    plan = plan_processes(list(workers), load_process_layout())
    return [workers[name] for name in plan[0]], plan


def warn_dropped_results(settings: Settings, overdue: list[tuple[HeldTask, str]]) -> None:
    """A WARNING for each late result the server no longer wanted: it had already timed the task out (or
    given it to another worker), so the result was dropped with no error, and a retry may run the task again."""
    from ..conductor_client import ConductorClient, ServerError

    try:
        with ConductorClient(settings) as server:
            for task, reported in overdue:
                response = server.request("GET", f"/tasks/{task.task_id}", allow=(403, 404))
                found = response.json() if response.status_code == 200 and response.content else {}
                status = found.get("status") if isinstance(found, dict) else None
                if status and status != reported:
                    log.warning(
                        "%s: its %s result came after %.0fs, past its responseTimeoutSeconds (%.0fs), and the "
                        "server had already ended it as %s: the result was dropped and a retry may run it again. "
                        "Raise responseTimeoutSeconds, turn on lease extension, or return in_progress() "
                        "(README, Long-running tasks)",
                        task,
                        reported,
                        time.monotonic() - task.taken_at,
                        task.response_timeout_seconds or 0,
                        status,
                    )
    except (ServerError, ValueError) as error:
        log.debug("could not look up late results: %s", error)


def warn_undefined_tasks(settings: Settings, task_names: list[str], ledger: TaskLedger | None = None) -> None:
    """A WARNING for each served task the server has no definition of: it is polled all the same, but no
    workflow can schedule it until `register` runs. Only a hint: an error here (a key that may not read
    metadata too) is left to the runners. With `ledger`, it waits for the first poll, which it must not delay."""
    if ledger is not None:
        ledger.wait_for_first_poll(FIRST_POLL_WAIT_SECONDS)
    from ..conductor_client import ConductorClient, ServerError

    try:
        with ConductorClient(settings) as server:
            for name in task_names:
                if server.task_definition(name) is None:
                    log.warning("task %s has no definition on the server: run `register` (it is polled anyway)", name)
    except ServerError as error:
        log.debug("could not look up the task definitions: %s", error)


def server_refused(settings: Settings, stop: StopRequest) -> str | None:
    """The one line saying why CONDUCTOR_SERVER_URL is not a Conductor API that takes these credentials;
    None when it is, or when a stop came first. The check runs on a thread of its own so that a stop is not
    kept waiting by a server that does not answer (up to the client's timeout per request)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..conductor_client import ServerError, check_server

    pool = ThreadPoolExecutor(1, thread_name_prefix="server-check")
    checked = pool.submit(check_server, settings)
    pool.shutdown(wait=False)  # on a stop, the process exits without waiting for it
    while not stop.requested:
        try:
            checked.result(timeout=0.05)  # returns as soon as the check ends
        except TimeoutError:
            continue
        except ServerError as error:
            return str(error)
        return None
    return None


def run(
    stop: StopRequest,
    settings: Settings,
    project: Project,
    slot: int,
    tasks: list[str] | None,
    report_fd: int,
    metrics_dir: Path | None,
) -> int:
    """The worker process, forked by the `worker` command (supervisor.py); returns its exit status.

    `tasks`: the tasks to serve; None for the first process, which plans and serves the first share.
    """
    # No cyclic garbage collection until the runners run: loading the SDK makes little garbage, and each
    # collection would walk every object loaded so far, for nothing (docs/sizing.md).
    gc.disable()
    # Where prometheus_client writes, read when it is imported; the SDK's collectors move it to their own
    # folder (metrics_directory) as the runners are made, before the first value is written.
    if metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    report_pipe = os.fdopen(report_fd, "w")
    parent = os.getppid()
    try:
        workers, plan = _my_workers(project, tasks)
    except (ConfigError, NothingToServe) as error:
        if stop.requested:  # the command is stopping: it says why
            return DRAINED
        if isinstance(error, ConfigError):
            print(f"configuration error: {error}", file=sys.stderr)
            return BAD_CONFIG
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    if plan is not None:  # the first start of the first process: once per `worker` command
        refused = server_refused(settings, stop)
        if refused is not None:
            print(f"error: {refused}", file=sys.stderr)
            return NO_SERVER
    if stop.requested:  # stopped while loading or checking: nothing taken, nothing to drain
        return DRAINED
    if plan is not None:
        report(report_pipe, plan=plan)
    tracing.start(project.package)
    host = WorkerHost(settings, slot, workers, str(metrics_dir) if metrics_dir else None)
    if slot == 0 and host.metrics_dir is not None and settings.metrics_port is not None:
        try:
            serve_metrics(settings.metrics_port, host.metrics_dir)
        except ConfigError as error:
            if tasks is None:  # the first start: a configuration error, as any other
                print(f"configuration error: {error}", file=sys.stderr)
                return BAD_CONFIG
            # A restart: the other processes are serving; losing /metrics is better than stopping them.
            log.error("%s: /metrics is not served until the worker restarts", error)
    # What is loaded by now lives as long as the process: collections no longer walk it.
    gc.freeze()
    host.start()
    gc.enable()
    names = [worker.get_task_definition_name() for worker in workers]
    report(report_pipe, serving=names)
    log.info("process %d serves %s", slot, ", ".join(names))
    if plan is not None:  # the first start of the first process: once per `worker` command
        every_task = [task for tasks in plan for task in tasks]
        threading.Thread(target=warn_undefined_tasks, args=(settings, every_task, host.ledger), daemon=True).start()
    while not stop.wait(0.2):
        host.check_late_results()
        if os.getppid() != parent:
            log.warning("the worker command is gone: draining")
            stop.request()
        stopped = host.stopped_runners()
        if stopped:
            log.error("%s stopped unexpectedly (the error is above): exiting to be restarted", ", ".join(stopped))
            tracing.flush()
            return FAILED
    status = host.drain(settings.shutdown_grace_seconds, stop)
    tracing.flush()
    return status
