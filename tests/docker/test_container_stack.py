"""The generated Dockerfile and compose.yaml on a real Docker engine.

The tier starts its own dockerd (harness/docker_engine.py) and pulls the real pinned images (the
Python base of the Dockerfile's `FROM`, and conductoross/conductor from compose.yaml). Where the registry
does not answer, it builds local stand-ins under the same tags instead (Debian's or the host's CPython;
the real server jar), and prints which it used. Then it builds the baked project's image and brings up
its compose stack with `--no-build --pull never`. Nothing is skipped: an engine that cannot start fails
the tier.
"""

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import docker_engine
from harness.baked_project import BakedProject, bake
from harness.conductor_server import call_api, free_port
from harness.docker_engine import DockerEngine
from harness.slow_worker import ORPHANING_WORKFLOW, SLOW_TASK, SLOW_WORKFLOW, add_orphaning_worker, add_slow_worker
from harness.waiting import wait_until

# Bounded: a cold run (debootstrap, jar download) takes about 4 minutes on 2 cores.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

# Set in the environment (and in a .env file) while the image is built: neither may end up in the image.
BUILD_KEY = "build-time-key-id-6f1c2d"
BUILD_SECRET = "Build-Time-S3cret-Value-0xD0CKE7"
BUILD_SECRET_ARGS = (
    "--build-arg",
    f"CONDUCTOR_AUTH_KEY={BUILD_KEY}",
    "--build-arg",
    f"CONDUCTOR_AUTH_SECRET={BUILD_SECRET}",
)
DRAIN_GRACE_SECONDS = 25  # the worker's default WORKER_SHUTDOWN_GRACE_SECONDS
SLOW_SECONDS = 6
SLOW_WORKFLOWS = 6  # more than the slow worker's 4 threads: some are in flight, some still queued


@dataclass
class Stack:
    engine: DockerEngine
    project: BakedProject
    name: str
    image: str
    python_image: str
    conductor_image: str
    env: dict[str, str]
    api_url: str
    timings: dict[str, float] = field(default_factory=dict)
    images_used: dict[str, str] = field(default_factory=dict)

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        result = self.engine.compose(self.project.path, self.name, *args, env=self.env, check=check, timeout=timeout)
        return result.stdout + result.stderr

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-a", "-q", service).split()
        assert len(ids) == 1, f"expected one {service} container, got {ids}"
        return ids[0]

    def inspect(self, container: str, template: str) -> str:
        return self.engine.docker("inspect", "-f", template, container).stdout.strip()

    def api(self, method: str, path: str, body: object = None) -> object:
        return call_api(self.api_url, method, path, body)

    def workflow(self, workflow_id: str) -> dict[str, object]:
        found = self.api("GET", f"/workflow/{workflow_id}?includeTasks=true")
        assert isinstance(found, dict)
        return found


