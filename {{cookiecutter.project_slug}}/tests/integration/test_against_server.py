"""Against the Conductor server at CONDUCTOR_SERVER_URL (from the environment or `.env`).

`make integration` runs this tier, and CI runs it against its Conductor service. Without a server
every test here fails with one line saying how to start one: `docker compose up -d conductor`.
To leave the tier out, deselect it: `pytest -m "not integration"` (what `make check` runs).

The tests run a worker of their own, in a task domain of their own, with its own health folder and
metrics port: a worker you run at the same time (`make worker`) neither takes their tasks nor
clashes with theirs. That worker's output goes to a file, printed when a test fails.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conductor_worker_kit.conductor_client import ConductorClient

PACKAGE = "{{ cookiecutter.package_name }}"
WORKER_START_SECONDS = 60
pytestmark = pytest.mark.integration


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    process: "subprocess.Popen[bytes]"
    env: dict[str, str]
    domain: str
    log_path: Path

    def log(self) -> str:
        return f"--- worker log ({self.log_path}) ---\n{self.log_path.read_text(errors='replace')}"


def worker_environment(folder: Path, domain: str) -> dict[str, str]:
    """This shell's settings (and `.env`'s), with a domain, health folder and metrics port of the tests' own."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not (name.startswith("CONDUCTOR_WORKER_") and name.endswith("_DOMAIN"))
    }
    return {
        **inherited,
        "CONDUCTOR_WORKER_ALL_DOMAIN": domain,
        "WORKER_HEALTH_DIR": str(folder / "health"),
        "WORKER_METRICS_PORT": str(free_port()),
    }


@pytest.fixture(scope="module")
def worker(server: ConductorClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    registered = cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    folder = tmp_path_factory.mktemp("worker")
    domain = f"integration-{uuid.uuid4().hex[:12]}"
    env = worker_environment(folder, domain)
    log_path = folder / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    started = Worker(process, env, domain, log_path)
    deadline = time.monotonic() + WORKER_START_SECONDS
    while cli("health", env=env).returncode != 0:
        if process.poll() is not None or time.monotonic() >= deadline:
            process.kill()
            pytest.fail(f"the worker did not poll within {WORKER_START_SECONDS} s\n{started.log()}", pytrace=False)
        time.sleep(0.5)
    yield started
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    assert code == 0, f"the worker exited with {code} after SIGTERM\n{started.log()}"


def run_workflow(worker: Worker, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("run-workflow", "--domain", worker.domain, "--timeout", "60", *args, env=worker.env)
    try:
        return result.returncode, json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"run-workflow printed no result:\n{result.stdout}{result.stderr}\n{worker.log()}")


def test_register_is_idempotent(server: ConductorClient) -> None:
    first, second = cli("register"), cli("register")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert all(line.startswith("unchanged") for line in second.stdout.splitlines()), second.stdout


def test_workflow_completes(worker: Worker) -> None:
    code, summary = run_workflow(worker)
    assert code == 0, f"{summary}\n{worker.log()}"
    assert summary["output"]["total"] == "37.16", worker.log()


def test_bad_input_fails_terminally_and_worker_lives(worker: Worker) -> None:
    code, summary = run_workflow(worker, "--input", json.dumps({"order_id": "x", "items": []}))
    assert code == 1, f"{summary}\n{worker.log()}"
    assert summary["status"] == "FAILED"
    assert summary["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert summary["tasks"][0]["reasonForIncompletion"] == "items must be a non-empty list"
    assert worker.process.poll() is None, worker.log()


def test_doctor_passes(worker: Worker) -> None:
    result = cli("doctor", env=worker.env)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{worker.log()}"
