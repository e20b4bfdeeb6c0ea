"""What the worker runtime needs from conductor-python, checked against the installed version.

Run on every SDK upgrade (Dependabot's pull requests run `make check`): a failure here names the SDK
surface that changed, where a silent change would otherwise break the drain. Every name the kit's
`runtime/sdk_adapter.py` imports is checked, and the drain itself runs the real runners against a small stand-in for the
server's task endpoints on loopback.
One import is not a top-level export: `AsyncTaskRunner`, from `conductor.client.automator.async_task_runner`.
"""

import asyncio
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conductor.client.automator.async_task_runner import AsyncTaskRunner
from conductor.client.automator.task_handler import get_registered_workers
from conductor.client.automator.task_runner import TaskRunner
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.configuration.settings.metrics_settings import MetricsSettings
from conductor.client.event.task_runner_events import (
    TaskExecutionCompleted,
    TaskExecutionFailure,
    TaskExecutionStarted,
)
from conductor.client.http.api.async_task_resource_api import AsyncTaskResourceApi
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.rest import RESTClientObject
from conductor.client.worker.exception import NonRetryableException
from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit.conductor_client import ConductorClient, http2_enabled, tls_context
from conductor_worker_kit.config import Settings
from conductor_worker_kit.runtime import sdk_adapter as sdk
from conductor_worker_kit.runtime.process_protocol import DRAINED
from conductor_worker_kit.runtime.task_ledger import HeldTask
from conductor_worker_kit.runtime.worker_process import WorkerHost

SYNC_TASK, ASYNC_TASK = "contract_sync_task", "contract_async_task"
KINDS = (SYNC_TASK, ASYNC_TASK)
FAST_SYNC_TASK, FAST_ASYNC_TASK = "contract_fast_sync_task", "contract_fast_async_task"
# Given a 10 ms poll interval through the environment (the SDK then changes the registered worker).
ENV_SYNC_TASK, ENV_ASYNC_TASK = "contract_env_sync_task", "contract_env_async_task"
# Tasks with `hold` run until this is set: still running when the drain starts, however slow the machine.
RELEASE = threading.Event()
# Each runner has at most one poll on its way: after a drain starts, that one and at most one more may
# arrive (an empty batch does not hold the runner). A runner that kept polling makes ~10 a second.
POLLS_AFTER_A_STOP = 2
WATCH_SECONDS = 1.0
# What `sdk.task_fields()` returned inside each task run (log lines carry it), by task id.
TASK_FIELDS: dict[str, dict[str, Any] | None] = {}


def _record_task_fields() -> None:
    fields = sdk.task_fields()
    TASK_FIELDS[str((fields or {}).get("task_id"))] = fields


@worker_task(task_definition_name=SYNC_TASK, thread_count=4)
def sync_worker(hold: bool = False) -> dict[str, bool]:
    _record_task_fields()
    if hold:
        RELEASE.wait(timeout=30)
    return {"held": hold}


@worker_task(task_definition_name=ASYNC_TASK, thread_count=4)
async def async_worker(hold: bool = False) -> dict[str, bool]:
    _record_task_fields()
    while hold and not RELEASE.is_set():
        await asyncio.sleep(0.01)
    return {"held": hold}


@worker_task(task_definition_name=FAST_SYNC_TASK, poll_interval_millis=10)
def fast_sync_worker() -> dict[str, bool]:
    return {}


@worker_task(task_definition_name=FAST_ASYNC_TASK, poll_interval_millis=10)
async def fast_async_worker() -> dict[str, bool]:
    return {}


@worker_task(task_definition_name=ENV_SYNC_TASK)
def env_sync_worker() -> dict[str, bool]:
    return {}


@worker_task(task_definition_name=ENV_ASYNC_TASK)
async def env_async_worker() -> dict[str, bool]:
    return {}


@pytest.fixture(autouse=True)
def no_worker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads CONDUCTOR_WORKER_* settings from the environment: none from the shell running the tests."""
    for name in list(os.environ):
        if name.startswith("CONDUCTOR_WORKER_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def unpaused() -> None:
    """A drain pauses the SDK's registered workers, which outlive a test: each test starts with them unpaused."""
    for worker in get_registered_workers():
        worker.paused = False


