"""What an idle worker costs: polls per second, its CPU and the server's, for a few polling setups.

    .venv/bin/python -m bench.idle_cost                       # starts its own server
    .venv/bin/python -m bench.idle_cost --setups held,adaptive --seconds 30

Bakes the default project, registers it, and for each setup runs its `worker` command with nothing queued.
After a settling pause it counts the polls the SDK recorded (`task_poll_total` on the worker's `/metrics`)
and, from the benchmark's sampler, the CPU time of the worker's process tree and of the server's JVM over
`--seconds`, and prints a markdown table. `python -m bench` runs the same measurement once per round.

Setups: "adaptive" (the generated default: held polls while quiet, unheld every 10 ms for 2 s after work;
an idle worker never had work, so it should cost what "held" costs), "held" (the previous default,
`WORKER_BUSY_SECONDS=0`: every poll held) and "busy" (unheld every 10 ms all the time,
`CONDUCTOR_WORKER_ALL_POLL_INTERVAL=10`: what an adaptive worker costs during its busy spells).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.sampling import TreeSampler, listening_pid
from harness.baked_project import BakedProject, bake_for_server
from harness.conductor_server import ConductorServer, free_port
from harness.metrics_scrape import samples, scrape
from harness.waiting import wait_until

SETTLE_SECONDS = 5.0
SETUPS: dict[str, dict[str, str]] = {
    "adaptive": {},
    "held": {"WORKER_BUSY_SECONDS": "0"},
    "busy": {"CONDUCTOR_WORKER_ALL_POLL_INTERVAL": "10"},
}
DESCRIBED = {
    "adaptive": "generated default (adaptive)",
    "held": "previous default: every poll held",
    "busy": "unheld every 10 ms (an adaptive worker while busy)",
}


def _polls(metrics_port: int) -> float:
    """Every poll the worker's SDK has counted so far, over all its task types."""
    return sum(value for name, _, value in samples(scrape(metrics_port)) if name == "task_poll_total")


def _answers(metrics_port: int) -> bool:
    try:
        scrape(metrics_port)
    except OSError:  # not listening yet: the worker is starting
        return False
    return True


def measure(
    project: BakedProject, api: str, server_pid: int, setup: str, seconds: float, settle: float = SETTLE_SECONDS
) -> dict[str, Any]:
    port = free_port()
    env = {
        "CONDUCTOR_SERVER_URL": api,
        "WORKER_METRICS_PORT": str(port),
        "WORKER_HEALTH_DIR": str(project.path / f"health-{setup}"),
        **SETUPS[setup],
    }
    worker = project.start_worker(env=env, log_name=f"idle-{setup}.log")
    sampler = TreeSampler(worker.process.pid, server_pid)
    sampler.start()
    try:
        wait_until(lambda: _answers(port), 60, f"the worker's /metrics on port {port} never answered", worker.log)
        time.sleep(settle)
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
        "setup": setup,
        "polls_per_s": polls / (ended - began),
        "worker_cores": window.client_s / window.wall_s,
        "server_cores": window.server_s / window.wall_s,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| setup | polls/s | worker tree CPU (% of a core) | server JVM CPU (% of a core) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['setup']} ({DESCRIBED[row['setup']]}) | {row['polls_per_s']:.1f} "
            f"| {100 * row['worker_cores']:.1f} | {100 * row['server_cores']:.1f} |"
        )
    return "\n".join(lines)


def run(api: str, setups: list[str], seconds: float) -> str:
    server_pid = listening_pid(urlsplit(api).port or 80)
    if server_pid is None:
        raise SystemExit(f"no process on this machine listens at {api}: the server's CPU cannot be read")
    with tempfile.TemporaryDirectory(prefix="idle-cost-") as directory:
        project = bake_for_server(Path(directory), api)
        return table([measure(project, api, server_pid, setup, seconds) for setup in setups])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", help="a running server's API URL on this machine (default: start one)")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"comma-separated (default {','.join(SETUPS)})")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per setup (default 20)")
    args = parser.parse_args(argv)
    setups = [value for value in args.setups.split(",") if value]
    unknown = sorted(set(setups) - set(SETUPS))
    if unknown:
        parser.error(f"unknown setup: {', '.join(unknown)}")
    if args.server_url:
        print(run(args.server_url.rstrip("/"), setups, args.seconds))
        return 0
    with ConductorServer() as server:
        print(run(server.api_url, setups, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
