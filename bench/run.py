"""`python -m bench`: one run, one real Conductor server, three clients, two workloads.

Clients: "limit" (bench/rawclient.py, plain HTTP, no SDK), "ours" (a baked project's `worker` command with
its generated defaults) and "anchor" (the same project with the SDK's defaults: 1 thread, 100 ms poll).
Workloads: "noop" (the generated example worker) and "io" (a bench task that waits ~50 ms).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import project, report
from bench.measure import Client, Workload, latency_stats, measure
from tests.harness.baked_project import BakedProject
from tests.harness.conductor_server import SERVER_VERSION, ConductorServer, free_port

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "raw"
IO_SLEEP_MS = 50


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _threads_by_batch(text: str) -> tuple[int, int]:
    threads, _, batch = text.partition("x")
    return int(threads), int(batch or 1)


def _extra(text: str) -> tuple[str, dict[str, str]]:
    """NAME:THREAD_COUNT=16,POLL_INTERVAL=50 -> a worker client with CONDUCTOR_WORKER_ALL_* overrides."""
    name, _, assignments = text.partition(":")
    env = {}
    for item in filter(None, assignments.split(",")):
        key, _, value = item.partition("=")
        env[f"CONDUCTOR_WORKER_ALL_{key.strip().upper()}"] = value.strip()
    return name, env


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server-url", help="use this running server (API URL ending in /api) instead of starting one")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report directory (default: {DEFAULT_OUT})")
    parser.add_argument("--workloads", default="noop,io", help="comma-separated: noop, io")
    parser.add_argument("--clients", default="limit,ours,anchor", help="comma-separated: limit, ours, anchor")
    parser.add_argument("--backlog-noop", type=int, default=300, help="tasks queued before the client starts")
    parser.add_argument("--backlog-io", type=int, default=200)
    parser.add_argument("--paced", type=int, default=80, help="tasks started at --rate for the latency phase")
    parser.add_argument("--rate", type=float, default=10.0, help="tasks per second in the latency phase")
    parser.add_argument("--keep", action="store_true", help="keep the baked projects and worker logs")
    parser.add_argument("--rounds", type=int, default=2, help="each client runs this many times, in alternating order")
    parser.add_argument(
        "--warmup", type=int, default=1, help="unrecorded drains per workload first (a fresh JVM is slow at first)"
    )
    parser.add_argument("--phase-timeout", type=float, default=150.0, help="seconds one drain may take")
    parser.add_argument("--limit-noop", type=_threads_by_batch, default=(16, 1), metavar="THREADSxBATCH")
    parser.add_argument("--limit-io", type=_threads_by_batch, default=(32, 1), metavar="THREADSxBATCH")
    parser.add_argument(
        "--extra",
        type=_extra,
        action="append",
        default=[],
        metavar="NAME:SETTING=V,...",
        help="another worker client with CONDUCTOR_WORKER_ALL_<SETTING> overrides (for tuning)",
    )
    args = parser.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.clients = [c for c in args.clients.split(",") if c]
    return args


def _worker_client(
    name: str,
    description: str,
    baked: BakedProject,
    api: str,
    log_dir: Path,
    env: dict[str, str],
    settings: dict[str, Any],
) -> Client:
    def launch() -> subprocess.Popen[bytes]:
        # Metrics on, as the generated .env.example ships them.
        full_env = {"CONDUCTOR_SERVER_URL": api, "WORKER_METRICS_PORT": str(free_port()), **env}
        log_name = f"worker-{name}-{int(time.time() * 1000)}.log"
        worker = baked.start_worker(env=full_env, log_name=log_name)
        return worker.process

    return Client(name=name, description=description, launch=launch, settings=settings)


def _raw_client(api: str, task: str, threads: int, batch: int, sleep_ms: float, log_dir: Path) -> Client:
    def launch() -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "bench.rawclient",
            "--api",
            api,
            "--task",
            task,
            "--threads",
            str(threads),
            "--batch",
            str(batch),
            "--sleep-ms",
            str(sleep_ms),
            *os.environ.get("BENCH_RAW_ARGS", "").split(),
        ]
        with (log_dir / "rawclient.log").open("ab") as out:
            return subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    return Client(
        name="limit",
        description="plain HTTP loop, no SDK",
        launch=launch,
        settings={"threads": threads, "batch": batch},
    )


def clients_for(
    workload: str, args: argparse.Namespace, baked: BakedProject, api: str, task: str, log_dir: Path
) -> list[Client]:
    defaults = project.decorator_defaults(baked)
    paused = {"CONDUCTOR_WORKER_BENCH_IDLE_PAUSED": "true"} if workload == "io" else {}
    sleep_ms = IO_SLEEP_MS if workload == "io" else 0
    threads, batch = args.limit_io if workload == "io" else args.limit_noop
    made: dict[str, Callable[[], Client]] = {
        "limit": lambda: _raw_client(api, task, threads, batch, sleep_ms, log_dir),
        "ours": lambda: _worker_client(
            "ours",
            "generated defaults",
            baked,
            api,
            log_dir,
            paused,
            {"thread_count": defaults["thread_count"], "poll_ms": defaults["poll_interval_millis"]},
        ),
        "anchor": lambda: _worker_client(
            "anchor",
            "SDK defaults",
            baked,
            api,
            log_dir,
            {**paused, "CONDUCTOR_WORKER_ALL_THREAD_COUNT": "1", "CONDUCTOR_WORKER_ALL_POLL_INTERVAL": "100"},
            {"thread_count": 1, "poll_ms": 100},
        ),
    }
    chosen = [made[name]() for name in args.clients]
    for name, env in args.extra:
        settings = {key.removeprefix("CONDUCTOR_WORKER_ALL_").lower(): value for key, value in env.items()}
        chosen.append(_worker_client(name, "tuning candidate", baked, api, log_dir, {**paused, **env}, settings))
    return chosen


def _workload(name: str, baked: BakedProject, args: argparse.Namespace) -> Workload:
    if name == "noop":
        return Workload(
            "noop",
            "no-op",
            project.NOOP_TASK,
            f"{baked.package}_example",
            project.example_input(baked),
            args.backlog_noop,
        )
    return Workload(
        "io",
        f"I/O-bound ({IO_SLEEP_MS} ms)",
        project.IO_TASK,
        project.IO_WORKFLOW,
        {"duration_ms": IO_SLEEP_MS},
        args.backlog_io,
    )


def aggregate(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per workload and client over all rounds.

    Throughput and start-up: the best round (other load on the machine only ever slows a client down);
    the worst start-up is kept too. Latency: percentiles over the paced tasks of every round. Memory: the peak.
    """
    rows: list[dict[str, Any]] = []
    for key in dict.fromkeys((r["workload"], r["client"]) for r in rounds):
        mine = [r for r in rounds if (r["workload"], r["client"]) == key]
        rates = [r["tasks_per_s"] for r in mine if r.get("tasks_per_s") == r.get("tasks_per_s")]
        polls = [r["first_poll_s"] for r in mine if "first_poll_s" in r]
        to_start = [v for r in mine for v in r.get("paced_start_ms", [])]
        to_end = [v for r in mine for v in r.get("paced_complete_ms", [])]
        row = {
            "workload": key[0],
            "client": key[1],
            "settings": mine[0]["settings"],
            "rounds": len(mine),
            "tasks_per_s": max(rates, default=float("nan")),
            "tasks_per_s_rounds": rates,
            "first_poll_s": min(polls, default=float("nan")),
            "first_poll_worst_s": max(polls, default=float("nan")),
            "peak_rss_bytes": max(r.get("peak_rss_bytes", 0) for r in mine),
            "pss_bytes": max(r.get("pss_bytes", 0) for r in mine),
            "processes": max(r.get("processes", 0) for r in mine),
            "peak_rss_by_process_mb": max((r.get("peak_rss_by_process_mb", []) for r in mine), key=sum),
            "drained": all(r.get("drained") for r in mine),
            "backlog": sum(r.get("backlog", 0) for r in mine),
            "backlog_completed": sum(r.get("backlog_completed", 0) for r in mine),
            "stalls": sum(r.get("stalls", 0) for r in mine),
            "stalled_s": sum(r.get("stalled_s", 0) for r in mine),
        }
        row.update(latency_stats(to_start, to_end))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out))
    os.environ.setdefault("TMPDIR", str(work))  # cookiecutter leaves rendered hook scripts there
    began = time.time()
    load_before = os.getloadavg()

    server: ConductorServer | None = None
    try:
        if args.server_url:
            api = args.server_url.rstrip("/")
        else:
            log("starting the Conductor server")
            server = ConductorServer().start()
            api = server.api_url
        log(f"server {api}; baking and installing the projects")
        projects: dict[str, BakedProject] = {}
        if "noop" in args.workloads:
            projects["noop"] = project.bake_noop(work / "noop").install()
        if "io" in args.workloads:
            projects["io"] = project.bake_io(work / "io").install()
        for baked in projects.values():
            baked.cli("register", env={"CONDUCTOR_SERVER_URL": api}, check=True)
        poll_ms = project.decorator_defaults(next(iter(projects.values())))["poll_interval_millis"]

        for name in args.workloads:
            for _ in range(args.warmup):
                workload = _workload(name, projects[name], args)
                log(f"warm-up: {name}, not recorded")
                paused = {"CONDUCTOR_WORKER_BENCH_IDLE_PAUSED": "true"} if name == "io" else {}
                warm = _worker_client("warm-up", "not recorded", projects[name], api, work, paused, {})
                measure(api, workload, warm, args.paced, args.rate, args.phase_timeout, log)
        rounds: list[dict[str, Any]] = []
        for round_number in range(1, args.rounds + 1):
            for name in args.workloads:
                workload = _workload(name, projects[name], args)
                clients = clients_for(name, args, projects[name], api, workload.task, work)
                if round_number % 2 == 0:
                    clients.reverse()  # alternate the order, so no client always runs first
                for client in clients:
                    log(f"round {round_number}/{args.rounds}")
                    measured = measure(api, workload, client, args.paced, args.rate, args.phase_timeout, log)
                    rounds.append({**measured, "round": round_number})
                    (out / "rounds.json").write_text(json.dumps(rounds, indent=2))  # survives an interrupted run
        results = aggregate(rounds)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(began)),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "server": f"Conductor OSS {SERVER_VERSION} boot jar, SQLite, same machine (loopback)",
        "load average (1 min) before / after": f"{load_before[0]:.2f} / {load_after[0]:.2f}",
        "run time": f"{time.time() - began:.0f} s",
        "rounds": f"{args.rounds} (client order alternates)",
        "counts": f"backlog {args.backlog_noop} no-op / {args.backlog_io} I/O tasks; "
        f"latency phase {args.paced} tasks at {args.rate:g}/s",
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results, "rounds": rounds}, indent=2))
    report.chart(results, out / "benchmark.png")
    (out / "benchmark.md").write_text(report.markdown(results, meta, poll_ms, "benchmark.png"))
    print()
    print(report.table(results))
    print()
    print(report.ratios_text(results))
    for name, ok, measured in report.checks(results, poll_ms):
        print(f"{'met' if ok else 'NOT met' if ok is False else 'n/a'}: {name} ({measured})")
    print(f"\nreport: {out / 'benchmark.md'}, chart: {out / 'benchmark.png'}")
    return 0
