"""Load, drain and measure one client (a process tree) on one workload."""

import contextlib
import itertools
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.rest import Rest
from bench.sampling import TreeSampler
from bench.stats import percentile

IDLE_WINDOW_S = 3.0  # idle memory: the highest RSS over this long once every task type was polled
STALL_MS = 1000


@dataclass
class Workload:
    name: str
    title: str
    task_types: list[str]
    workflows: list[str]  # one-task workflows, one per task type; the backlog is spread over them
    input: dict[str, Any]
    backlog: int
    paced: int = 0  # tasks started at a steady rate after the drain, for latency (0: no latency phase)
    idle_first: bool = False  # start the client with nothing queued and measure its idle memory first
    sleep_ms: float = 0.0  # what each task waits (the raw client waits the same)


@dataclass
class Client:
    """One contender: `launch()` starts its process tree and returns the root Popen."""

    name: str
    description: str
    launch: Callable[[], subprocess.Popen[bytes]]
    settings: dict[str, Any] = field(default_factory=dict)


def _local(api: str) -> Callable[[], Rest]:
    store = threading.local()

    def get() -> Rest:
        if not hasattr(store, "rest"):
            store.rest = Rest(api)
        return store.rest

    return get


def _start(rest: Rest, workflow: str, workflow_input: dict[str, Any]) -> str:
    body = {"name": workflow, "version": 1, "input": workflow_input}
    return str(rest.request("POST", "/workflow", body=body)).strip().strip('"')


def start_workflows(api: str, workload: Workload, count: int, threads: int = 6) -> list[str]:
    rest = _local(api)
    names = itertools.cycle(workload.workflows)
    order = [next(names) for _ in range(count)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda name: _start(rest(), name, workload.input), order))


def start_paced(api: str, workload: Workload, count: int, rate: float) -> list[str]:
    """Start `count` workflows at a steady `rate` per second (below every client's capacity)."""
    rest, ids, begin = Rest(api), [], time.monotonic()
    for n, name in zip(range(count), itertools.cycle(workload.workflows), strict=False):
        delay = begin + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ids.append(_start(rest, name, workload.input))
    rest.close()
    return ids


def wait_finished(api: str, workload: Workload, ids: list[str], timeout: float) -> bool:
    rest, wanted, deadline = Rest(api), set(ids), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            running: set[str] = set()
            for name in workload.workflows:
                running.update(rest.request("GET", f"/workflow/running/{name}", params={"version": 1}) or [])
            if not wanted.intersection(running):
                return True
            time.sleep(0.25)
        return False
    finally:
        rest.close()


def wait_polling(api: str, task_types: list[str], since: float, timeout: float) -> bool:
    """Until the server has seen a poll for every task type after `since` (time.time() seconds)."""
    rest, deadline = Rest(api), time.monotonic() + timeout
    try:
        waiting = set(task_types)
        while waiting and time.monotonic() < deadline:
            for task_type in list(waiting):
                polls = rest.request("GET", "/tasks/queue/polldata", params={"taskType": task_type}) or []
                if any((p.get("lastPollTime") or 0) / 1000 >= since for p in polls):
                    waiting.discard(task_type)
            time.sleep(0.2)
        return not waiting
    finally:
        rest.close()


def fetch_tasks(api: str, ids: list[str]) -> list[dict[str, Any]]:
    rest = _local(api)

    def one(workflow_id: str) -> dict[str, Any]:
        workflow = rest().request("GET", f"/workflow/{workflow_id}", params={"includeTasks": "true"})
        task = workflow["tasks"][0] if workflow.get("tasks") else {}
        return {
            "workflow_status": workflow.get("status"),
            "status": task.get("status"),
            "scheduled": task.get("scheduledTime") or 0,
            "started": task.get("startTime") or 0,
            "ended": task.get("endTime") or 0,
        }

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(one, ids))


def terminate(api: str, ids: list[str]) -> None:
    rest = Rest(api)
    for workflow_id in ids:
        with contextlib.suppress(Exception):  # finished ones refuse; that is fine
            rest.request("DELETE", f"/workflow/{workflow_id}", params={"reason": "benchmark phase timed out"})
    rest.close()


def latencies(tasks: list[dict[str, Any]]) -> dict[str, list[float]]:
    done = [t for t in tasks if t["status"] == "COMPLETED" and t["started"] and t["ended"]]
    return {
        "paced_start_ms": [t["started"] - t["scheduled"] for t in done],
        "paced_complete_ms": [t["ended"] - t["scheduled"] for t in done],
    }


def latency_stats(to_start: list[float], to_end: list[float]) -> dict[str, float]:
    stats: dict[str, float] = {"completed": len(to_start)}
    for q in (50, 95, 99):
        stats[f"start_p{q}_ms"] = percentile(to_start, q)
        stats[f"complete_p{q}_ms"] = percentile(to_end, q)
    return stats


