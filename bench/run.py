"""`python -m bench`: one run, one real Conductor server, every client and workload in rounds, the order rotating.

Clients: "limit" (bench/rawclient.py, plain HTTP, no SDK, at the best point of a threads x batch grid swept
in the same run), "ours" (a baked project's `worker` command with its generated defaults: adaptive polling),
"ours-held" (the same with the previous default, every poll held: WORKER_BUSY_SECONDS=0; no-op workload only),
"ours-json" and "ours-traced" (the same with WORKER_LOG_FORMAT=json, and with OpenTelemetry traces sent to a
real OTLP/HTTP receiver in this process: no-op workload only, their cost) and "anchor" (the same project with
the SDK's defaults: 1 thread, 100 ms poll).
Workloads: "noop" (the generated example worker), "io" (a sync worker that sleeps 50 ms), "async" (an
`async def` worker that awaits 200 ms, 1000-task backlog), "types1" / "types10" (memory of a project with
one task type and with ten, idle and under load). Each round also times one SDK import ("import") and
measures what an idle worker costs ("idle", bench/idle_cost.py): adaptive, held and busy polling side by side,
and the CPU per log line, per span and per task of the SDK's metrics without a server ("costs",
bench/log_cost.py, span_cost.py and metrics_cost.py).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import idle_cost, project, report, server_time
from bench.measure import Client, Workload, measure, start_workflows, terminate
from bench.sampling import listening_pid
from bench.stats import Row, aggregate
from harness.baked_project import BakedProject
from harness.conductor_server import SERVER_VERSION, ConductorServer, free_port
from harness.trace_receiver import TraceReceiver

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "raw"
WORKLOADS = ("noop", "io", "async", "types1", "types10")
CLIENTS = ("limit", "ours", "ours-held", "ours-json", "ours-traced", "anchor")
CLIENTS_BY_WORKLOAD = {
    "noop": ("limit", "ours", "ours-held", "ours-json", "ours-traced", "anchor"),
    "io": ("limit", "ours", "anchor"),
    "async": ("limit", "ours"),
    "types1": ("ours",),
    "types10": ("ours",),
}
# The previous default: every poll held (adaptive polling off).
HELD = {"WORKER_BUSY_SECONDS": "0"}
PROJECT_BY_WORKLOAD = {"noop": "noop", "types1": "noop", "io": "io", "async": "io", "types10": "ten"}
BAKE = {"noop": project.bake_noop, "io": project.bake_io, "ten": project.bake_ten}
ANCHOR_LEFT_OUT = {
    "async/anchor": "the anchor (SDK defaults: one task at a time) would need about 1000 x 200 ms = 200 s per round; "
    "its rate is bounded by 5 tasks/s"
}
IMPORT_PROBE = (
    "import time; began = time.perf_counter(); import conductor.client.automator.task_handler; "
    "print(time.perf_counter() - began)"
)
# The full run's counts; --quick replaces them with tiny ones (the test suite's smoke run).
# Drains of 600 tasks: at ~150 tasks/s a 200-task drain lasted ~1.3 s, and the same two clients' ratio swung
# 0.91-1.14x between rounds of one run (2026-12-06); 800-task drains gave 0.89-0.92x. Two warm-ups: the
# server's JVM was still speeding up after the first (100, 137, 144 tasks/s over three 800-task drains).
FULL = {
    "rounds": 3,
    "warmup": 2,
    "backlog": {"noop": 600, "io": 600, "async": 1000, "types1": 100, "types10": 100},
    "paced": 60,
    "grid": {"noop": "8,16,32x1,4", "io": "16,32x1,4", "async": "16,32x4,8"},
    "idle": (5.0, 15.0),  # idle cost: settling, then measured seconds, per setup and round
}
QUICK = {
    "rounds": 1,
    "warmup": 0,
    "backlog": {"noop": 12, "io": 12, "async": 24, "types1": 20, "types10": 20},
    "paced": 6,
    "grid": {"noop": "4,8x1", "io": "8x1,2", "async": "8x2,4"},
    "idle": (1.0, 2.0),
}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def grid(text: str) -> list[tuple[int, int]]:
    """ "8,16,32x1,4" -> every (threads, batch) pair of the two lists."""
    threads, _, batches = text.partition("x")
    try:
        return [(int(t), int(b)) for t in threads.split(",") for b in (batches or "1").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid {text!r}: expected THREADS,...xBATCH,... such as 8,16x1,4") from None


def _extra(text: str) -> tuple[str, dict[str, str]]:
    """NAME:THREAD_COUNT=16,POLL_INTERVAL=50 -> a worker client with CONDUCTOR_WORKER_ALL_* overrides; a
    WORKER_* or CONDUCTOR_* name (WORKER_BUSY_SECONDS=0, WORKER_CANONICAL_METRICS=true) is set as it is."""
    name, _, assignments = text.partition(":")
    env = {}
    for item in filter(None, assignments.split(",")):
        key, _, value = item.partition("=")
        key = key.strip().upper()
        env[key if key.startswith(("WORKER_", "CONDUCTOR_")) else f"CONDUCTOR_WORKER_ALL_{key}"] = value.strip()
    return name, env


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, one round: checks that it all runs")
    parser.add_argument("--server-url", help="use this running server (API URL ending in /api) instead of starting one")
    parser.add_argument(
        "--access-log",
        type=Path,
        help="with --server-url: that server's access log, as harness/conductor_server.py has it write one",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report directory (default: {DEFAULT_OUT})")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated: {', '.join(WORKLOADS)}")
    parser.add_argument("--clients", default=",".join(CLIENTS), help=f"comma-separated: {', '.join(CLIENTS)}")
    parser.add_argument("--rounds", type=int, help="each client runs this many times, order alternating (default 3)")
    parser.add_argument("--warmup", type=int, help="unrecorded drains before anything else (default 1)")
    for name in ("noop", "io", "async", "types1", "types10"):
        default = FULL["backlog"][name]
        parser.add_argument(f"--backlog-{name}", type=int, help=f"tasks queued per drain (default {default})")
    for name in ("noop", "io", "async"):
        default = FULL["grid"][name]
        parser.add_argument(f"--grid-{name}", type=grid, metavar="T,..xB,..", help=f"limit's grid (default {default})")
    parser.add_argument("--paced", type=int, help="no-op tasks started at --rate for the latency phase (default 60)")
    parser.add_argument("--rate", type=float, default=10.0, help="tasks per second in the latency phase")
    parser.add_argument("--phase-timeout", type=float, default=150.0, help="seconds one drain may take")
    parser.add_argument("--keep", action="store_true", help="keep the baked projects and worker logs")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle cost (adaptive, held, busy) per round")
    parser.add_argument(
        "--extra",
        type=_extra,
        action="append",
        default=[],
        metavar="NAME:SETTING=V,...",
        help="another worker client with CONDUCTOR_WORKER_ALL_<SETTING> overrides, or WORKER_*/CONDUCTOR_* "
        "variables by their full name (for tuning and experiments)",
    )
    args = parser.parse_args(argv)
    if args.access_log and not args.server_url:
        parser.error("--access-log is for a server given with --server-url; the server a run starts writes its own")
    counts = QUICK if args.quick else FULL
    args.rounds = counts["rounds"] if args.rounds is None else args.rounds
    args.warmup = counts["warmup"] if args.warmup is None else args.warmup
    args.paced = counts["paced"] if args.paced is None else args.paced
    args.idle = counts["idle"]
    args.backlog = {name: getattr(args, f"backlog_{name}") or counts["backlog"][name] for name in counts["backlog"]}
    args.grid = {name: getattr(args, f"grid_{name}") or grid(counts["grid"][name]) for name in counts["grid"]}
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.clients = [c for c in args.clients.split(",") if c]
    unknown = sorted(set(args.workloads) - set(WORKLOADS)) + sorted(set(args.clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown workload or client: {', '.join(unknown)}")
    return args


def _paused(workload: str) -> dict[str, str]:
    """The io project serves three task types; all but the one under test are paused."""
    if PROJECT_BY_WORKLOAD[workload] != "io":
        return {}
    active = project.IO_TASK if workload == "io" else project.ASYNC_TASK
    idle = [t for t in (project.IDLE_TASK, project.IO_TASK, project.ASYNC_TASK) if t != active]
    return {f"CONDUCTOR_WORKER_{task.upper()}_PAUSED": "true" for task in idle}


def workload_for(name: str, baked: BakedProject, args: argparse.Namespace) -> Workload:
    backlog = args.backlog[name]
    if name in ("noop", "types1"):
        example = [f"{baked.package}_example"]
        return Workload(
            name,
            "no-op" if name == "noop" else "one task type (memory)",
            [baked.task_name],
            example,
            project.example_input(baked),
            backlog,
            paced=args.paced if name == "noop" else 0,
            idle_first=name == "types1",
        )
    if name == "types10":
        first, *others = project.ten_task_types()
        return Workload(
            name,
            "ten task types (memory)",
            [first, *others],
            [f"{baked.package}_example", *map(project.workflow_for, others)],
            project.example_input(baked),
            backlog,
            idle_first=True,
        )
    if name == "io":
        task, sleep_ms, kind = project.IO_TASK, project.IO_SLEEP_MS, "sync"
    else:
        task, sleep_ms, kind = project.ASYNC_TASK, project.ASYNC_SLEEP_MS, "async def"
    title = f"I/O-bound ({sleep_ms} ms, {kind} worker)"
    workflows = [project.workflow_for(task)]
    return Workload(name, title, [task], workflows, {"duration_ms": sleep_ms}, backlog, sleep_ms=sleep_ms)


def worker_client(
    name: str, description: str, baked: BakedProject, api: str, env: dict[str, str], settings: dict[str, Any]
) -> Client:
    def launch() -> subprocess.Popen[bytes]:
        # Metrics on, as the generated .env.example ships them.
        full_env = {"CONDUCTOR_SERVER_URL": api, "WORKER_METRICS_PORT": str(free_port()), **env}
        return baked.start_worker(env=full_env, log_name=f"worker-{name}-{int(time.time() * 1000)}.log").process

    return Client(name=name, description=description, launch=launch, settings=settings)


_receiver: list[TraceReceiver] = []


def trace_endpoint() -> str:
    """The OTLP/HTTP receiver "ours-traced" sends its spans to: one for the run, started when first needed."""
    if not _receiver:
        _receiver.append(TraceReceiver().__enter__())
    return _receiver[0].endpoint


def raw_client(api: str, workload: Workload, threads: int, batch: int, log_dir: Path) -> Client:
    def launch() -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            *("-m", "bench.rawclient", "--api", api, "--task", workload.task_types[0]),
            *("--threads", str(threads), "--batch", str(batch), "--sleep-ms", str(workload.sleep_ms)),
        ]
        with (log_dir / "rawclient.log").open("ab") as out:
            return subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    return Client("limit", "plain HTTP loop, no SDK", launch, {"threads": threads, "batch": batch})


def clients_for(
    workload: Workload, args: argparse.Namespace, baked: BakedProject, api: str, limit: tuple[int, int], log_dir: Path
) -> list[Client]:
    paused = _paused(workload.name)
    defaults = project.decorator_defaults(baked)
    if workload.name == "async":
        defaults = {**defaults, "thread_count": project.ASYNC_CONCURRENCY}
    made: dict[str, Callable[[], Client]] = {
        "limit": lambda: raw_client(api, workload, *limit, log_dir),
        "ours": lambda: worker_client(
            "ours",
            "generated defaults",
            baked,
            api,
            paused,
            {"thread_count": defaults["thread_count"], "poll_ms": defaults["poll_interval_millis"]},
        ),
        "ours-held": lambda: worker_client(
            "ours-held",
            "previous default: every poll held",
            baked,
            api,
            {**paused, **HELD},
            {"thread_count": defaults["thread_count"], "poll_ms": defaults["poll_interval_millis"], "busy_s": 0},
        ),
        "ours-json": lambda: worker_client(
            "ours-json",
            "generated defaults, WORKER_LOG_FORMAT=json",
            baked,
            api,
            {**paused, "WORKER_LOG_FORMAT": "json"},
            {"thread_count": defaults["thread_count"], "poll_ms": defaults["poll_interval_millis"]},
        ),
        "ours-traced": lambda: worker_client(
            "ours-traced",
            "generated defaults, a span per task sent over OTLP/HTTP",
            baked,
            api,
            {**paused, "OTEL_EXPORTER_OTLP_ENDPOINT": trace_endpoint()},
            {"thread_count": defaults["thread_count"], "poll_ms": defaults["poll_interval_millis"]},
        ),
        "anchor": lambda: worker_client(
            "anchor",
            "SDK defaults",
            baked,
            api,
            {**paused, "CONDUCTOR_WORKER_ALL_THREAD_COUNT": "1", "CONDUCTOR_WORKER_ALL_POLL_INTERVAL": "100"},
            {"thread_count": 1, "poll_ms": 100},
        ),
    }
    chosen = [made[name]() for name in CLIENTS_BY_WORKLOAD[workload.name] if name in args.clients]
    if workload.name in ("noop", "io", "async"):
        for name, env in args.extra:
            settings = {key.removeprefix("CONDUCTOR_WORKER_ALL_").lower(): value for key, value in env.items()}
            chosen.append(worker_client(name, "tuning candidate", baked, api, {**paused, **env}, settings))
    return chosen


def compile_bytecode(baked: BakedProject) -> BakedProject:
    """Byte-compile the virtualenv and the project's code, as the image's build does (UV_COMPILE_BYTECODE=1).

    Without it every start compiles the SDK from source again wherever .pyc files are not written
    (PYTHONDONTWRITEBYTECODE, as the image's runtime sets, or a read-only tree), and the start-up
    and memory figures would measure the compiler instead of the worker.
    """
    targets = [str(path) for path in (baked.path / ".venv" / "lib", baked.path / "src")]
    baked.run("python", "-m", "compileall", "-q", "-j", "0", *targets)
    return baked


WORKER_PYTHON_PROBE = (
    "import importlib.util, os, platform; "
    "print(platform.python_version(), os.path.exists(importlib.util.cache_from_source(os.__file__)))"
)


def worker_python(baked: BakedProject) -> str:
    """The projects' interpreter, and whether its standard library is byte-compiled: an interpreter
    without it (unpacked, never installed) compiles every stdlib module at every start, which the image's
    never does."""
    version, compiled = baked.run("python", "-c", WORKER_PYTHON_PROBE, timeout=60).stdout.split()
    if compiled == "True":
        return f"Python {version}"
    return f"Python {version}, standard library NOT byte-compiled: start-up and memory include compiling it"


def time_import(baked: BakedProject) -> dict[str, float]:
    """One `import conductor.client.automator.task_handler` in a fresh interpreter of the project's venv."""
    began = time.perf_counter()
    probe = baked.run("python", "-c", IMPORT_PROBE, timeout=120)
    return {"import_s": float(probe.stdout.strip()), "process_s": time.perf_counter() - began}


def time_sdk_start(baked: BakedProject, api: str, workload: Workload) -> dict[str, float]:
    """The SDK alone from launch to first task (bench/sdk_start.py in the project's venv), one task queued
    first as the drains queue theirs: the same clocks as the worker's start to first task."""
    queued = start_workflows(api, workload, 1)
    launched = time.time()
    try:
        probe = baked.run("python", str(REPO / "bench" / "sdk_start.py"), api, workload.task_types[0], timeout=120)
    finally:
        terminate(api, queued)  # a no-op once the probe completed its task
    return {"sdk_first_task_s": int(probe.stdout.split()[-1]) / 1000 - launched}


def time_costs(baked: BakedProject) -> dict[str, float]:
    """The kit's CPU per log line (text and JSON), per span and per task of the SDK's metrics (canonical and
    legacy), without a server (bench/log_cost.py, span_cost.py and metrics_cost.py in the project's venv):
    beside the worker's CPU per task of the same round, they say what JSON logs, traces and the choice of
    metrics cost a task where the tasks/s ratios are mostly the machine's noise."""
    found = {}
    for script in ("log_cost.py", "span_cost.py", "metrics_cost.py"):
        probe = baked.run("python", str(REPO / "bench" / script), timeout=300)
        found.update(json.loads(probe.stdout.strip().splitlines()[-1]))
    return found


def sweep(
    api: str, workload: Workload, points: list[tuple[int, int]], log_dir: Path, server_pid: int | None, timeout: float
) -> list[Row]:
    """Drain the backlog once per grid point with the raw client."""
    rows = []
    for threads, batch in points:
        client = raw_client(api, workload, threads, batch, log_dir)
        rows.append({**measure(api, workload, client, 0, timeout, log, server_pid, paced=False), "round": 0})
    return rows


def best_point(rows: list[Row]) -> tuple[int, int]:
    best = max(rows, key=lambda r: r.get("tasks_per_s") or 0.0)
    return best["settings"]["threads"], best["settings"]["batch"]


def warm_up_and_sweep(
    args: argparse.Namespace,
    api: str,
    server_pid: int | None,
    projects: dict[str, BakedProject],
    workloads: dict[str, Workload],
    work: Path,
) -> tuple[list[Row], dict[str, dict[str, int]]]:
    """Unrecorded drains to warm the server's JVM up (once: its code paths are the same for every task type),
    then the limit's grid per workload; returns the grid rows and the best point per workload."""
    sweeps: list[Row] = []
    chosen: dict[str, dict[str, int]] = {}
    warm_ups = args.warmup
    for name, workload in workloads.items():
        baked = projects[PROJECT_BY_WORKLOAD[name]]
        while warm_ups and name in args.grid:
            warm_ups -= 1
            log(f"warm-up: {name}, not recorded")
            warm = worker_client("warm-up", "not recorded", baked, api, _paused(name), {})
            measure(api, workload, warm, args.rate, args.phase_timeout, log, server_pid, paced=False)
        if "limit" in args.clients and "limit" in CLIENTS_BY_WORKLOAD[name]:
            log(f"sweep: {name}, limit grid {args.grid[name]}")
            rows = sweep(api, workload, args.grid[name], work, server_pid, args.phase_timeout)
            sweeps += rows
            chosen[name] = dict(zip(("threads", "batch"), best_point(rows), strict=True))
            (args.out / "sweep.json").write_text(json.dumps(sweeps, indent=2))
    return sweeps, chosen


def run_rounds(
    args: argparse.Namespace,
    api: str,
    server_pid: int | None,
    projects: dict[str, BakedProject],
    workloads: dict[str, Workload],
    chosen: dict[str, dict[str, int]],
    work: Path,
) -> list[Row]:
    """Every client of every workload once per round, the order rotating; one SDK import timed per round."""
    rounds: list[Row] = []
    sdk_project = projects.get("noop") or next(iter(projects.values()))
    for number in range(1, args.rounds + 1):
        timed = time_import(sdk_project)
        log(f"round {number}/{args.rounds}: one SDK import took {timed['import_s']:.2f} s")
        if "noop" in workloads:
            timed.update(time_sdk_start(projects["noop"], api, workloads["noop"]))
            log(f"round {number}/{args.rounds}: the SDK alone took its first task {timed['sdk_first_task_s']:.2f} s in")
        rounds.append({"workload": "import", "client": "sdk", "settings": {}, "round": number, **timed})
        if "noop" in projects:
            costs = time_costs(projects["noop"])
            rounds.append({"workload": "costs", "client": "kit", "settings": {}, "round": number, **costs})
            log(
                f"round {number}/{args.rounds}: CPU per log line {costs['text_line_us']:.0f} us as text, "
                f"{costs['json_line_us']:.0f} us as JSON; per span {costs['span_us']:.0f} us; "
                f"SDK metrics per task {costs['metrics_canonical_us']:.0f} us canonical, "
                f"{costs['metrics_legacy_us']:.0f} us legacy"
            )
        for name, workload in workloads.items():
            baked = projects[PROJECT_BY_WORKLOAD[name]]
            limit = chosen.get(name, {"threads": 1, "batch": 1})
            clients = clients_for(workload, args, baked, api, (limit["threads"], limit["batch"]), work)
            # Rotate the order, so over the rounds each client runs first, middle and last.
            shift = (number - 1) % len(clients) if clients else 0
            for client in clients[shift:] + clients[:shift]:
                log(f"round {number}/{args.rounds}")
                measured = measure(api, workload, client, args.rate, args.phase_timeout, log, server_pid)
                rounds.append({**measured, "round": number})
                (args.out / "rounds.json").write_text(json.dumps(rounds, indent=2))  # survives an interrupted run
        if not args.no_idle and server_pid is not None and "noop" in projects:
            rounds += idle_round(args, api, server_pid, projects["noop"], number)
    return rounds


def idle_round(args: argparse.Namespace, api: str, server_pid: int, baked: BakedProject, number: int) -> list[Row]:
    """What an idle worker costs in each polling setup (bench/idle_cost.py), the order rotating."""
    settle, seconds = args.idle
    setups = list(idle_cost.SETUPS)
    shift = (number - 1) % len(setups)
    rows = []
    for setup in setups[shift:] + setups[:shift]:
        found = idle_cost.measure(baked, api, server_pid, setup, seconds, settle)
        log(
            f"round {number}/{args.rounds} [idle/{setup}] {found['polls_per_s']:.1f} polls/s, worker "
            f"{100 * found['worker_cores']:.1f} %, server {100 * found['server_cores']:.1f} % of a core"
        )
        settings = idle_cost.SETUPS[setup]
        rows.append({"workload": "idle", "client": setup, "settings": settings, "round": number, **found})
    return rows


def unmeasured_workloads(rounds: list[Row], workloads: list[str]) -> dict[str, str]:
    """The workloads no drain of which completed a task, and why."""
    found = {}
    for name in workloads:
        mine = [r for r in rounds if r["workload"] == name]
        if not any(r.get("backlog_completed") for r in mine):
            errors = sorted({r["error"] for r in mine if r.get("error")})
            found[name] = "; ".join(errors) or "no drain completed a task (--keep keeps the worker logs)"
    return found


def time_in_server(rows: list[Row], access_log: Path | None) -> dict[str, str]:
    """Each drain's time in the server per result, from its access log; what was not measured, and why."""
    why = "no access log of the server (--access-log)"
    if access_log is not None:
        try:
            if server_time.attach(rows, access_log):
                return {}
            why = f"{access_log} has no result reports in the drains' windows (not in the expected format?)"
        except OSError as error:
            why = f"{access_log}: {error}"
    return {"time in the server per result": why}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out))
    os.environ.setdefault("TMPDIR", str(work))  # cookiecutter leaves rendered hook scripts there
    began = time.time()
    load_before = os.getloadavg()
    # Keys: a workload, "<workload>/<client>" or what else was not measured; values: why.
    not_measured = {key: why for key, why in ANCHOR_LEFT_OUT.items() if key.split("/")[0] in args.workloads}

    server: ConductorServer | None = None
    try:
        if args.server_url:
            api = args.server_url.rstrip("/")
            server_pid = listening_pid(urlsplit(api).port or 80)
        else:
            log("starting the Conductor server")
            server = ConductorServer(access_log=True).start()
            api = server.api_url
            server_pid = server.process.pid if server.process else None
        if server_pid is None:
            not_measured["server CPU"] = f"no process on this machine listens on {api}'s port"
            not_measured["idle"] = "the idle cost needs the server's CPU"
        log(f"server {api} (pid {server_pid}); baking and installing the projects")
        projects: dict[str, BakedProject] = {}
        for name in dict.fromkeys(PROJECT_BY_WORKLOAD[w] for w in args.workloads):
            projects[name] = compile_bytecode(BAKE[name](work / name).install(dev=False))
            projects[name].cli("register", env={"CONDUCTOR_SERVER_URL": api}, check=True)
        workers_python = worker_python(next(iter(projects.values())))
        log(f"workers' interpreter: {workers_python}")
        workloads = {w: workload_for(w, projects[PROJECT_BY_WORKLOAD[w]], args) for w in args.workloads}
        sweeps, chosen = warm_up_and_sweep(args, api, server_pid, projects, workloads, work)
        rounds = run_rounds(args, api, server_pid, projects, workloads, chosen, work)
        not_measured.update(unmeasured_workloads(rounds, args.workloads))
        not_measured.update(time_in_server(sweeps + rounds, server.access_log_path if server else args.access_log))
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    results = aggregate(rounds)
    load_after = os.getloadavg()
    imports = [r["import_s"] for r in rounds if r["workload"] == "import"]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(began)),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"benchmark on Python {platform.python_version()}",
        "workers": f"{workers_python}; installed without development tools (--no-dev), as in the image",
        "server": f"Conductor OSS {SERVER_VERSION} boot jar, SQLite, same machine (loopback)",
        "load average (1 min) before / after": f"{load_before[0]:.2f} / {load_after[0]:.2f}",
        "run time": f"{time.time() - began:.0f} s",
        "rounds": f"{args.rounds} (client order rotates), after {args.warmup} warm-up drain(s)",
        "counts": "backlogs "
        + ", ".join(f"{w} {n}" for w, n in args.backlog.items() if w in args.workloads)
        + f"; latency phase {args.paced} no-op tasks at {args.rate:g}/s",
        "limit grids (threads x batch)": "; ".join(
            f"{w} {', '.join(f'{t}x{b}' for t, b in args.grid[w])}" for w in args.grid if w in args.workloads
        ),
        "one SDK import": f"{statistics.median(imports):.2f} s median" if imports else "n/a",
    }
    if args.quick:
        meta["note"] = "--quick: counts far too small for any figure or verdict to mean anything"
    (out / "results.json").write_text(
        json.dumps(
            {"meta": meta, "not_measured": not_measured, "chosen_limit": chosen, "sweep": sweeps, "rounds": rounds},
            indent=2,
        )
    )
    report.chart(results, out / "benchmark.png")
    markdown = report.markdown(results, rounds, sweeps, chosen, not_measured, meta, "benchmark.png")
    (out / "benchmark.md").write_text(markdown)
    print()
    print(report.results_table(results))
    print()
    print(report.summary_text(rounds, not_measured))
    print(f"\nreport: {out / 'benchmark.md'}, chart: {out / 'benchmark.png'}")
    return 0
