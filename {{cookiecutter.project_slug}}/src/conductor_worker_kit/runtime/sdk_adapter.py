# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The worker runtime's one point of contact with conductor-python.

Every SDK name the runtime uses is imported here, and `tests/test_sdk_contract.py` checks each of
them, so an SDK upgrade that moves or changes one fails `make check` by name instead of silently
breaking the drain. Only public surfaces are used:
- `Configuration` and `AuthenticationSettings`, the client configuration (server URL, access key);
- `Worker` objects from `get_registered_workers()`, their `paused` flag and their `poll_interval` (ms,
  once the SDK has applied the CONDUCTOR_WORKER_* settings), which the runners read before every poll:
  each task type's pace (poll_pace.py) sets it;
- `TaskRunner` (exported) and `AsyncTaskRunner` (public class, but not exported at the top level:
  imported from its module), built with their public constructors;
- the runners' `task_client` / `async_task_client` attribute, through which every poll, every result
  and every next task handed out with a result passes: replaced by a counting subclass, which also shows
  each result to the listeners that have an `on_result` (traces: the SDK's events do not say whether a
  sync worker raised);
- the runners' `stop()`, after which `run()` shuts its executor down, waiting for running tasks;
- `TaskInProgress` (from `conductor.client.context.task_context`), what a worker returns for "not done
  yet": the kit's `in_progress()` builds it with checked, typed arguments.
- `get_task_context()` (same module), the running task, for the fields of log lines (`task_fields()`);
  `NonRetryableException`, a failure that is not retried, for a span's outcome.
- `LeaseManager.get_instance(check_interval=)`, the process's lease heartbeats: made before the runners
  take the SDK's default, which checks once a second for heartbeats due at 80 % of responseTimeoutSeconds,
  so one came up to a second late, after the server had timed out a task of a few seconds' timeout.
- `MetricsSettings(directory=)` and its `metrics_directory`; which collector it makes is the SDK's
  `WORKER_CANONICAL_METRICS` variable, read when it is made (`metrics_settings`).
- `Worker(task_type, function).execute(task)` with the `Task` model: one task run in this process
  (`execute_once`, for replays of captured tasks and the workflow tests).
- `Configuration.http_connection`, the HTTP client an `ApiClient` uses instead of making its own, read
  as it is made: `http_client()` makes the one the SDK would (rest.py, `RESTClientObject`;
  tests/test_sdk_contract.py compares them setting by setting) on the process's TLS context, set while a
  sync runner is built. Each of the SDK's own loads the CA bundle again (~5 ms and ~0.9 MB per task type).
  The SDK replaces it with one of its own when a connection breaks. An async runner makes its clients as
  it starts (its async one takes none from outside): they load their own.

The runners ask the server to hold every poll for 100 ms (`timeout=100`). While it holds one, the
server looks at the queue on a ~100 ms beat, so a new task waits ~50 ms for it whatever the poll
interval is. Each task type's `PollPace` (poll_pace.py) decides, poll by poll, whether to ask without the
hold (`timeout=0`): while tasks keep coming, or always when its poll interval is shorter than that beat.
"""

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from conductor.client.automator.async_task_runner import AsyncTaskRunner
from conductor.client.automator.lease_tracker import LeaseManager
from conductor.client.automator.task_handler import get_registered_workers
from conductor.client.automator.task_runner import TaskRunner
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.configuration.settings.metrics_settings import MetricsSettings
from conductor.client.context.task_context import TaskInProgress, get_task_context
from conductor.client.http.api.async_task_resource_api import AsyncTaskResourceApi
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.worker.exception import NonRetryableException

from ..conductor_client import http2_enabled, tls_context
from ..config import Settings
from ..project import Project
from .poll_pace import Pacing, PollPace
from .task_ledger import HeldTask, TaskLedger

__all__ = [
    "AsyncTaskRunner",
    "AuthenticationSettings",
    "Configuration",
    "MetricsSettings",
    "Pacing",
    "TaskInProgress",
    "TaskLedger",
    "TaskRunner",
    "build_runner",
    "configuration",
    "http_client",
    "is_async",
    "metrics_settings",
    "workers_for",
]


def configuration(settings: Settings) -> Configuration:
    """The SDK's client configuration: the server URL and, when both are set, the access key."""
    result = Configuration(server_api_url=settings.server_url)
    # Set after construction: the SDK alone would read empty CONDUCTOR_AUTH_* values as credentials.
    result.authentication_settings = (
        AuthenticationSettings(key_id=settings.auth_key, key_secret=settings.auth_secret)
        if settings.auth_key is not None and settings.auth_secret is not None
        else None
    )
    return result


