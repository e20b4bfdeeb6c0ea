"""The real Conductor OSS server for tests and the demo: its Spring Boot jar from Maven Central, run
with a JDK 21+ on a free loopback port, with SQLite persistence in a temporary directory.

Usable as a library (`ConductorServer`) and as a command:
    python -m harness.conductor_server fetch      # download the jar into the cache, print its path
    python -m harness.conductor_server run        # run a server until Ctrl-C
"""

import contextlib
import fcntl
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness.waiting import wait_until

# Pinned: the newest conductor-server release with a published boot jar, and the same version as the
# generated project's `conductoross/conductor` image.
TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
SERVER_VERSION = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())["_conductor_server_version"]
ARTIFACT = f"org.conductoross:conductor-server:{SERVER_VERSION}:jar:boot"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE_DIR = Path(os.environ.get("CONDUCTOR_JAR_CACHE", Path.home() / ".cache" / "conductor-worker-template"))
MIN_JAVA = 21
START_TIMEOUT_SECONDS = 180


class ServerUnavailable(RuntimeError):
    """The jar, a JDK or the server itself could not be had: tests fail loudly with this."""


def jar_path() -> Path:
    return CACHE_DIR / f"conductor-server-{SERVER_VERSION}-boot.jar"


def fetch_jar() -> Path:
    """The boot jar, downloaded once with Maven and kept in the cache outside the repository."""
    jar = jar_path()
    if jar.is_file() and jar.stat().st_size > 0:
        return jar
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # The test workers start their servers at once: one downloads while the others wait for it.
    with open(CACHE_DIR / "fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jar.is_file() and jar.stat().st_size > 0:
            return jar
        return _download_jar(jar)


def _download_jar(jar: Path) -> Path:
    if shutil.which("mvn") is None:
        raise ServerUnavailable("mvn is not installed; it is needed once to fetch the Conductor server jar")
    # Into a folder of its own, then moved: a reader outside the lock never sees half a jar.
    download_dir = Path(tempfile.mkdtemp(prefix="download-", dir=CACHE_DIR))
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            f"{DEPENDENCY_PLUGIN}:copy",
            f"-Dartifact={ARTIFACT}",
            f"-DoutputDirectory={download_dir}",
            "-Dmdep.useBaseVersion=true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    downloaded = download_dir / jar.name
    if result.returncode != 0 or not downloaded.is_file():
        shutil.rmtree(download_dir, ignore_errors=True)
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise ServerUnavailable(f"could not fetch {ARTIFACT} with mvn: {' | '.join(tail)}")
    os.replace(downloaded, jar)
    shutil.rmtree(download_dir, ignore_errors=True)
    return jar


def _java_major(java: Path) -> int:
    try:
        output = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False).stderr
    except OSError:
        return 0
    match = re.search(r'version "(\d+)', output)
    return int(match.group(1)) if match else 0


