# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The `doctor` command: the troubleshooting list, run against the configured server.

One line per check. A FAIL says what is wrong and what to change; exit status is non-zero when
any check fails.
"""

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..conductor_client import IDENTITY_PROBE_TASK, ConductorClient, ServerError, server_message
from ..config import Settings, unknown_task_variables
from ..project import Project
from ..runtime.run_state import served_here
from .definitions import task_definitions, workflow_definitions
from .wiring import wiring_problems, worker_tasks

# A poll on a domain no task uses shows whether the key may poll, without taking a real task.
PROBE_DOMAIN = "doctor-permission-probe"
# A poll counts as "now" within this many poll intervals (the longest of the served workers), and never
# less than RECENT_POLL_MIN_SECONDS: a worker stopped a few seconds ago no longer counts as polling.
RECENT_POLL_INTERVALS = 20
RECENT_POLL_MIN_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


Result = tuple[bool, str]


def _reachable(server: ConductorClient) -> Result:
    server.check_is_conductor()
    return True, f"a Conductor API answers at {server.settings.server_url}"


def _worker_settings(served: list[str]) -> Result:
    unknown = unknown_task_variables(os.environ, served)
    if unknown:
        return False, "; ".join(unknown)
    return True, "every CONDUCTOR_WORKER_<TASK>_* variable names a task the worker serves"


def _credentials(server: ConductorClient, probe_task: str) -> Result:
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


def _task_registered(server: ConductorClient, task: str, defined: list[str]) -> Result:
    response = server.request("GET", f"/metadata/taskdefs/{task}", allow=(403, 404))
    if response.status_code == 200 and response.content:
        return True, "the server has a definition under the name the worker serves"
    if response.status_code == 403:
        return False, "this key may not read metadata; check it in the UI or with a metadata key"
    if task not in defined:
        return (
            False,
            f"the worker serves {task!r} (its @worker_task task_definition_name), but definitions/tasks/ "
            f"defines {', '.join(map(repr, defined)) or 'nothing'} and the server has no {task!r}: "
            "make the names equal, then run `register`",
        )
    return False, f"the worker serves {task!r}, but the server has no definition of it: run `register`"


def _workflows_served(server: ConductorClient, project: Project, served: list[str]) -> Result:
    """Every worker task of the project's workflows, as the server has them, is one the worker serves."""
    problems = []
    workflows = workflow_definitions(project)
    for workflow in workflows:
        name, version = workflow["name"], workflow.get("version", 1)
        response = server.request("GET", f"/metadata/workflow/{name}", params={"version": version}, allow=(403, 404))
        if response.status_code != 200 or not response.content:
            problems.append(f"workflow {name} v{version} is not on the server: run `register`")
            continue
        for task in [task["name"] for task in worker_tasks(response.json().get("tasks", []))]:
            if task not in served:
                problems.append(
                    f"workflow {name} on the server uses task {task!r}, which no worker here serves "
                    f"(the worker serves {', '.join(map(repr, served))})"
                )
    if problems:
        return False, "; ".join(problems)
    return True, f"every worker task of {', '.join(w['name'] for w in workflows)} is served here"


def _pending_by_domain(server: ConductorClient, task: str) -> dict[str | None, int]:
    response = server.request("GET", "/tasks/queue/all", allow=(403, 404, 405))
    if response.status_code != 200:
        return {}
    pending: dict[str | None, int] = {}
    for queue, size in response.json().items():
        domain, _, task_type = queue.rpartition(":")
        if task_type == task and size:
            pending[domain or None] = int(size)
    return pending


def recent_poll_seconds(poll_intervals: list[float]) -> float:
    """How recent a poll must be to show a worker polling now, from the workers' poll intervals (seconds)."""
    return max(RECENT_POLL_MIN_SECONDS, RECENT_POLL_INTERVALS * max(poll_intervals, default=0.0))


def _polled_domains(server: ConductorClient, task: str, window_seconds: float) -> set[str | None]:
    """The domains `task` was polled in within the last `window_seconds` (doctor's own probe left out)."""
    response = server.request("GET", "/tasks/queue/polldata", params={"taskType": task}, allow=(403, 404))
    if response.status_code != 200:
        return set()
    now_ms = time.time() * 1000
    return {
        poll.get("domain") or None
        for poll in response.json()
        if now_ms - poll.get("lastPollTime", 0) < window_seconds * 1000 and poll.get("domain") != PROBE_DOMAIN
    }


def _label(domain: str | None) -> str:
    return f"domain '{domain}'" if domain else "no domain"