def http_client() -> httpx.Client:
    """A sync runner's HTTP client: what the SDK's `RESTClientObject` makes for itself, on `tls_context()`.

    The SDK also passes the client `limits` (50 kept alive for 30 s), which httpx ignores beside a
    `transport`: its transport keeps the default pool (100 connections, 20 kept alive for 5 s), as this one does.
    """
    http2 = http2_enabled()
    transport = httpx.HTTPTransport(verify=tls_context(http2), retries=3, http2=http2)
    return httpx.Client(transport=transport, timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=True)


def metrics_settings(directory: str, canonical: bool) -> MetricsSettings:
    """Where the SDK writes its metrics, and which: canonical (histograms, the harmonized names, the SDK's
    future default) or legacy (quantiles over the last 1000 values, sorted at every record: ~3.5x the CPU).

    Each runner makes its own collector in that folder (`metrics_directory`), which also becomes the
    process's PROMETHEUS_MULTIPROC_DIR: /metrics serves it."""
    # The SDK reads its own variable as it is made; "true"/"false" whichever spelling the setting used.
    os.environ["WORKER_CANONICAL_METRICS"] = "true" if canonical else "false"
    return MetricsSettings(directory=directory)


def workers_for(functions: Sequence[Callable[..., Any]]) -> list[Any]:
    """The SDK's `Worker` objects for these `@worker_task` functions, in the same order."""
    by_function = {worker.execute_function: worker for worker in get_registered_workers()}
    workers = []
    for function in functions:
        # The decorator returns a wrapper; the SDK's registry holds the function it wraps.
        worker = by_function.get(inspect.unwrap(function))
        if worker is None:
            raise ValueError(f"{function.__module__}.{function.__name__} in WORKERS is not a @worker_task")
        workers.append(worker)
    return workers


def is_async(worker: Any) -> bool:
    return inspect.iscoroutinefunction(worker.execute_function)


def _held(task: Any) -> HeldTask:
    return HeldTask(
        task_id=task.task_id,
        task_type=task.task_def_name or task.task_type or "?",
        workflow_id=task.workflow_instance_id or "?",
        response_timeout_seconds=task.response_timeout_seconds or None,
    )


LEASE_CHECK_SECONDS = 0.1  # how often due lease heartbeats are looked for


def _poll_arguments(pace: PollPace, arguments: dict[str, Any]) -> dict[str, Any]:
    """The batch poll's query as the runner made it, without the hold when the pace says so."""
    return arguments if pace.poll_held() else {**arguments, "timeout": 0}


def _polled(tasks: Any) -> list[HeldTask]:
    return [_held(task) for task in tasks or [] if task is not None and task.task_id]


def _sending(listeners: Sequence[Any], body: Any) -> None:
    """A result is about to be sent: the listeners that want results see it (lease heartbeats are not results)."""
    if body.extend_lease:
        return
    status = str(getattr(body.status, "value", body.status))
    for listener in listeners:
        listener.on_result(body.task_id, status, body.reason_for_incompletion)


def _result_listeners(listeners: Sequence[Any]) -> list[Any]:
    return [listener for listener in listeners if hasattr(listener, "on_result")]


def _reported(ledger: TaskLedger, pace: PollPace, body: Any, next_task: Any) -> None:
    """The server accepted the result in `body`; `next_task` is what update-v2 handed out with it."""
    if next_task is not None:
        ledger.take(_held(next_task))  # before the release: held never reads empty in between
    if not body.extend_lease:  # lease heartbeats come through the update too; they release nothing
        ledger.release(body.task_id, str(getattr(body.status, "value", body.status)))
        pace.saw_work()