def dockerfile_default_base(project: BakedProject) -> str:
    match = re.search(r"^FROM (\S+) AS python-base$", (project.path / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile has no literal `FROM <image> AS python-base`"
    return match.group(1)


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    with DockerEngine() as started:
        yield started


@pytest.fixture(scope="module")
def stack(engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The default answers (Python version included), with the metrics option on.
    project = bake(tmp_path_factory.mktemp("docker"), project_name="Boxed Worker", metrics=True, kubernetes=False)
    add_slow_worker(project, response_timeout_seconds=120)
    add_orphaning_worker(project)
    compose_env = {
        "CONDUCTOR_HOST_PORT": str(free_port()),
        "CONDUCTOR_UI_HOST_PORT": str(free_port()),
        "METRICS_HOST_PORT": str(free_port()),
    }
    config = json.loads(engine.compose(project.path, "config", "config", "--format", "json", env=compose_env).stdout)
    stack = Stack(
        engine=engine,
        project=project,
        name=f"cwt{compose_env['CONDUCTOR_HOST_PORT']}",
        image=config["services"]["worker"]["image"],
        python_image=dockerfile_default_base(project),
        conductor_image=config["services"]["conductor"]["image"],
        env=compose_env,
        api_url=f"http://127.0.0.1:{compose_env['CONDUCTOR_HOST_PORT']}/api",
    )
    # A secret in a .env file of the build context and in build arguments, as a developer might pass them.
    (project.path / ".env").write_text(f"CONDUCTOR_AUTH_KEY={BUILD_KEY}\nCONDUCTOR_AUTH_SECRET={BUILD_SECRET}\n")

    # The real images when the registry answers; stand-ins under the same tags when it does not.
    builders = {
        stack.python_image: lambda: docker_engine.build_python_stand_in(
            engine, stack.python_image, str(project.answers["python_version"])
        ),
        stack.conductor_image: lambda: docker_engine.build_conductor_stand_in(engine, stack.conductor_image),
    }
    stand_ins = {}
    for tag, build_stand_in in builders.items():
        started = time.monotonic()
        reason = docker_engine.pull(engine, tag)
        if reason is None:
            stack.images_used[tag] = f"the real image, pulled in {time.monotonic() - started:.0f} s"
        else:
            stack.images_used[tag] = f"a local stand-in (the registry did not answer: {reason})"
            stand_ins[tag] = build_stand_in
    print("\n".join(f"[docker tier] {tag}: {used}" for tag, used in stack.images_used.items()), flush=True)
    if stand_ins:
        docker_engine.import_base(engine)

    def build(tag: str) -> None:
        if tag in stand_ins:
            stack.timings[f"stand-in build of {tag}"] = stand_ins[tag]()
        if tag == stack.python_image:
            started = time.monotonic()
            engine.docker(
                "build",
                "--network",
                "host",
                "--pull=false",
                *BUILD_SECRET_ARGS,
                "-t",
                stack.image,
                str(project.path),
                timeout=900,
            )
            stack.timings["worker image build"] = time.monotonic() - started

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(build, tag) for tag in builders]:
            future.result()
    (project.path / ".env").unlink()  # the stack must come up on a fresh clone, without .env

    started = time.monotonic()
    try:
        stack.compose("up", "--detach", "--no-build", "--pull", "never", timeout=420)
        stack.timings["compose up (server healthy, registered, worker started)"] = time.monotonic() - started
        yield stack
    finally:
        print(stack.compose("logs", "--no-color", "--tail", "40", "register", "worker", check=False)[-6000:])
        stack.compose("down", "--volumes", "--timeout", "5", check=False)


def test_image_is_small_and_built_from_the_default_base(
    stack: Stack, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    size = int(stack.engine.docker("image", "inspect", "-f", "{{.Size}}", stack.image).stdout)
    base = int(stack.engine.docker("image", "inspect", "-f", "{{.Size}}", stack.python_image).stdout)
    history = stack.engine.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", stack.image).stdout
    assert "useradd" in history and "/opt/venv" in history and "tini" in history
    version = stack.engine.docker(
        "run", "--rm", "--entrypoint", "python", stack.image, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"
    ).stdout.strip()
    assert version == stack.project.answers["python_version"]
    layers = stack.engine.docker("history", "--format", "{{.Size}}\t{{.CreatedBy}}", stack.image).stdout
    assert size - base < 60 * 2**20, f"the worker adds {(size - base) / 2**20:.0f} MB to its base:\n{layers}"
    request.node.user_properties.append(("image_size_bytes", size))
    with capsys.disabled():
        print(
            f"\n[docker tier] {stack.image}: {size / 1e6:.0f} MB on {stack.python_image}, {base / 1e6:.0f} MB "
            f"(the worker's layers: {(size - base) / 1e6:.0f} MB)"
        )
        for tag, used in stack.images_used.items():
            print(f"[docker tier] {tag}: {used}")
        for what, seconds in stack.timings.items():
            print(f"[docker tier] {what}: {seconds:.1f} s")


def secrets_found(stack: Stack, image: str) -> list[str]:
    """Where the build's secret values show up in `image`: its history, its config, any file of any layer."""
    history = stack.engine.docker("history", "--no-trunc", image).stdout
    inspect = stack.engine.docker("image", "inspect", image).stdout
    saved = stack.engine.docker_bytes("save", image)
    assert saved
    return [
        f"{value} in {where}"
        for value in (BUILD_KEY, BUILD_SECRET)
        for where, text in (("history", history.encode()), ("config", inspect.encode()), ("layers", saved))
        if value.encode() in text
    ]


def test_secrets_passed_to_the_build_stay_out_of_the_image(stack: Stack, tmp_path: Path) -> None:
    """The image was built with the key and secret as build arguments and in a .env of the context."""
    assert secrets_found(stack, stack.image) == []
    # The check can fail: a Dockerfile that declares the argument and uses it in a step leaks the value.
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "Dockerfile").write_text(
        f'FROM {stack.python_image}\nARG CONDUCTOR_AUTH_SECRET\nRUN test -n "$CONDUCTOR_AUTH_SECRET"\n'
    )
    stack.engine.docker("build", "--pull=false", *BUILD_SECRET_ARGS, "-t", "localhost/leaky-probe", str(leaky))
    try:
        assert f"{BUILD_SECRET} in history" in secrets_found(stack, "localhost/leaky-probe")
    finally:
        stack.engine.docker("image", "rm", "--force", "localhost/leaky-probe", check=False)


def test_a_bumped_base_image_tag_still_builds_and_runs(stack: Stack, tmp_path: Path) -> None:
    """What Dependabot's docker updater changes: the tag in the literal `FROM` line. The image still builds
    from it and runs the worker's command line. The "newer patch" base is the current one plus a marker
    file, so the test sees that the build really started from the bumped tag."""
    dockerfile = (stack.project.path / "Dockerfile").read_text()
    image, tag = stack.python_image.rsplit(":", 1)
    version, variant = tag.split("-", 1)
    bumped = f"{image}:{'.'.join([*version.split('.')[:-1], str(int(version.split('.')[-1]) + 1)])}-{variant}"
    edited = dockerfile.replace(f"FROM {stack.python_image} AS python-base", f"FROM {bumped} AS python-base")
    assert edited != dockerfile
    context = tmp_path / "bumped"
    shutil.copytree(stack.project.path, context, ignore=shutil.ignore_patterns(".venv", ".env"))
    (context / "Dockerfile").write_text(edited)
    base = tmp_path / "bumped-base"
    base.mkdir()
    (base / "Dockerfile").write_text(f"FROM {stack.python_image}\nRUN echo {bumped} > /bumped-base\n")
    stack.engine.docker("build", "--pull=false", "-t", bumped, str(base))
    try:
        stack.engine.docker("build", "--network", "host", "--pull=false", "-t", "localhost/bumped", str(context))
        result = stack.engine.docker("run", "--rm", "localhost/bumped", "--help", check=False)
        assert result.returncode == 0 and "run-workflow" in result.stdout, result.stdout + result.stderr
        marker = stack.engine.docker("run", "--rm", "--entrypoint", "cat", "localhost/bumped", "/bumped-base")
        assert marker.stdout.strip() == bumped, "the image was not built from the bumped tag"
    finally:
        stack.engine.docker("image", "rm", "--force", "localhost/bumped", bumped, check=False)


def test_the_tracing_extra_is_in_the_image_only_when_asked_for(stack: Stack) -> None:
    """The default image stays as lean as before; `--build-arg EXTRAS=tracing` adds OpenTelemetry."""
    probe = ("run", "--rm", "--entrypoint", "python")
    check = ("-c", "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http")
    assert stack.engine.docker(*probe, stack.image, *check, check=False).returncode != 0
    tag = "localhost/traced-worker"
    build = ("build", "--network", "host", "--pull=false", "--build-arg", "EXTRAS=tracing")
    stack.engine.docker(*build, "-t", tag, str(stack.project.path), timeout=900)
    try:
        result = stack.engine.docker(*probe, tag, *check, check=False)
        assert result.returncode == 0, result.stderr
    finally:
        stack.engine.docker("image", "rm", "--force", tag, check=False)


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context(stack: Stack, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml"):
        (context / name).write_bytes((stack.project.path / name).read_bytes())
    for junk in (
        ".env",
        ".env.local",
        ".git/config",
        ".venv/bin/python",
        ".pytest_cache/v",
        ".mypy_cache/x",
        "src/pkg/__pycache__/m.cpython-311.pyc",
        "htmlcov/index.html",
        ".coverage",
    ):
        (context / junk).parent.mkdir(parents=True, exist_ok=True)
        (context / junk).write_text(BUILD_SECRET)
    probe = tmp_path / "probe.Dockerfile"
    probe.write_text(f"FROM {stack.python_image}\nCOPY . /context\nRUN find /context -mindepth 1 | sort\n")
    output = stack.engine.docker("build", "--no-cache", "-f", str(probe), str(context)).stdout
    listed = [line.strip() for line in output.splitlines() if line.strip().startswith("/context/")]
    assert "/context/pyproject.toml" in listed
    assert not [path for path in listed if "/." in path or "__pycache__" in path or "htmlcov" in path], listed


def test_worker_runs_as_non_root_numeric_uid(stack: Stack) -> None:
    worker = stack.container("worker")
    assert stack.inspect(worker, "{{.Config.User}}") == "10001:10001"
    ids = stack.compose("exec", "-T", "worker", "python", "-c", "import os; print(os.getuid(), os.getgid())")
    assert ids.split()[-2:] == ["10001", "10001"]


def test_run_workflow_against_the_stack_completes(stack: Stack) -> None:
    output = stack.compose(
        "run",
        "--rm",
        "--no-deps",
        "worker",
        "run-workflow",
        "--workflow",
        stack.project.workflow_name,
        "--timeout",
        "60",
        timeout=180,
    )
    assert '"status": "COMPLETED"' in output, output


def test_metrics_port_is_published(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.env['METRICS_HOST_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert b"task_poll" in r.read()


def test_healthcheck_goes_healthy_once_the_worker_polls(stack: Stack) -> None:
    worker = stack.container("worker")
    healthcheck = json.loads(stack.inspect(worker, "{{json .Config.Healthcheck.Test}}"))
    assert healthcheck == ["CMD", "python", "-m", stack.project.package, "health"]
    statuses: list[str] = []

    def healthy() -> bool:
        statuses.append(stack.inspect(worker, "{{.State.Health.Status}}"))
        assert statuses[-1] in {"starting", "unhealthy", "healthy"}, statuses[-1]
        return statuses[-1] == "healthy"

    wait_until(healthy, 90, "the worker container never became healthy", details=lambda: f"statuses: {statuses}")


def test_health_fails_when_worker_processes_stop_polling(stack: Stack) -> None:
    """Alive is not enough: a frozen worker process (SIGSTOP) stops its heartbeats and health says so."""
    name = f"{stack.name}-frozen"
    stack.compose("run", "--detach", "--no-deps", "--name", name, "-e", "WORKER_HEALTH_MAX_AGE_SECONDS=3", "worker")
    health = ["exec", name, "python", "-m", stack.project.package, "health"]
    # Every worker process: the children the `worker` command forked (same command line, its pid as parent).
    signal_children = (
        "import os, signal, sys\n"
        "def parent(pid):\n"
        "    return int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
        "pids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]\n"
        "commands = {pid: open(f'/proc/{pid}/cmdline', 'rb').read() for pid in pids}\n"
        "workers = [pid for pid in pids if commands[pid].endswith(b'\\0worker\\0')]\n"
        "children = [pid for pid in workers if parent(pid) in workers]\n"
        "assert children, 'no worker process found'\n"
        "for pid in children: os.kill(pid, getattr(signal, sys.argv[1]))\n"
    )
    try:
        wait_until(
            lambda: stack.engine.docker(*health, check=False, timeout=30).returncode == 0, 60, "the worker never polled"
        )
        stack.engine.docker("exec", name, "python", "-c", signal_children, "SIGSTOP", timeout=30)
        wait_until(
            lambda: stack.engine.docker(*health, check=False, timeout=30).returncode == 1,
            30,
            "health stayed OK with every worker process frozen",
        )
        stack.engine.docker("exec", name, "python", "-c", signal_children, "SIGCONT", timeout=30)
        wait_until(
            lambda: stack.engine.docker(*health, check=False, timeout=30).returncode == 0,
            30,
            "health did not recover after the worker processes resumed",
        )
    finally:
        stack.engine.docker("rm", "--force", name, check=False)


def test_docker_stop_drains_in_flight_tasks_and_exits_zero(
    stack: Stack, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = stack.container("worker")
    assert stack.inspect(worker, "{{.Config.StopTimeout}}") == "40"  # compose's stop_grace_period
    ids = [
        str(stack.api("POST", "/workflow", {"name": SLOW_WORKFLOW, "input": {"seconds": SLOW_SECONDS, "n": n}}))
        for n in range(SLOW_WORKFLOWS)
    ]

    def in_flight() -> list[str]:
        return [wid for wid in ids if any(task["status"] == "IN_PROGRESS" for task in stack.workflow(wid)["tasks"])]

    wait_until(lambda: len(in_flight()) >= 4, 30, "the slow tasks never started")
    running = in_flight()
    started = time.monotonic()
    stack.engine.docker("stop", worker, timeout=120)  # no -t: the container's own stop timeout applies
    stop_seconds = time.monotonic() - started

    assert stack.inspect(worker, "{{.State.ExitCode}}") == "0"
    assert stack.inspect(worker, "{{.State.OOMKilled}}") == "false"
    assert stop_seconds < DRAIN_GRACE_SECONDS, f"docker stop took {stop_seconds:.1f}s"
    assert stop_seconds >= 1, "it stopped before the in-flight tasks could have finished"
    logs = stack.engine.docker("logs", worker).stdout + stack.engine.docker("logs", worker).stderr
    assert "received SIGTERM: draining" in logs
    assert "stopped: every task taken was finished and reported" in logs, logs
    assert "abandoning" not in logs and "did not accept the result" not in logs, logs
    # The tasks in flight at SIGTERM finished and were reported before the container exited (the
    # server completes their workflows a moment later: that is checked below with the others).
    for wid in running:
        workflow = stack.workflow(wid)
        assert [task["status"] for task in workflow["tasks"]] == ["COMPLETED"], workflow

    stack.compose("start", "worker")  # the queued rest is served by the restarted worker
    wait_until(lambda: all(stack.workflow(wid)["status"] != "RUNNING" for wid in ids), 90, "workflows still running")
    for wid in ids:
        workflow = stack.workflow(wid)
        tasks = workflow["tasks"]
        assert workflow["status"] == "COMPLETED", workflow
        assert isinstance(tasks, list) and len(tasks) == 1, f"{wid}: a task was retried or re-run: {tasks}"
        assert tasks[0]["taskType"] == SLOW_TASK and tasks[0]["status"] == "COMPLETED"
    request.node.user_properties.append(("docker_stop_seconds", round(stop_seconds, 2)))
    with capsys.disabled():
        print(
            f"\n[docker tier] docker stop with {len(running)} task(s) of {SLOW_SECONDS}s in flight: "
            f"{stop_seconds:.1f} s, exit 0, {SLOW_WORKFLOWS}/{SLOW_WORKFLOWS} workflows COMPLETED, none retried"
        )


# Every process of a container: pid, state, parent, command line (from /proc, as `ps` would).
PROCESSES = (
    "import json, os\n"
    "found = []\n"
    "for pid in (p for p in os.listdir('/proc') if p.isdigit()):\n"
    "    try:\n"
    "        fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()\n"
    "        command = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode().strip()\n"
    "    except OSError:\n"
    "        continue\n"
    "    found.append({'pid': int(pid), 'state': fields[0], 'ppid': int(fields[1]), 'command': command})\n"
    "print(json.dumps(found))\n"
)


def processes(stack: Stack, container: str) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(
        stack.engine.docker("exec", container, "python", "-c", PROCESSES, timeout=30).stdout
    )
    return listed


def test_init_reaps_orphans_of_task_code_and_the_drain_still_works(stack: Stack) -> None:
    """The image's tini is PID 1 (here without compose's `init: true`, as on Kubernetes): processes that task
    code leaves orphaned are reaped when they end, and `docker stop` still drains through it and exits 0."""
    assert stack.inspect(stack.container("worker"), "{{.HostConfig.Init}}") == "true"  # compose's init: true
    name = f"{stack.name}-tini"
    stack.compose("stop", "worker")  # this container alone serves the tasks below
    try:
        stack.engine.docker(
            "run", "--detach", "--name", name, "--network", f"{stack.name}_default", "--stop-timeout", "40",
            "-e", "CONDUCTOR_SERVER_URL=http://conductor:8080/api", "-e", "WORKER_METRICS_PORT=",
            "--read-only", "--tmpfs", "/tmp", stack.image, "worker",
        )  # fmt: skip
        first = processes(stack, name)
        init = next(process for process in first if process["pid"] == 1)
        assert str(init["command"]).startswith("tini -s -- python -m "), init
        ids = [
            str(stack.api("POST", "/workflow", {"name": ORPHANING_WORKFLOW, "input": {"seconds": 1}})) for _ in range(3)
        ]
        wait_until(
            lambda: all(stack.workflow(wid)["status"] == "COMPLETED" for wid in ids),
            90,
            "orphaning tasks never completed",
        )
        outputs = [stack.workflow(wid)["output"] for wid in ids]
        hostname = stack.inspect(name, "{{.Config.Hostname}}")
        assert all(isinstance(out, dict) and out["host"] == hostname for out in outputs), outputs
        orphans = {int(out["orphan"]) for out in outputs if isinstance(out, dict)}
        time.sleep(3)  # each orphan sleeps 1 s, then ends: its zombie would show by now
        after = processes(stack, name)
        zombies = [process for process in after if process["state"] == "Z"]
        assert zombies == [], f"orphans left as zombies: {zombies}"
        assert not orphans & {int(str(process["pid"])) for process in after}, after

        started = time.monotonic()
        stack.engine.docker("stop", name, timeout=120)
        assert stack.inspect(name, "{{.State.ExitCode}}") == "0"
        assert time.monotonic() - started < DRAIN_GRACE_SECONDS
        logs = stack.engine.docker("logs", name)
        assert "received SIGTERM: draining" in logs.stdout + logs.stderr
    finally:
        stack.engine.docker("rm", "--force", name, check=False)
        stack.compose("start", "worker")