@dataclass(frozen=True)
class LiveState:
    """What the server and this machine show now, for the domain checks."""

    window_seconds: float
    polled: dict[str, set[str | None]]  # each served task: the domains it was polled in just now
    served_here: list[str] | None  # the tasks a `worker` running on this machine serves (None: none runs)


def _likely_cause(task: str, worker_domain: str | None, live: LiveState) -> str:
    polled = live.polled.get(task, set())
    if polled:  # someone polls this task, in other domains than the tasks wait in
        return (
            f"workers poll it in {', '.join(sorted(map(_label, polled)))} only: a domain mismatch "
            f"(this worker's CONDUCTOR_WORKER_ALL_DOMAIN gives {_label(worker_domain)}; the workflow's "
            "taskToDomain must name the same domain)"
        )
    if live.served_here is not None and task not in live.served_here:
        return (
            f"the worker running here serves {', '.join(live.served_here) or 'nothing yet'}, not {task}: "
            "it was started before this task was added or registered; restart it"
        )
    others = sorted(other for other, domains in live.polled.items() if other != task and domains)
    if others:
        return (
            f"a worker polls {', '.join(others)} but not {task}: it runs code from before this task was added; "
            "restart it"
        )
    return "no worker polls any task of this project now: start one (`make worker`), or check its log"


def _domains(server: ConductorClient, task: str, worker_domain: str | None, live: LiveState) -> Result:
    pending = _pending_by_domain(server, task)
    polled = live.polled.get(task, set())
    stranded = {domain: count for domain, count in pending.items() if domain not in polled}
    if stranded:
        where = ", ".join(f"{count} in {_label(domain)}" for domain, count in stranded.items())
        return (
            False,
            f"tasks wait where no worker polls now ({where}; no poll in the last {live.window_seconds:.0f}s): "
            + _likely_cause(task, worker_domain, live),
        )
    polled_text = ", ".join(sorted(_label(domain) for domain in polled)) or "none"
    return True, (
        f"worker polls {_label(worker_domain)}; polls in the last {live.window_seconds:.0f}s: {polled_text}; "
        "no task waits unpolled"
    )


def _may_poll(server: ConductorClient, task: str) -> Result:
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


def _wiring(project: Project) -> Result:
    """The shipped workflows give every worker task the inputs its definition requires."""
    problems = wiring_problems(project)
    if problems:
        return False, "; ".join(problems)
    return True, "every worker task gets the inputs its definition requires; every .input.json supplies its workflow"


def _check(name: str, check: Callable[..., Result], *args: object) -> Check:
    try:
        ok, detail = check(*args)
    except ServerError as error:
        ok, detail = False, str(error)
    return Check(name, ok, detail)


def _served_workers(project: Project) -> tuple[list[Any], Check]:
    """The SDK workers the `worker` command would serve, loaded as it loads them."""
    from ..runtime.sdk_adapter import served_workers

    try:
        workers = served_workers(project)
    except (ImportError, ValueError) as error:  # a worker module that does not load, or is not a worker
        return [], Check("workers served", False, f"{type(error).__name__}: {error}")
    if not workers:
        return [], Check("workers served", False, f"WORKERS in {project.package}.workers lists no worker")
    names = [worker.get_task_definition_name() for worker in workers]
    return workers, Check("workers served", True, ", ".join(names))


def run_checks(settings: Settings, project: Project) -> Iterator[Check]:
    """Each check in the order a person would debug; later checks need the earlier ones to pass."""
    with ConductorClient(settings) as server:
        for first in (
            _check("server reachable", _reachable, server),
            _check("credentials", _credentials, server, IDENTITY_PROBE_TASK),
        ):
            yield first
            if not first.ok:
                return
        workers, served = _served_workers(project)
        yield served
        if not served.ok:
            return
        tasks = [worker.get_task_definition_name() for worker in workers]
        window = recent_poll_seconds([worker.get_polling_interval_in_seconds() for worker in workers])
        try:
            polled = {task: _polled_domains(server, task, window) for task in tasks}
        except ServerError:
            polled = {}  # the domain checks then say no one polls; the checks above name the server's problem
        live = LiveState(window, polled, served_here(settings.health_dir))
        yield _check("worker settings", _worker_settings, tasks)
        defined = [task["name"] for task in task_definitions(project)]
        for task in tasks:
            yield _check(f"task definition {task}", _task_registered, server, task, defined)
            yield _check(f"poll permission {task}", _may_poll, server, task)
            yield _check(f"domain of {task}", _domains, server, task, settings.worker_domain, live)
        yield _check("workflows", _workflows_served, server, project, tasks)
        yield _check("workflow wiring", _wiring, project)
