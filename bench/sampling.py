"""What a client costs while it runs: memory and CPU of its process tree, of the server, of the machine.

One thread samples every `interval` seconds with psutil. CPU counters are cumulative, so the CPU spent in
any window (say, from a drain's first task to its last) is the difference of two samples; a process that
exits keeps its last reading, so its CPU is not lost from later windows.
"""

import bisect
import contextlib
import os
import threading
import time
from dataclasses import dataclass, field

import psutil


def _cpu_seconds(times: object) -> float:
    return float(getattr(times, "user", 0.0)) + float(getattr(times, "system", 0.0))


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class CpuSample:
    at: float  # time.time()
    client: dict[int, float]  # pid -> cumulative CPU seconds, exited processes kept at their last value
    server: float
    machine: float


@dataclass
class CpuWindow:
    """CPU seconds spent in one window of wall time, and the verdict on what bound the phase."""

    wall_s: float
    server_s: float | None  # None: the server process is not on this machine (or not found)
    client_s: float
    busiest_client_process_s: float
    other_s: float  # the rest of the machine: the benchmark itself and anything else running
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def bound(self) -> str:
        """client-bound: one client process used a whole core (a Python process runs its Python code on one
        core at a time). CPU-saturated: every core was busy; named after whichever of server, client and the
        rest of the machine used most. Otherwise the phase waited (round trips, long polls, the tasks' waits)."""
        if self.wall_s <= 0:
            return "n/a"
        if self.busiest_client_process_s / self.wall_s >= 0.85:
            return "client-bound (a client process at a full core)"
        users = {"server": self.server_s or 0.0, "client": self.client_s, "other": self.other_s}
        if sum(users.values()) / self.wall_s >= 0.9 * self.cores:
            top = max(users, key=lambda name: users[name])
            if top == "other":
                return "CPU-saturated by other load (the figures are noise)"
            return f"CPU-saturated, {top}-bound ({top} used most of it)"
        return "not CPU-bound (waits)"

    def as_dict(self) -> dict[str, object]:
        return {
            "wall_s": round(self.wall_s, 3),
            "server_cpu_s": None if self.server_s is None else round(self.server_s, 3),
            "client_cpu_s": round(self.client_s, 3),
            "busiest_client_process_cpu_s": round(self.busiest_client_process_s, 3),
            "other_cpu_s": round(self.other_s, 3),
            "cores": self.cores,
            "bound": self.bound,
        }


class TreeSampler(threading.Thread):
    """Samples RSS and CPU of a process and all its descendants (and the server's CPU) until stopped."""

    def __init__(self, pid: int, server_pid: int | None, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.server = _process(server_pid)
        self.peak_rss = 0
        self.peak_processes = 0
        self.peak_sizes: list[int] = []
        self.rss_series: list[tuple[float, int]] = []
        self.cpu_series: list[CpuSample] = []
        self._cpu_last: dict[int, float] = {}
        self.done = threading.Event()
        self._lock = threading.Lock()

    def tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    def sample(self) -> None:
        sizes: list[int] = []
        with contextlib.suppress(psutil.Error):
            for process in self.tree():
                with contextlib.suppress(psutil.Error), process.oneshot():
                    sizes.append(process.memory_info().rss)
                    self._cpu_last[process.pid] = _cpu_seconds(process.cpu_times())
        server = 0.0
        if self.server is not None:
            with contextlib.suppress(psutil.Error):
                server = _cpu_seconds(self.server.cpu_times())
        now = time.time()
        with self._lock:
            self.cpu_series.append(CpuSample(now, dict(self._cpu_last), server, machine_busy_seconds()))
            if sizes:
                self.rss_series.append((now, sum(sizes)))
            if sum(sizes) > self.peak_rss:
                self.peak_rss, self.peak_processes = sum(sizes), len(sizes)
                self.peak_sizes = sorted(sizes, reverse=True)

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def stop(self) -> None:
        self.done.set()
        self.join()

    def rss_between(self, start: float, end: float) -> int:
        """Highest summed RSS of the tree sampled in [start, end] (time.time() seconds)."""
        with self._lock:
            return max((rss for at, rss in self.rss_series if start <= at <= end), default=0)

    def cpu_between(self, start: float, end: float) -> CpuWindow | None:
        """CPU spent from `start` to `end` (time.time() seconds), from the samples closest outside the window."""
        with self._lock:
            series = list(self.cpu_series)
        if len(series) < 2:
            return None
        times = [s.at for s in series]
        first = series[max(0, bisect.bisect_right(times, start) - 1)]
        last = series[min(len(series) - 1, bisect.bisect_left(times, end))]
        if last.at <= first.at:
            return None
        per_process = {pid: cpu - first.client.get(pid, 0.0) for pid, cpu in last.client.items()}
        client = sum(per_process.values())
        server = None if self.server is None else last.server - first.server
        other = max(0.0, (last.machine - first.machine) - client - (server or 0.0))
        return CpuWindow(
            wall_s=last.at - first.at,
            server_s=server,
            client_s=client,
            busiest_client_process_s=max(per_process.values(), default=0.0),
            other_s=other,
        )

    def pss(self) -> int:
        """Proportional set size of the tree now: shared pages are split, not counted once per process."""
        total = 0
        with contextlib.suppress(psutil.Error):
            for process in self.tree():
                with contextlib.suppress(psutil.Error, AttributeError):
                    total += process.memory_full_info().pss
        return total


def _process(pid: int | None) -> psutil.Process | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def listening_pid(port: int) -> int | None:
    """The process listening on this local TCP port (the server when --server-url points at this machine)."""
    with contextlib.suppress(psutil.Error):
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
                return connection.pid
    return None