def test_the_runtime_imports_resolve_to_the_classes_it_extends() -> None:
    assert sdk.TaskRunner is TaskRunner
    assert sdk.AsyncTaskRunner is AsyncTaskRunner
    assert issubclass(sdk.CountingTaskClient, TaskResourceApi)
    assert issubclass(sdk.CountingAsyncTaskClient, AsyncTaskResourceApi)
    assert sdk.MetricsSettings is MetricsSettings
    assert sdk.Configuration is Configuration
    assert sdk.AuthenticationSettings is AuthenticationSettings


@pytest.mark.parametrize("canonical", [True, False])
def test_the_metrics_setting_picks_the_sdks_collector(
    canonical: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WORKER_CANONICAL_METRICS is the SDK's switch, read when MetricsSettings is made: canonical files go
    to a subfolder, which /metrics serves (metrics_directory)."""
    monkeypatch.setenv("WORKER_CANONICAL_METRICS", "unset by the test")  # restored afterwards
    settings = sdk.metrics_settings(str(tmp_path), canonical)
    assert settings.is_canonical is canonical
    assert (settings.metrics_directory != str(tmp_path)) is canonical


# Any access key secret: the stand-in hands out a token for it.
KEY_SECRET = "stand-in-secret"
# What a connection pool holds as it works, not how it was set up.
POOL_STATE = {"_ssl_context", "_network_backend", "_connections", "_requests", "_optional_thread_lock"}


def _pool(client: httpx.Client) -> Any:
    # httpx keeps its connection settings and TLS context on its transport's connection pool: private
    # attributes, read only by these tests.
    return client._transport._pool  # type: ignore[attr-defined]


def _tls(client: httpx.Client) -> Any:
    return _pool(client)._ssl_context


def _settings_of(client: httpx.Client) -> dict[str, Any]:
    """Every setting of an httpx client that changes what it sends or how: the client's, its transport's pool
    (private, read only here) and its TLS context's."""
    pool, tls = _pool(client), _tls(client)
    return {
        "client": (client.base_url, client.auth, str(client.params), dict(client.headers), dict(client.cookies)),
        "requests": (client.timeout, client.follow_redirects, client.max_redirects, client.event_hooks),
        "environment": (client.trust_env, client._mounts),
        "transport": type(client._transport),
        "pool": {name: value for name, value in vars(pool).items() if name not in POOL_STATE},
        "tls": (tls.verify_mode, tls.check_hostname, tls.verify_flags, tls.options, tls.cert_store_stats()),
    }


@pytest.mark.parametrize("http2", ["true", "off"])
def test_a_sync_runners_client_is_the_one_the_sdk_makes_for_itself(http2: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`http_client()` re-makes the SDK's default client (timeouts, retries, pool, HTTP/2, redirects, trust
    store) on the process's TLS context: when an SDK release changes its client, this names what moved."""
    monkeypatch.setenv("CONDUCTOR_HTTP2_ENABLED", http2)
    ours, theirs = sdk.http_client(), RESTClientObject().connection
    assert _settings_of(ours) == _settings_of(theirs)
    assert _tls(ours) is tls_context(http2_enabled())
    assert _tls(theirs) is not tls_context(http2_enabled())


@pytest.mark.parametrize("http2", ["true", "off"])
def test_a_worker_process_loads_the_trust_store_once(
    http2: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server check's client and every sync runner's share one TLS context (the CA bundle costs ~5 ms
    and ~0.9 MB per load): they offer the same protocols, which httpcore sets on the context itself. Each
    runner has a client of its own: the SDK closes the one it replaces when a connection breaks."""
    monkeypatch.setenv("CONDUCTOR_HTTP2_ENABLED", http2)
    real = httpx.create_ssl_context
    loads: list[Any] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(real(*args, **kwargs))
        return loads[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    tls_context.cache_clear()
    settings = replace(Settings(), server_url="http://127.0.0.1:9/api", health_dir=tmp_path)
    with ConductorClient(settings) as check:
        host = WorkerHost(settings, 0, sdk.workers_for([sync_worker, fast_sync_worker, async_worker]), None)
        host.loop.close()
        clients = [runner.task_client.api_client.rest_client.connection for runner in host.sync_runners]
        clients.append(check._http)
    tls_context.cache_clear()  # the other tests' contexts are the real ones
    assert len(loads) == 1
    assert len({id(client) for client in clients}) == 3
    assert {id(_tls(client)) for client in clients} == {id(loads[0])}
    # None left on the shared configuration for a client made later: the async runner's, as it starts.
    assert host.async_runners[0].configuration.http_connection is None


def test_the_task_execution_events_carry_what_the_spans_read() -> None:
    """runtime/tracing.py listens to these events (the SDK calls `on_<event in snake case>`) and reads these fields."""
    for event, fields in (
        (TaskExecutionStarted, {"task_type", "task_id", "workflow_instance_id"}),
        (TaskExecutionCompleted, {"task_id"}),
        (TaskExecutionFailure, {"task_id", "cause"}),
    ):
        assert fields <= set(inspect.signature(event).parameters), event
    assert sdk.is_terminal_failure(NonRetryableException("no"))
    assert not sdk.is_terminal_failure(RuntimeError())


@pytest.mark.parametrize("runner", [TaskRunner, AsyncTaskRunner])
def test_runner_constructors_and_stop(runner: Any) -> None:
    parameters = list(inspect.signature(runner.__init__).parameters)
    assert parameters[:5] == ["self", "worker", "configuration", "metrics_settings", "event_listeners"]
    assert (
        inspect.iscoroutinefunction(runner.run)
        == inspect.iscoroutinefunction(runner.stop)
        == (runner is AsyncTaskRunner)
    )


@pytest.mark.parametrize("client", [TaskResourceApi, AsyncTaskResourceApi])
def test_task_clients_have_the_calls_the_runners_make(client: Any) -> None:
    for name in ("batch_poll", "update_task", "update_task_v2"):
        assert inspect.iscoroutinefunction(getattr(client, name)) == (client is AsyncTaskResourceApi), name
    assert list(inspect.signature(client.__init__).parameters) == ["self", "api_client"]


def test_registered_workers_carry_the_decorated_function_and_a_pause_flag() -> None:
    workers = sdk.workers_for([sync_worker, async_worker])
    assert [worker.get_task_definition_name() for worker in workers] == [SYNC_TASK, ASYNC_TASK]
    assert workers[0].execute_function is inspect.unwrap(sync_worker)
    assert [sdk.is_async(worker) for worker in workers] == [False, True]
    assert all(worker.paused is False for worker in workers)
    # The pace (poll_pace.py) sets `poll_interval` in ms; the runners read it through this before each poll.
    previous, workers[0].poll_interval = workers[0].poll_interval, 10
    try:
        assert workers[0].get_polling_interval_in_seconds() == pytest.approx(0.01)
    finally:
        workers[0].poll_interval = previous
    assert any(worker.get_task_definition_name() == SYNC_TASK for worker in get_registered_workers())


def test_heartbeats_are_told_apart_from_results() -> None:
    assert TaskResult(task_id="t").extend_lease is False


class TaskEndpoints(BaseHTTPRequestHandler):
    """Conductor's poll and update endpoints, as much as a runner uses: a fixed batch per task type,
    one next task handed out with the first update-v2, and every request recorded."""

    server: "StandIn"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: object = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.record("poll", self.path)
        batch = self.server.batches.pop(polled_type(self.path), [])
        self._send(200, batch)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        path = self.path.split("?")[0]
        if path.endswith("/token"):
            self.server.record(path, "")
            self._send(200, {"token": "stand-in-token"})
            return
        self.server.record(path, body["taskId"])
        if path.endswith("/tasks/update-v2"):
            task_type = self.server.type_of[body["taskId"]]
            following = self.server.next_tasks.pop(task_type, None)
            if following is None:
                self._send(204)
            else:
                self.server.record("next", str(following["taskId"]))
                self._send(200, following)
        else:
            self._send(200, body["taskId"])


class StandIn(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TaskEndpoints)
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.type_of: dict[str, str] = {}
        self.batches = {kind: [self.task(kind, f"{kind}-{n}", hold=False) for n in (1, 2)] for kind in KINDS}
        # Still running when the drain starts: its result must go to the v1 update.
        self.next_tasks = {kind: self.task(kind, f"{kind}-next", hold=True) for kind in KINDS}

    def task(self, kind: str, task_id: str, hold: bool) -> dict[str, object]:
        self.type_of[task_id] = kind
        return {
            "taskId": task_id,
            "taskType": kind,
            "taskDefName": kind,
            "workflowInstanceId": "wf",
            "status": "IN_PROGRESS",
            "retryCount": 1,
            "inputData": {"hold": hold},
        }

    def record(self, what: str, detail: str) -> None:
        with self.lock:
            self.requests.append((what, detail))

    def seen(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.requests)

    def reported(self) -> list[str]:
        """The task ids whose result was reported (update-v2 or v1), in order."""
        return [detail for what, detail in self.seen() if what.endswith(("/tasks", "/tasks/update-v2"))]

    def polls_by_type(self, since: int) -> dict[str, int]:
        """How many polls of each task type arrived after the first `since` requests."""
        counts: dict[str, int] = {}
        for what, path in self.seen()[since:]:
            if what == "poll":
                counts[polled_type(path)] = counts.get(polled_type(path), 0) + 1
        return counts

    def polls(self) -> list[tuple[str, list[str]]]:
        """Every poll so far: its task type, and the `name=value` pairs of its query string."""
        return [(polled_type(path), path.partition("?")[2].split("&")) for what, path in self.seen() if what == "poll"]

    def polls_of(self, task_type: str) -> list[tuple[int, list[str]]]:
        """Each poll of this task type: its index among all requests, and its query's `name=value` pairs."""
        return [
            (index, path.partition("?")[2].split("&"))
            for index, (what, path) in enumerate(self.seen())
            if what == "poll" and polled_type(path) == task_type
        ]

    def serve(self, tmp_path: Path, functions: list[Any], **settings_given: Any) -> WorkerHost:
        """A worker host for these workers, polling this stand-in."""
        url = f"http://127.0.0.1:{self.server_address[1]}/api"
        settings = replace(Settings(), server_url=url, health_dir=tmp_path, **settings_given)
        host = WorkerHost(settings, 0, sdk.workers_for(functions), None)
        host.start()
        return host


def polled_type(path: str) -> str:
    """The task type of a `GET /tasks/poll/batch/{type}?...` request."""
    return path.partition("?")[0].rsplit("/", 1)[-1]


def wait_for(condition: Callable[[], bool], stand_in: StandIn, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s; requests: {stand_in.seen()}"
        time.sleep(0.01)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_runners_share_one_token(stand_in: StandIn, tmp_path: Path) -> None:
    """The SDK keeps the access token on the `Configuration`: one for every runner of a process, so one
    `POST /token` at the start (and one renewal at a time), however many task types it serves."""
    url = f"http://127.0.0.1:{stand_in.server_address[1]}/api"
    settings = replace(Settings(), server_url=url, health_dir=tmp_path, auth_key="key-id", auth_secret=KEY_SECRET)
    host = WorkerHost(settings, 0, sdk.workers_for([sync_worker, fast_sync_worker, env_sync_worker]), None)
    host.loop.close()
    assert [what for what, _ in stand_in.seen()] == ["/api/token"]


@pytest.mark.parametrize("function", [sync_worker, async_worker], ids=["sync", "async"])
def test_the_runners_poll_and_report_through_the_counting_clients(
    stand_in: StandIn, tmp_path: Path, function: Any
) -> None:
    """The ledger sees what the runner's client takes and what it reports: the batch's two tasks were
    reported, and the next task handed out with a result is held while it runs."""
    RELEASE.clear()
    kind = SYNC_TASK if function is sync_worker else ASYNC_TASK
    host = stand_in.serve(tmp_path, [function])
    try:
        wait_for(lambda: [task.task_id for task in host.ledger.held()] == [f"{kind}-next"], stand_in)
        assert sorted(stand_in.reported()) == [f"{kind}-1", f"{kind}-2"]
    finally:
        RELEASE.set()
    assert host.drain(grace_seconds=20) == DRAINED
    assert sorted(stand_in.reported()) == [f"{kind}-1", f"{kind}-2", f"{kind}-next"]
    assert host.ledger.held() == []
    # The task context the SDK sets around each run, as log lines read it (retryCount 1: the second attempt).
    assert TASK_FIELDS[f"{kind}-1"] == {"task_type": kind, "task_id": f"{kind}-1", "workflow_id": "wf", "attempt": 2}
    assert sdk.task_fields() is None  # outside a task


def test_a_lease_heartbeat_releases_nothing_and_a_result_does(stand_in: StandIn, tmp_path: Path) -> None:
    """A heartbeat (`extend_lease`) goes through the same update call as a result: the task stays held."""
    ledger = sdk.TaskLedger()
    (worker,) = sdk.workers_for([sync_worker])
    settings = replace(Settings(), server_url=f"http://127.0.0.1:{stand_in.server_address[1]}/api")
    client = sdk.build_runner(worker, sdk.configuration(settings), None, [], ledger).task_client
    task = HeldTask(f"{SYNC_TASK}-1", SYNC_TASK, "wf")
    ledger.take(task)
    client.update_task(TaskResult(task_id=task.task_id, workflow_instance_id="wf", extend_lease=True))
    assert ledger.held() == [task]
    client.update_task(TaskResult(task_id=task.task_id, workflow_instance_id="wf", status="COMPLETED"))
    assert ledger.held() == []
    assert stand_in.reported() == [task.task_id, task.task_id]


def test_a_drain_finishes_and_reports_every_task_taken_and_takes_no_more(stand_in: StandIn, tmp_path: Path) -> None:
    RELEASE.clear()
    host = stand_in.serve(tmp_path, [sync_worker, async_worker])
    # Wait until each runner's first result has been answered with its next task, which is running now.
    wait_for(lambda: sum(what == "next" for what, _ in stand_in.seen()) == len(KINDS), stand_in)
    drain_started = len(stand_in.seen())
    # The held tasks run on for a while of the drain: a runner that still polled would show it meanwhile.
    threading.Timer(WATCH_SECONDS, RELEASE.set).start()
    assert host.drain(grace_seconds=20) == DRAINED
    assert host.stopped_runners() == [thread.name for thread in host.threads], "runners still running"

    during_drain = stand_in.seen()[drain_started:]
    polls = stand_in.polls_by_type(drain_started)
    assert all(count <= POLLS_AFTER_A_STOP for count in polls.values()), f"polls after the drain began: {polls}"
    assert all(worker.paused for worker in host.workers), "the SDK's runners skip a paused worker's polls"
    time.sleep(0.3)
    assert stand_in.seen()[drain_started + len(during_drain) :] == [], "requests after the drain"
    taken = sorted(stand_in.type_of)
    assert sorted(stand_in.reported()) == taken, "every task taken is reported exactly once"
    for kind in KINDS:
        # The next task handed out before the drain ran; its result went to the v1 update (no next task).
        assert ("/api/tasks", f"{kind}-next") in during_drain
    first_polls = {kind: next(query for task_type, query in stand_in.polls() if task_type == kind) for kind in KINDS}
    # Tasks queued before the start are taken at once; held polls once quiet: the busy test below.
    assert all("timeout=0" in query for query in first_polls.values()), "a task type's first poll is unheld"


@pytest.mark.parametrize("function", [sync_worker, async_worker], ids=["sync", "async"])
def test_a_busy_task_type_polls_unheld_every_few_ms_and_held_again_once_quiet(
    stand_in: StandIn, tmp_path: Path, function: Any
) -> None:
    """The pace sets the SDK worker's `poll_interval`, which the runner reads before each poll: after its
    tasks, a task type polls without the hold at the busy interval, then held at its own interval again."""
    RELEASE.set()
    kind = SYNC_TASK if function is sync_worker else ASYNC_TASK
    busy = 0.6
    host = stand_in.serve(tmp_path, [function], busy_seconds=busy)
    try:
        wait_for(lambda: len(stand_in.reported()) == 3, stand_in)  # the batch of two and the next task
        reported = len(stand_in.seen())
        time.sleep(busy + 0.4)
        quiet = len(stand_in.seen())
        time.sleep(WATCH_SECONDS)
    finally:
        assert host.drain(grace_seconds=20) == DRAINED
    polls = stand_in.polls_of(kind)
    busy_polls = [query for index, query in polls if reported <= index < quiet]
    quiet_polls = [query for index, query in polls if quiet <= index]
    unheld = [query for query in busy_polls if "timeout=0" in query]
    # At 10 ms, ~60 polls in 0.6 s; held at 100 ms, ~10 in a second (the stand-in answers at once).
    assert len(unheld) >= 15, f"{len(unheld)} unheld polls while busy: {busy_polls}"
    assert quiet_polls, "no poll once quiet"
    assert all("timeout=100" in query for query in quiet_polls), quiet_polls
    assert len(quiet_polls) <= 15, f"{len(quiet_polls)} polls in {WATCH_SECONDS:g} s once quiet"


@pytest.mark.parametrize("guard", ["ledger", "paused"])
def test_either_guard_of_the_drain_alone_stops_the_polls(stand_in: StandIn, tmp_path: Path, guard: str) -> None:
    """A drain stops polling twice over: the counting clients send no poll once the ledger drains, and
    the SDK's runners skip the polls of a paused worker (a contract of the SDK's). Each alone must do it."""
    host = stand_in.serve(tmp_path, [env_sync_worker, env_async_worker])
    wait_for(lambda: set(stand_in.polls_by_type(0)) == {ENV_SYNC_TASK, ENV_ASYNC_TASK}, stand_in)
    if guard == "ledger":
        host.ledger.start_draining()
    else:
        for worker in host.workers:
            worker.paused = True
    stopped = len(stand_in.seen())
    time.sleep(WATCH_SECONDS)  # how long a runner that still polled gets to show it, not a wait for a condition
    polls = stand_in.polls_by_type(stopped)
    assert host.drain(grace_seconds=20) == DRAINED
    assert all(count <= POLLS_AFTER_A_STOP for count in polls.values()), f"polls after the {guard} stop: {polls}"


@pytest.mark.parametrize("given_by", ["decorator", "environment"])
def test_a_worker_polling_faster_than_the_servers_beat_asks_without_the_hold(
    stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given_by: str
) -> None:
    if given_by == "decorator":
        functions, names = [fast_sync_worker, fast_async_worker], {FAST_SYNC_TASK, FAST_ASYNC_TASK}
    else:
        functions, names = [env_sync_worker, env_async_worker], {ENV_SYNC_TASK, ENV_ASYNC_TASK}
        for name in names:
            monkeypatch.setenv(f"CONDUCTOR_WORKER_{name.upper()}_POLL_INTERVAL", "10")
    host = stand_in.serve(tmp_path, functions)
    deadline = time.monotonic() + 20
    polled: set[str] = set()
    while polled != names:
        assert time.monotonic() < deadline, stand_in.seen()
        time.sleep(0.01)
        polled = {task_type for task_type, _ in stand_in.polls()}
    assert host.drain(grace_seconds=20) == DRAINED
    polls = stand_in.polls()
    assert all("timeout=0" in query for _, query in polls), polls


@dataclass
class Pair:
    left: int
    right: int = 0


@dataclass
class Summed:
    total: int
    parts: tuple[int, ...]


def replayed_sync(pair: Pair, label: str = "sum") -> Summed:
    if pair.left < 0:
        raise NonRetryableException(f"{label}: left must be >= 0")
    if pair.right < 0:
        raise ValueError("right must be >= 0")
    return Summed(total=pair.left + pair.right, parts=(pair.left, pair.right))


async def replayed_async(pair: Pair) -> int:
    return pair.left + pair.right


async def replayed_async_dataclass(pair: Pair) -> Summed:
    return Summed(total=pair.left + pair.right, parts=(pair.left, pair.right))


async def replayed_async_untyped(value: object) -> dict[str, object]:
    return {"value": value}


@pytest.mark.parametrize(
    ("function", "input_data", "outcome"),
    [
        (replayed_sync, {"pair": {"left": 2, "right": 3}}, ("COMPLETED", {"total": 5, "parts": (2, 3)})),
        (replayed_sync, {"pair": {"left": -1}, "label": "x"}, ("FAILED_WITH_TERMINAL_ERROR", "x: left must be >= 0")),
        (replayed_sync, {"pair": {"left": 1, "right": -1}}, ("FAILED", "right must be >= 0")),
        (replayed_async, {"pair": {"left": 2, "right": 3}}, ("COMPLETED", {"result": 5})),
        (replayed_async_dataclass, {"pair": {"left": 2}}, ("COMPLETED", {"result": {"total": 2, "parts": (2, 0)}})),
        (replayed_async_untyped, {"value": 7}, ("COMPLETED", {"value": 7})),
    ],
    ids=["sync-completed", "sync-terminal", "sync-failed", "async-completed", "async-dataclass", "async-one-object"],
)
def test_a_replay_maps_input_and_outcome_as_the_runners_do(function: Any, input_data: Any, outcome: Any) -> None:
    """`capture`'s replays run a task through the SDK's `Worker.execute`: a dataclass parameter is built
    from the input, a dataclass result flattened (an async worker's put under "result"), and
    NonRetryableException is a terminal failure with its message (a failure's output is not compared)."""
    status, output, reason = sdk.execute_once(function, "contract_replay", input_data)
    assert (status, output if status == "COMPLETED" else reason) == outcome