def _polled_work(ledger: TaskLedger, pace: PollPace, tasks: Any) -> None:
    taken = _polled(tasks)
    ledger.poll_finished(taken)
    if taken:
        pace.saw_work()


class CountingTaskClient(TaskResourceApi):
    """The sync runner's task client: records what it takes and reports; once draining, takes nothing."""

    def __init__(self, api_client: Any, ledger: TaskLedger, pace: PollPace, listeners: Sequence[Any] = ()) -> None:
        super().__init__(api_client)
        self.ledger = ledger
        self.pace = pace
        self.listeners = _result_listeners(listeners)

    def batch_poll(self, tasktype: str, **kwargs: Any) -> Any:
        if not self.ledger.poll_started():
            return []
        tasks = None
        try:
            tasks = super().batch_poll(tasktype, **_poll_arguments(self.pace, kwargs))
        finally:
            _polled_work(self.ledger, self.pace, tasks)
        return tasks

    def update_task_v2(self, body: Any, **kwargs: Any) -> Any:
        if self.ledger.draining:
            # The v1 update reports the result without being handed the next task.
            self.update_task(body, **kwargs)
            return None
        _sending(self.listeners, body)
        next_task = super().update_task_v2(body, **kwargs)
        _reported(self.ledger, self.pace, body, next_task)
        return next_task

    def update_task(self, body: Any, **kwargs: Any) -> Any:
        _sending(self.listeners, body)
        result = super().update_task(body, **kwargs)
        _reported(self.ledger, self.pace, body, None)
        return result


class CountingAsyncTaskClient(AsyncTaskResourceApi):
    """The same for the async runner."""

    def __init__(self, api_client: Any, ledger: TaskLedger, pace: PollPace, listeners: Sequence[Any] = ()) -> None:
        super().__init__(api_client)
        self.ledger = ledger
        self.pace = pace
        self.listeners = _result_listeners(listeners)

    async def batch_poll(self, tasktype: str, **kwargs: Any) -> Any:
        if not self.ledger.poll_started():
            return []
        tasks = None
        try:
            tasks = await super().batch_poll(tasktype, **_poll_arguments(self.pace, kwargs))
        finally:
            _polled_work(self.ledger, self.pace, tasks)
        return tasks

    async def update_task_v2(self, body: Any, **kwargs: Any) -> Any:
        if self.ledger.draining:
            await self.update_task(body, **kwargs)
            return None
        _sending(self.listeners, body)
        next_task = await super().update_task_v2(body, **kwargs)
        _reported(self.ledger, self.pace, body, next_task)
        return next_task

    async def update_task(self, body: Any, **kwargs: Any) -> Any:
        _sending(self.listeners, body)
        result = await super().update_task(body, **kwargs)
        _reported(self.ledger, self.pace, body, None)
        return result


class CountingAsyncTaskRunner(AsyncTaskRunner):
    """`AsyncTaskRunner` creates its task client inside `run()`; this property wraps it as it is set."""

    def __init__(
        self,
        worker: Any,
        configuration: Any,
        metrics_settings: Any,
        listeners: list[Any],
        ledger: TaskLedger,
        pacing: Pacing,
    ):
        self.ledger = ledger
        self.result_listeners = listeners
        self._counting_client: CountingAsyncTaskClient | None = None
        super().__init__(worker, configuration, metrics_settings, listeners)
        # Our own reference to the worker, made once the SDK has applied its CONDUCTOR_WORKER_* settings.
        self.pace = pacing.pace(worker)

    @property
    def async_task_client(self) -> CountingAsyncTaskClient | None:
        return self._counting_client

    @async_task_client.setter
    def async_task_client(self, client: Any) -> None:
        self._counting_client = (
            None
            if client is None
            else CountingAsyncTaskClient(client.api_client, self.ledger, self.pace, self.result_listeners)
        )