def find_java() -> Path:
    """A Java 21+ binary: $JAVA_HOME first, then the JDKs under /usr/lib/jvm, then PATH."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    candidates += sorted(Path("/usr/lib/jvm").glob("*/bin/java"), reverse=True)
    if shutil.which("java"):
        candidates.append(Path(shutil.which("java") or "java"))
    best = max(candidates, key=_java_major, default=None)
    if best is None or _java_major(best) < MIN_JAVA:
        raise ServerUnavailable(f"no Java {MIN_JAVA}+ found (JAVA_HOME, /usr/lib/jvm, PATH)")
    return best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _can_bind(port: int) -> bool:
    """Whether a server could listen on `port` now (SO_REUSEADDR, as the JVM sets it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def restartable_port() -> int:
    """A free port below the kernel's ephemeral range.

    The kernel never hands such a port to a client connection or to a `bind(0)` (what `free_port`
    and every other test's server use), so a server that stops keeps its port for a restart.
    """
    low, _ = _ephemeral_range()
    candidates = range(max(1024, low - 12000), low)
    for port in random.sample(candidates, min(200, len(candidates))):
        if _can_bind(port):
            return port
    raise ServerUnavailable(f"no free port in {candidates.start}-{candidates.stop - 1} for the Conductor server")


def call_api(api_url: str, method: str, path: str, body: object = None) -> object:
    """Call a Conductor REST API directly (for assertions), returning parsed JSON or text."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{api_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


class ConductorServer:
    """One server process. `start()` returns once /health answers; `stop()` ends it.

    The data directory and the port survive stop/start, so a restarted server keeps its workflows,
    its queues and its URL.
    """

    def __init__(self, port: int | None = None, data_dir: Path | None = None, access_log: bool = False) -> None:
        self.port = port or restartable_port()
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="conductor-server-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        # Tomcat's access log, one line per request: its begin and end (epoch ms), method, path, status.
        self.access_log_path = self.data_dir / "access.log" if access_log else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.root_url}/api"

    def command(self) -> list[str]:
        database = f"jdbc:sqlite:{self.data_dir / 'conductor.db'}?busy_timeout=15000&journal_mode=WAL"
        return [
            str(find_java()),
            "-Xms256m",
            "-Xmx1g",
            "-jar",
            str(fetch_jar()),
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            f"--spring.datasource.url={database}",
            "--conductor.integrations.ai.enabled=false",
            *self._access_log_arguments(),
        ]

    def _access_log_arguments(self) -> list[str]:
        if self.access_log_path is None:
            return []
        return [
            "--server.tomcat.accesslog.enabled=true",
            f"--server.tomcat.accesslog.directory={self.access_log_path.parent}",
            f"--server.tomcat.accesslog.prefix={self.access_log_path.stem}",
            f"--server.tomcat.accesslog.suffix={self.access_log_path.suffix}",
            "--server.tomcat.accesslog.file-date-format=",
            "--server.tomcat.accesslog.rotate=false",
            "--server.tomcat.accesslog.buffered=false",  # readable while the server runs
            "--server.tomcat.accesslog.pattern=%{begin:msec}t %{end:msec}t %m %U %s",
        ]

    def api(self, method: str, path: str, body: object = None) -> object:
        return call_api(self.api_url, method, path, body)

    def start_workflow(self, name: str, workflow_input: dict[str, object], **extra: object) -> str:
        return str(self.api("POST", "/workflow", {"name": name, "input": workflow_input, **extra}))

    def workflow(self, workflow_id: str) -> dict[str, object]:
        result = self.api("GET", f"/workflow/{workflow_id}?includeTasks=true")
        assert isinstance(result, dict)
        return result

    def wait_for(self, workflow_ids: list[str], timeout: float) -> dict[str, str]:
        """Status of each workflow once none is RUNNING; the test fails, naming those still running,
        when `timeout` runs out first."""
        statuses: dict[str, str] = {}

        def ended() -> bool:
            statuses.update({wid: str(self.workflow(wid)["status"]) for wid in workflow_ids})
            return all(status != "RUNNING" for status in statuses.values())

        def still_running() -> str:
            running = [wid for wid, status in statuses.items() if status == "RUNNING"]
            return "still RUNNING:\n" + "\n".join(self.describe(wid) for wid in running)

        wait_until(ended, timeout, f"not every one of {len(workflow_ids)} workflow(s) ended", still_running, every=0.5)
        return statuses

    def describe(self, workflow_id: str) -> str:
        """One line per task of a workflow: what a test needs to see why it has not ended."""
        workflow = self.workflow(workflow_id)
        now_ms = time.time() * 1000
        lines = [f"{workflow_id} {workflow.get('status')}"]
        tasks = workflow.get("tasks")
        for task in tasks if isinstance(tasks, list) else []:
            updated = task.get("updateTime") or task.get("startTime") or 0
            lines.append(
                f"  {task.get('referenceTaskName')} {task.get('taskId')} {task.get('status')}"
                f" retry={task.get('retryCount')} polls={task.get('pollCount')}"
                f" worker={task.get('workerId')} updated {max(0.0, (now_ms - updated) / 1000):.0f}s ago"
            )
        return "\n".join(lines)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.root_url}/health", timeout=2) as response:
                return bool(json.load(response).get("healthy"))
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def start(self) -> "ConductorServer":
        command = self.command()
        self._wait_for_port()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.healthy():
            if self.process.poll() is not None:
                raise ServerUnavailable(f"Conductor server exited early; see {self.log_path}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerUnavailable(
                    f"Conductor server not healthy after {START_TIMEOUT_SECONDS}s; see {self.log_path}"
                )
            time.sleep(0.5)
        return self

    def _wait_for_port(self, timeout: float = 30) -> None:
        """A restart waits until the stopped server's listening socket is gone, then takes the same port."""
        deadline = time.monotonic() + timeout
        while not _can_bind(self.port):
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"port {self.port} still in use {timeout:g} s after the server stopped")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> "ConductorServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "fetch":
        print(fetch_jar())
        return 0
    if command == "run":
        port = int(argv[1]) if len(argv) > 1 else 8080
        with ConductorServer(port=port) as server:
            print(f"Conductor {SERVER_VERSION} at {server.api_url} (Ctrl-C stops it)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
        return 0
    print("usage: python -m harness.conductor_server [fetch|run [PORT]]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
