"""Against the Conductor server in CONDUCTOR_SERVER_URL; skipped with the reason when none answers.

Run with a local server: `docker compose up -d conductor`, then `make integration`.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.config import load_env_file, load_settings
from {{ cookiecutter.package_name }}.server import ConductorServer, ServerError

PACKAGE = "{{ cookiecutter.package_name }}"
pytestmark = pytest.mark.integration


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ConductorServer]:
    load_env_file()
    settings = load_settings()
    with ConductorServer(settings, timeout=3) as client:
        try:
            client.health()
        except ServerError as error:
            pytest.skip(f"no Conductor server: {error}")
        yield client


@pytest.fixture(scope="module")
def worker(server: ConductorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    assert cli("register").returncode == 0
    env = {**os.environ, "WORKER_HEALTH_DIR": str(tmp_path_factory.mktemp("health"))}
    process = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    yield process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_register_is_idempotent(server: ConductorServer) -> None:
    first, second = cli("register"), cli("register")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert all(line.startswith("unchanged") for line in second.stdout.splitlines()), second.stdout


def test_workflow_completes(worker: subprocess.Popen[str]) -> None:
    result = cli("run-workflow", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["output"]["total"] == "37.16"


def test_bad_input_fails_terminally_and_worker_lives(worker: subprocess.Popen[str]) -> None:
    result = cli("run-workflow", "--input", json.dumps({"order_id": "x", "items": []}), "--timeout", "60")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["status"] == "FAILED"
    assert summary["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert summary["tasks"][0]["reasonForIncompletion"] == "items must be a non-empty list"
    assert worker.poll() is None


def test_doctor_passes(worker: subprocess.Popen[str]) -> None:
    result = cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