def build_runner(
    worker: Any,
    configuration: Any,
    metrics_settings: Any,
    listeners: list[Any],
    ledger: TaskLedger,
    pacing: Pacing | None = None,
) -> Any:
    """A runner for one worker, through the public constructors: `AsyncTaskRunner` for `async def`.

    The runners share `configuration`, which also holds the server's token: one token for the process.
    A sync runner gets an HTTP client of its own (`http_client()`): the SDK closes the one it replaces
    when a connection breaks."""
    LeaseManager.get_instance(check_interval=LEASE_CHECK_SECONDS)  # the runners share this one
    pacing = pacing or Pacing()
    if is_async(worker):
        return CountingAsyncTaskRunner(worker, configuration, metrics_settings, listeners, ledger, pacing)
    configuration.http_connection = http_client()  # read by the ApiClient the runner makes as it is built
    try:
        runner = TaskRunner(worker, configuration, metrics_settings, listeners)  # applies CONDUCTOR_WORKER_* first
    finally:
        configuration.http_connection = None  # not the next runner's, nor a client an async runner makes later
    runner.task_client = CountingTaskClient(runner.task_client.api_client, ledger, pacing.pace(worker), listeners)
    return runner


def served_workers(project: Project) -> list[Any]:
    """The SDK `Worker` objects for the project's `WORKERS`, in list order; ValueError if one is not decorated.

    The `@worker_task` decorator records each function in the SDK's registry when its module is imported;
    only the ones listed in `WORKERS` are served, whatever else an import may have decorated."""
    return workers_for(project.worker_functions())


def served_task_names(project: Project) -> list[str]:
    return [worker.get_task_definition_name() for worker in served_workers(project)]


# --- replaying a captured task (conductor_worker_kit.replay) ---------------------------------------


def execute_once(function: Callable[..., Any], task_type: str, input_data: dict[str, Any]) -> tuple[str, Any, Any]:
    """(status, output, reason) of one task's input run through a worker function as its runner runs it,
    without a server: the SDK's `Worker.execute` maps the input onto the parameters (dataclasses built the
    SDK's way) and the result or exception onto a status. An `async def` worker is run to its end; like
    the async runner, it reports a result that is not a dict as {"result": ...}."""
    from conductor.client.http.models.task import Task
    from conductor.client.worker.worker import Worker

    target = inspect.unwrap(function)
    if inspect.iscoroutinefunction(target):
        target = _run_to_end(target)
    task = Task(task_id="replay", workflow_instance_id="replay", task_def_name=task_type, input_data=input_data)
    worker = Worker(task_type, target)
    result = worker.execute(task)
    if isinstance(result, TaskInProgress):
        return "IN_PROGRESS", result.output, None
    # As the result is sent: the client's serializer turns objects left in the output into their fields.
    output = worker.api_client.sanitize_for_serialization(result.output_data)
    return str(getattr(result.status, "value", result.status)), output, result.reason_for_incompletion


# Given to a one-parameter async worker's stand-in: `Worker.execute` hands a lone untyped parameter the Task
# itself, where the async runner maps it by name like any other.
PADDING = inspect.Parameter("_replay_padding", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int)


def _run_to_end(function: Callable[..., Any]) -> Callable[..., Any]:
    import asyncio

    def run(**kwargs: Any) -> Any:
        kwargs.pop(PADDING.name, None)
        output = asyncio.run(function(**kwargs))
        return output if isinstance(output, dict | TaskInProgress) else {"result": output}

    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if len(parameters) == 1 and parameters[0].kind is not inspect.Parameter.VAR_KEYWORD:
        parameters.append(PADDING)
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]  # the SDK maps by it
    return run


def task_fields() -> dict[str, Any] | None:
    """The running task's type, id, workflow id and attempt (retryCount + 1), for log lines and spans; None
    outside a task. From the SDK's task context (`get_task_context()`), which the runners set around each
    execution in the thread (sync) or asyncio task (async) that runs it."""
    try:
        task = get_task_context().task
    except RuntimeError:  # no task running here
        return None
    return {
        "task_type": task.task_def_name or task.task_type,
        "task_id": task.task_id,
        "workflow_id": task.workflow_instance_id,
        "attempt": (task.retry_count or 0) + 1,
    }


def is_terminal_failure(error: BaseException) -> bool:
    """Whether a worker's exception fails its task for good (`NonRetryableException`), retries left or not."""
    return isinstance(error, NonRetryableException)
