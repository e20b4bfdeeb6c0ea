"""What an idle worker costs at a few poll intervals: polls per second, its CPU and the server's.

    .venv/bin/python -m bench.idle_cost                       # starts its own server
    .venv/bin/python -m bench.idle_cost --intervals 100,10 --seconds 30

Bakes the default project, registers it, and for each poll interval runs its `worker` command with
`CONDUCTOR_WORKER_ALL_POLL_INTERVAL` set and nothing queued. After a settling pause it counts the polls
the SDK recorded (`task_poll_total` on the worker's `/metrics`) and, from the benchmark's sampler, the CPU
time of the worker's process tree and of the server's JVM over `--seconds`, and prints a markdown table.
Below 100 ms the generated runtime polls without the server's hold (`sdk.py`), so each poll answers at once.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.sampling import TreeSampler, listening_pid
from harness.baked_project import BakedProject, bake_for_server
from harness.conductor_server import ConductorServer, free_port
from harness.metrics_scrape import samples, scrape

SETTLE_SECONDS = 5.0


def _polls(metrics_port: int) -> float:
    """Every poll the worker's SDK has counted so far, over all its task types."""
    return sum(value for name, _, value in samples(scrape(metrics_port)) if name == "task_poll_total")


def measure(project: BakedProject, api: str, server_pid: int, interval_ms: int, seconds: float) -> dict[str, float]:
    port = free_port()
    env = {
        "CONDUCTOR_SERVER_URL": api,
        "WORKER_METRICS_PORT": str(port),
        "CONDUCTOR_WORKER_ALL_POLL_INTERVAL": str(interval_ms),
        "WORKER_HEALTH_DIR": str(project.path / f"health-{interval_ms}"),
    }
    worker = project.start_worker(env=env, log_name=f"idle-{interval_ms}.log")
    sampler = TreeSampler(worker.process.pid, server_pid)
    sampler.start()
    try:
        time.sleep(SETTLE_SECONDS)
        polls, began = _polls(port), time.time()
        time.sleep(seconds)
        polls, ended = _polls(port) - polls, time.time()
    finally:
        sampler.stop()
        assert worker.stop() == 0, worker.log()
    window = sampler.cpu_between(began, ended)
    if window is None or window.server_s is None:
        raise SystemExit("the CPU samples do not cover the measured window")
    return {
        "interval_ms": interval_ms,
        "polls_per_s": polls / (ended - began),
        "worker_cores": window.client_s / window.wall_s,
        "server_cores": window.server_s / window.wall_s,
    }


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| poll interval | polls/s | worker tree CPU (% of a core) | server JVM CPU (% of a core) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        held = "held" if row["interval_ms"] >= 100 else "not held"
        lines.append(
            f"| {row['interval_ms']:.0f} ms ({held}) | {row['polls_per_s']:.1f} | {100 * row['worker_cores']:.1f} "
            f"| {100 * row['server_cores']:.1f} |"
        )
    return "\n".join(lines)


def run(api: str, intervals: list[int], seconds: float) -> str:
    server_pid = listening_pid(urlsplit(api).port or 80)
    if server_pid is None:
        raise SystemExit(f"no process on this machine listens at {api}: the server's CPU cannot be read")
    with tempfile.TemporaryDirectory(prefix="idle-cost-") as directory:
        project = bake_for_server(Path(directory), api)
        return table([measure(project, api, server_pid, interval, seconds) for interval in intervals])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", help="a running server's API URL on this machine (default: start one)")
    parser.add_argument("--intervals", default="100,50,10", help="poll intervals in ms (default 100,50,10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per interval (default 20)")
    args = parser.parse_args(argv)
    intervals = [int(value) for value in args.intervals.split(",") if value]
    if args.server_url:
        print(run(args.server_url.rstrip("/"), intervals, args.seconds))
        return 0
    with ConductorServer() as server:
        print(run(server.api_url, intervals, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
