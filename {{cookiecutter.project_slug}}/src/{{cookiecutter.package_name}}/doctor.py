"""The `doctor` command: the troubleshooting list, run against the configured server.

One line per check. A FAIL says what is wrong and what to change; exit status is non-zero when
any check fails.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .config import Settings
from .definitions import task_definitions
from .server import ConductorServer, ServerError, server_message

# A poll on a domain no task uses shows whether the key may poll, without taking a real task.
PROBE_DOMAIN = "doctor-permission-probe"
RECENT_POLL_SECONDS = 120


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


Result = tuple[bool, str]


def _reachable(server: ConductorServer) -> Result:
    response = server.health()
    return True, f"HTTP {response.status_code} from {server.settings.server_root}/health"


def _credentials(server: ConductorServer, probe_task: str) -> Result:
    if server.settings.has_credentials:
        response = server.fetch_token()
        if response.status_code == 200:
            return True, "CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET accepted"
        if response.status_code == 404:
            return True, "server has no token endpoint (open mode): the credentials are not needed"
        return (
            False,
            f"server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (HTTP {response.status_code}: "
            f"{server_message(response)}); create a new access key for the application",
        )
    response = server.request("GET", f"/metadata/taskdefs/{probe_task}", allow=(401, 403, 404))
    if response.status_code in (401, 403):
        return False, "the server requires credentials: set CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET"
    return True, "none set, and the server needs none (open mode)"


def _task_registered(server: ConductorServer, task: str) -> Result:
    response = server.request("GET", f"/metadata/taskdefs/{task}", allow=(403, 404))
    if response.status_code == 200 and response.content:
        return True, "registered under the worker's name"
    if response.status_code == 403:
        return False, "this key may not read metadata; check it in the UI or with a metadata key"
    return False, "not registered: run `register` (the name must match the worker's)"


def _pending_by_domain(server: ConductorServer, task: str) -> dict[str | None, int]:
    response = server.request("GET", "/tasks/queue/all", allow=(403, 404, 405))
    if response.status_code != 200:
        return {}
    pending: dict[str | None, int] = {}
    for queue, size in response.json().items():
        domain, _, task_type = queue.rpartition(":")
        if task_type == task and size:
            pending[domain or None] = int(size)
    return pending


def _polled_domains(server: ConductorServer, task: str) -> set[str | None]:
    response = server.request("GET", "/tasks/queue/polldata", params={"taskType": task}, allow=(403, 404))
    if response.status_code != 200:
        return set()
    now_ms = time.time() * 1000
    return {
        poll.get("domain") or None
        for poll in response.json()
        if now_ms - poll.get("lastPollTime", 0) < RECENT_POLL_SECONDS * 1000 and poll.get("domain") != PROBE_DOMAIN
    }


def _label(domain: str | None) -> str:
    return f"domain '{domain}'" if domain else "no domain"


def _domains(server: ConductorServer, task: str, worker_domain: str | None) -> Result:
    pending = _pending_by_domain(server, task)
    polled = _polled_domains(server, task)
    stranded = {domain: count for domain, count in pending.items() if domain not in polled}
    if stranded:
        where = ", ".join(f"{count} in {_label(domain)}" for domain, count in stranded.items())
        return (
            False,
            f"tasks wait with no worker polling them ({where}); this worker polls {_label(worker_domain)} "
            "(CONDUCTOR_WORKER_ALL_DOMAIN must match the workflow's taskToDomain)",
        )
    if worker_domain not in polled and pending:
        return False, f"no recent poll in {_label(worker_domain)}: is the worker running?"
    polled_text = ", ".join(sorted(_label(domain) for domain in polled)) or "nobody yet"
    return True, f"worker polls {_label(worker_domain)}; recent polls: {polled_text}; nothing stranded"


def _may_poll(server: ConductorServer, task: str) -> Result:
    response = server.request(
        "GET",
        f"/tasks/poll/batch/{task}",
        params={"count": 1, "timeout": 1, "workerid": "doctor", "domain": PROBE_DOMAIN},
        allow=(401, 403),
    )
    if response.status_code in (401, 403):
        return (
            False,
            f"HTTP {response.status_code}: the application lacks Execute permission on {task} "
            "(Access Control > Applications > Permissions)",
        )
    return True, "the key may poll this task"


def _check(name: str, check: Callable[..., Result], *args: object) -> Check:
    try:
        ok, detail = check(*args)
    except ServerError as error:
        ok, detail = False, str(error)
    return Check(name, ok, detail)


def run_checks(settings: Settings) -> Iterator[Check]:
    """Each check in the order a person would debug; later checks need the earlier ones to pass."""
    tasks = [task["name"] for task in task_definitions()]
    with ConductorServer(settings) as server:
        for first in (
            _check("server reachable", _reachable, server),
            _check("credentials", _credentials, server, tasks[0]),
        ):
            yield first
            if not first.ok:
                return
        for task in tasks:
            yield _check(f"task definition {task}", _task_registered, server, task)
            yield _check(f"poll permission {task}", _may_poll, server, task)
            yield _check(f"domain of {task}", _domains, server, task, settings.worker_domain)
