"""Orkes-style tokens that expire within seconds (the auth proxy in front of the real server): the commands
renew theirs before expiry, the worker (the SDK) renews on 401 EXPIRED_TOKEN, and nothing fails.

Two applications, as the generated README recommends: a deploy key that registers, a worker key that polls.
"""

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.auth_proxy import AccessKey, AuthProxy
from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "token_invoice_total"
TOKEN_SECONDS = 3.0
DEPLOY_KEY, DEPLOY_SECRET = "deploy-app-key", "Depl0y-S3cret-Value-0xAA"
WORKER_KEY, WORKER_SECRET = "worker-app-key", "W0rker-S3cret-Value-0xBB"


@pytest.fixture(scope="module")
def proxy(conductor: ConductorServer) -> Iterator[AuthProxy]:
    started = AuthProxy(
        upstream=conductor.root_url,
        keys={DEPLOY_KEY: AccessKey(DEPLOY_SECRET), WORKER_KEY: AccessKey(WORKER_SECRET)},
        token_ttl_seconds=TOKEN_SECONDS,
    ).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, proxy: AuthProxy) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("tokens"), project_name="Token Worker", task_definition_name=TASK)
    baked.env = {"CONDUCTOR_SERVER_URL": proxy.api_url, "WORKER_SHUTDOWN_GRACE_SECONDS": "15"}
    return baked.install()


def as_key(key: str, secret: str, health_dir: Path) -> dict[str, str]:
    return {"CONDUCTOR_AUTH_KEY": key, "CONDUCTOR_AUTH_SECRET": secret, "WORKER_HEALTH_DIR": str(health_dir)}


def test_commands_and_worker_outlive_their_tokens(project: BakedProject, proxy: AuthProxy, tmp_path: Path) -> None:
    deploy = as_key(DEPLOY_KEY, DEPLOY_SECRET, tmp_path / "health")
    worker_env = as_key(WORKER_KEY, WORKER_SECRET, tmp_path / "health")

    registered = project.cli("register", env=deploy)
    assert registered.returncode == 0, registered.stderr

    # run-workflow waits longer than a token lives: started before any worker runs, it keeps polling the
    # workflow through several token lifetimes, renewing as it goes.
    grants_before = proxy.grants.count(DEPLOY_KEY)
    waiting = subprocess.Popen(
        [str(project.bin / "python"), "-m", project.package, "run-workflow", "--timeout", "60"],
        cwd=project.path,
        env=project.environment(deploy),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: proxy.grants.count(DEPLOY_KEY) - grants_before >= 3 or waiting.poll() is not None,
            8 * TOKEN_SECONDS,
            "run-workflow did not renew its token twice within its wait",
        )
        assert waiting.poll() is None, waiting.communicate()
        worker = project.start_worker(env=worker_env, log_name="tokens-worker.log")
        try:
            stdout, stderr = waiting.communicate(timeout=90)
            assert waiting.returncode == 0, stdout + stderr
            assert json.loads(stdout)["status"] == "COMPLETED"

            # The worker over several token lifetimes: workflows keep completing while its tokens expire.
            started = time.monotonic()
            grants = proxy.grants.count(WORKER_KEY)
            completed = 0
            while time.monotonic() - started < 3 * TOKEN_SECONDS or proxy.grants.count(WORKER_KEY) - grants < 2:
                assert time.monotonic() - started < 90, "the worker's tokens were never renewed"
                result = project.cli("run-workflow", "--timeout", "30", env=deploy)
                assert result.returncode == 0, result.stdout + result.stderr + worker.log()[-3000:]
                assert json.loads(result.stdout)["status"] == "COMPLETED"
                completed += 1
            # It renewed because the server said EXPIRED_TOKEN, and carried on.
            assert WORKER_KEY in proxy.expired_calls, "the worker's token never expired: the test proved nothing"
            assert completed >= 2

            doctor = project.cli("doctor", env=deploy)
            assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        finally:
            assert worker.stop() == 0, worker.log()[-3000:]
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()


def test_a_token_that_expires_early_is_renewed_once_and_the_call_retried(
    project: BakedProject, proxy: AuthProxy, tmp_path: Path
) -> None:
    """The server may end a token before its stated expiry (revoked, the auth service restarted): the
    401 EXPIRED_TOKEN makes the client fetch one new token and send the call again."""
    # The definition it reads is this test's own to register: it does not lean on another test having run.
    registered = project.cli("register", env=as_key(DEPLOY_KEY, DEPLOY_SECRET, tmp_path / "health"))
    assert registered.returncode == 0, registered.stderr
    script = (
        "import sys\n"
        "from conductor_worker_kit.conductor_client import ConductorClient\n"
        "from conductor_worker_kit.config import load_settings\n"
        "with ConductorClient(load_settings()) as server:\n"
        f"    server.request('GET', '/metadata/taskdefs/{TASK}')\n"
        "    print('first call done', flush=True)\n"
        "    sys.stdin.readline()\n"
        f"    print(server.request('GET', '/metadata/taskdefs/{TASK}').json()['name'], flush=True)\n"
    )
    proxy.token_ttl_seconds = 600.0  # the client plans its renewal minutes away
    client = subprocess.Popen(
        [str(project.bin / "python"), "-c", script],
        cwd=project.path,
        env=project.environment(as_key(DEPLOY_KEY, DEPLOY_SECRET, tmp_path / "health")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline().strip() == "first call done", client.communicate(timeout=30)
        grants, expired = proxy.grants.count(DEPLOY_KEY), proxy.expired_calls.count(DEPLOY_KEY)
        proxy.expire_tokens(DEPLOY_KEY)
        stdout, stderr = client.communicate("go\n", timeout=60)
    finally:
        proxy.token_ttl_seconds = TOKEN_SECONDS
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, stderr
    assert stdout.strip() == TASK
    assert proxy.expired_calls.count(DEPLOY_KEY) - expired == 1
    assert proxy.grants.count(DEPLOY_KEY) - grants == 1


def test_a_wrong_key_still_fails_with_one_line(project: BakedProject, tmp_path: Path) -> None:
    env = as_key(DEPLOY_KEY, "not-the-secret", tmp_path / "health")
    for command in ("register", "run-workflow"):
        result = project.cli(command, env=env)
        assert result.returncode != 0, command
        assert result.stderr.count("\n") == 1, result.stderr
        assert "the server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (HTTP 401" in result.stderr
        assert "not-the-secret" not in result.stdout + result.stderr
    doctor = project.cli("doctor", env=env)
    assert doctor.returncode != 0
    assert "FAIL  credentials: server rejected" in doctor.stdout and "not-the-secret" not in doctor.stdout
