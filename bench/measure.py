"""Load, drain and measure one client (a worker process tree) on one workload."""

import contextlib
import itertools
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.rest import Rest

TERMINAL = {"COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "TERMINATED", "CANCELED"}


@dataclass
class Workload:
    name: str
    title: str
    task: str
    workflow: str
    input: dict[str, Any]
    backlog: int


@dataclass
class Client:
    """One contender: `launch()` starts its process tree and returns the root Popen."""

    name: str
    description: str
    launch: Callable[[], subprocess.Popen[bytes]]
    settings: dict[str, Any] = field(default_factory=dict)


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = 0
        self.peak_processes = 0
        self.peak_sizes: list[int] = []
        self.done = threading.Event()

    def tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    def run(self) -> None:
        while not self.done.is_set():
            try:
                sizes = []
                for process in self.tree():
                    with contextlib.suppress(psutil.Error):
                        sizes.append(process.memory_info().rss)
                if sum(sizes) > self.peak_rss:
                    self.peak_rss, self.peak_processes = sum(sizes), len(sizes)
                    self.peak_sizes = sorted(sizes, reverse=True)
            except psutil.Error:
                pass
            self.done.wait(self.interval)

    def pss(self) -> int:
        """Proportional set size of the tree now: shared pages are split, not counted once per process."""
        total = 0
        try:
            for process in self.tree():
                with contextlib.suppress(psutil.Error, AttributeError):
                    total += process.memory_full_info().pss
        except psutil.Error:
            pass
        return total


def _local(api: str) -> Callable[[], Rest]:
    store = threading.local()

    def get() -> Rest:
        if not hasattr(store, "rest"):
            store.rest = Rest(api)
        return store.rest

    return get


def start_workflows(api: str, workload: Workload, count: int, threads: int = 6) -> list[str]:
    rest = _local(api)
    body = {"name": workload.workflow, "version": 1, "input": workload.input}

    def one(_: int) -> str:
        return str(rest().request("POST", "/workflow", body=body)).strip().strip('"')

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def start_paced(api: str, workload: Workload, count: int, rate: float) -> list[str]:
    """Start `count` workflows at a steady `rate` per second (below every client's capacity)."""
    rest = Rest(api)
    body = {"name": workload.workflow, "version": 1, "input": workload.input}
    ids, begin = [], time.monotonic()
    for n in range(count):
        delay = begin + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ids.append(str(rest.request("POST", "/workflow", body=body)).strip().strip('"'))
    rest.close()
    return ids


def wait_finished(api: str, workload: Workload, ids: list[str], timeout: float) -> bool:
    rest, wanted, deadline = Rest(api), set(ids), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            running = rest.request("GET", f"/workflow/running/{workload.workflow}", params={"version": 1}) or []
            if not wanted.intersection(running):
                return True
            time.sleep(0.25)
        return False
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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


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


STALL_MS = 1000


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
    }


def measure(
    api: str, workload: Workload, client: Client, paced: int, rate: float, timeout: float, log: Callable[[str], None]
) -> dict[str, Any]:
    """Backlog drain (throughput, start to first poll), then a paced phase (latency), under one process tree."""
    result: dict[str, Any] = {"workload": workload.name, "client": client.name, "settings": client.settings}
    log(f"[{workload.name}/{client.name}] queueing {workload.backlog} workflows")
    backlog = start_workflows(api, workload, workload.backlog)

    launched = time.time()
    process = client.launch()
    sampler = TreeSampler(process.pid)
    sampler.start()
    try:
        drained = wait_finished(api, workload, backlog, timeout)
        tasks = fetch_tasks(api, backlog)
        if not drained:
            terminate(api, backlog)
        done = [t for t in tasks if t["status"] == "COMPLETED" and t["started"] and t["ended"]]
        result["backlog"] = workload.backlog
        result["backlog_completed"] = len(done)
        result["drained"] = drained
        if done:
            result.update(drain_stats(done))
            result["first_poll_s"] = min(t["started"] for t in done) / 1000 - launched
        log(
            f"[{workload.name}/{client.name}] drained {len(done)}/{workload.backlog}: "
            f"{result.get('tasks_per_s', float('nan')):.1f} tasks/s, first poll {result.get('first_poll_s', 0):.2f} s"
        )

        time.sleep(2.0)  # idle: the client backs off to its poll interval before the paced phase
        paced_ids = start_paced(api, workload, paced, rate)
        finished = wait_finished(api, workload, paced_ids, timeout)
        paced_tasks = fetch_tasks(api, paced_ids)
        if not finished:
            terminate(api, paced_ids)
        result["paced"] = paced
        result["rate_per_s"] = rate
        result.update(latencies(paced_tasks))
        result.update(latency_stats(result["paced_start_ms"], result["paced_complete_ms"]))
        result["pss_bytes"] = sampler.pss()
        log(
            f"[{workload.name}/{client.name}] paced {paced} at {rate:g}/s: p50 start "
            f"{result['start_p50_ms']:.0f} ms, p50 complete {result['complete_p50_ms']:.0f} ms"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sampler.done.set()
        sampler.join()
    result["peak_rss_bytes"] = sampler.peak_rss
    result["processes"] = sampler.peak_processes
    result["peak_rss_by_process_mb"] = [round(size / 2**20) for size in sampler.peak_sizes]
    return result
