"""The `worker` command: run every worker under the SDK's TaskHandler, then drain on SIGTERM/SIGINT.

Process model (conductor-python 2.0): one spawned process per task, supervised and restarted by
TaskHandler. The SDK installs no SIGTERM handler, and a worker process killed mid-task abandons the
task until the server's responseTimeoutSeconds. So on SIGTERM or SIGINT this module:
  1. stops the SDK's supervisor, so stopping processes are not restarted;
  2. sends SIGTERM to every worker process at once; each one stops polling, finishes and reports
     the tasks it holds (including any a poll in flight still delivers), then exits
     (see `_drain_this_process`);
  3. waits up to WORKER_SHUTDOWN_GRACE_SECONDS, kills what is left, and stops the SDK's helpers.
"""

import gc
import logging
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from . import health
from .config import ConfigError, Settings
from .server import ConductorServer

log = logging.getLogger(__name__)


def _drain_this_process(signum: int, frame: FrameType | None) -> None:
    """SIGTERM inside a worker process: stop taking tasks, finish and report the ones held, exit."""
    from conductor.client.automator.task_runner import TaskRunner

    for runner in (obj for obj in gc.get_objects() if isinstance(obj, TaskRunner)):
        # Paused, the runner polls no more; a poll already in flight still hands its tasks to
        # threads that run them. With update-v2 the server answers each result with the next task;
        # the v1 update does not, so nothing more is taken.
        runner.worker.paused = True
        runner._use_update_v2 = False
        threading.Thread(target=_stop_when_idle, args=(runner, time.time()), daemon=True).start()


def _stop_when_idle(runner: Any, paused_at: float) -> None:
    """Stop the runner's loop once no poll from before the pause can still deliver and no task runs.

    The loop records the end of every poll, paused ones too; two polls ended after the pause mean
    the one that may have been in flight has handed its tasks to the thread pool.
    """
    polls_after_pause, last_poll = 0, runner._last_poll_time
    while True:
        time.sleep(0.02)
        if runner._last_poll_time != last_poll:
            last_poll = runner._last_poll_time
            polls_after_pause += last_poll > paused_at
        busy = any(not future.done() for future in list(runner._running_tasks))
        if polls_after_pause >= 2 and not busy:
            runner.stop()
            return


class WorkerProcessHooks:
    """An SDK event listener, pickled into each worker process.

    Unpickling happens in the worker process before it polls, which is where the drain handler
    must be installed. Its poll and task events keep the heartbeat files fresh.
    """

    def __init__(self, health_dir: Path) -> None:
        self.health_dir = health_dir

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        signal.signal(signal.SIGTERM, _drain_this_process)

    def on_poll_completed(self, event: Any) -> None:
        health.beat(self.health_dir, event.task_type)

    # A task that ends proves the process alive as much as a poll does (a busy worker polls less).
    on_task_execution_completed = on_task_execution_failure = on_poll_completed


def _start_metrics(settings: Settings) -> Any:
    """Serve Prometheus /metrics from this process; return the SDK settings that make workers record.

    Worker processes write their counters to files in a fresh directory; this process, which
    otherwise only waits for a signal, sums them per scrape. The SDK would start one more process
    (~45 MB) to do the same.
    """
    if settings.metrics_port is None:
        return None
    from conductor.client.configuration.settings.metrics_settings import MetricsSettings
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    metrics = MetricsSettings(directory=tempfile.mkdtemp(prefix="conductor-metrics-"), clean_directory=True)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics.metrics_directory)  # type: ignore[no-untyped-call]
    try:
        start_http_server(settings.metrics_port, registry=registry)
    except OSError as error:
        raise ConfigError(f"WORKER_METRICS_PORT {settings.metrics_port} cannot be served: {error.strerror}") from None
    return metrics


def _drain(handler: Any, grace_seconds: float) -> None:
    handler._monitor_stop_event.set()  # no restarts while stopping (SDK internal, pinned version)
    processes = [process for process in handler.task_runner_processes if process.is_alive()]
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    late = [process for process in processes if process.is_alive()]
    for process in late:
        process.kill()
        process.join()
    if late:
        log.warning("%d worker process(es) still busy after %.0fs grace: killed", len(late), grace_seconds)
    handler.stop_processes()


def preflight(settings: Settings) -> None:
    """Fail at start, with one clear line, on what would otherwise only show as endless poll errors.

    Raises ServerError if the server does not answer at all or rejects the credentials. Once
    running, the SDK rides out server outages by itself with backoff.
    """
    with ConductorServer(settings) as server:
        server.health()
        server.token()


def _stop_idle_log_process(handler: Any) -> None:
    """End the log-relay process the SDK starts but never feeds: ~45 MB of memory for nothing.

    Worker processes log to stderr themselves; nothing in conductor-python 2.0 writes to its queue.
    A None on the queue is its signal to exit.
    """
    handler.queue.put(None)
    handler.logger_process.join(timeout=5)


def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; 0 after a clean drain, 1 if there is no worker to run."""
    stop = threading.Event()

    # Installed first, so a signal at any point ends in a drain; in this (parent) process only:
    # spawned worker processes do not inherit it.
    def request_stop(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info(
                "received %s: draining (grace %.0fs)", signal.Signals(signum).name, settings.shutdown_grace_seconds
            )
            stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    health.reset(settings.health_dir)
    preflight(settings)

    from conductor.client.automator.task_handler import TaskHandler  # slow: after the handlers

    from .registry import served_workers

    handler = TaskHandler(
        workers=served_workers(),
        configuration=settings.sdk_configuration(),
        metrics_settings=_start_metrics(settings),
        scan_for_annotated_workers=False,
        event_listeners=[WorkerProcessHooks(settings.health_dir)],
    )
    _stop_idle_log_process(handler)
    handler.metrics_provider_process = None  # served by _start_metrics instead
    names = sorted(worker.get_task_definition_name() for worker in handler.workers)
    if not names:
        log.error("no worker listed in %s.workers.WORKERS: nothing to serve", __package__)
        handler.stop_processes()
        return 1

    health.mark_served(settings.health_dir, names)
    log.info("serving tasks %s on %s", ", ".join(names), settings.server_url)
    handler.start_processes()
    try:
        while not stop.wait(timeout=1.0):
            pass
    finally:
        _drain(handler, settings.shutdown_grace_seconds)
    log.info("stopped")
    return 0