def drain_stats(done: list[dict[str, Any]]) -> dict[str, Any]:
    """Drain rate over the time the server kept tasks flowing.

    Now and then the server hands out nothing for up to a minute, whichever client is polling (seen
    with the raw client as well as the SDK; likelier on a loaded machine). A gap of more than STALL_MS
    between two completions is such a stall: it is left out of the rate, and counted and reported.
    """
    events = [min(t["started"] for t in done), *sorted(t["ended"] for t in done)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(events)]
    active_ms = sum(gap for gap in gaps if gap <= STALL_MS)
    stalls = [gap for gap in gaps if gap > STALL_MS]
    return {
        "tasks_per_s": len(done) / (active_ms / 1000) if active_ms > 0 else float("nan"),
        "wall_tasks_per_s": len(done) / ((events[-1] - events[0]) / 1000) if events[-1] > events[0] else float("nan"),
        "stalls": len(stalls),
        "stalled_s": sum(stalls) / 1000,
        "drain_start": events[0] / 1000,
        "drain_end": events[-1] / 1000,
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(
    api: str,
    workload: Workload,
    client: Client,
    rate: float,
    timeout: float,
    log: Callable[[str], None],
    server_pid: int | None = None,
    paced: bool = True,
) -> dict[str, Any]:
    """Backlog drain (throughput, start to first task, memory, CPU), then the workload's paced phase (latency).

    Normally the backlog is queued first and then the client started, so the first task's start time
    tells how long the client took to start. With `workload.idle_first`, the client starts on an empty
    queue and its idle memory is sampled once it polls every task type; then the backlog is queued.
    """
    tag = f"[{workload.name}/{client.name}]"
    result: dict[str, Any] = {"workload": workload.name, "client": client.name, "settings": client.settings}
    backlog: list[str] = []
    if not workload.idle_first:
        log(f"{tag} queueing {workload.backlog} workflows")
        backlog = start_workflows(api, workload, workload.backlog)
    launched = time.time()
    process = client.launch()
    sampler = TreeSampler(process.pid, server_pid)
    sampler.start()
    try:
        if workload.idle_first:
            if not wait_polling(api, workload.task_types, launched, timeout):
                raise RuntimeError(f"{tag} not every task type was polled within {timeout:.0f} s")
            polling = time.time()
            result["all_polling_s"] = polling - launched
            time.sleep(IDLE_WINDOW_S)
            result["idle_rss_bytes"] = sampler.rss_between(polling, time.time())
            log(f"{tag} polling every task type after {polling - launched:.1f} s; queueing {workload.backlog}")
            backlog = start_workflows(api, workload, workload.backlog)
        drained = wait_finished(api, workload, backlog, timeout)
        tasks = fetch_tasks(api, backlog)
        if not drained:
            terminate(api, backlog)
        done = [t for t in tasks if t["status"] == "COMPLETED" and t["started"] and t["ended"]]
        result.update(backlog=workload.backlog, backlog_completed=len(done), drained=drained)
        if done:
            result.update(drain_stats(done))
            if not workload.idle_first:
                result["first_poll_s"] = result["drain_start"] - launched
            window = sampler.cpu_between(result["drain_start"], result["drain_end"])
            result["cpu"] = window.as_dict() if window else None
        result["load_rss_bytes"] = sampler.peak_rss
        log(
            f"{tag} drained {len(done)}/{workload.backlog}: {result.get('tasks_per_s', float('nan')):.1f} tasks/s"
            + (f", first task after {result['first_poll_s']:.2f} s" if "first_poll_s" in result else "")
            + (f"; {result['cpu']['bound']}" if result.get("cpu") else "")
        )

        if paced and workload.paced:
            time.sleep(2.0)  # idle: the client backs off to its poll interval before the paced phase
            paced_ids = start_paced(api, workload, workload.paced, rate)
            finished = wait_finished(api, workload, paced_ids, timeout)
            paced_tasks = fetch_tasks(api, paced_ids)
            if not finished:
                terminate(api, paced_ids)
            result.update(paced=workload.paced, rate_per_s=rate, **latencies(paced_tasks))
            result.update(latency_stats(result["paced_start_ms"], result["paced_complete_ms"]))
            log(
                f"{tag} paced {workload.paced} at {rate:g}/s: p50 start "
                f"{result['start_p50_ms']:.0f} ms, p50 complete {result['complete_p50_ms']:.0f} ms"
            )
        result["pss_bytes"] = sampler.pss()
    finally:
        _stop(process)
        sampler.stop()
    result["peak_rss_bytes"] = sampler.peak_rss
    result["processes"] = sampler.peak_processes
    result["peak_rss_by_process_mb"] = [round(size / 2**20) for size in sampler.peak_sizes]
    return result
