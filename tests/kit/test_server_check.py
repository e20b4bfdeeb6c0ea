"""The server check `worker` and `doctor` make before anything else: only a Conductor API passes. Any web
server answers something; a proxy's page or another JSON API at CONDUCTOR_SERVER_URL is refused in one
line naming what answered. (tests/e2e/test_doctor.py runs `doctor` against such servers; the `worker`
command is run against one here.)"""

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conductor_worker_kit.conductor_client import IDENTITY_PROBE_TASK, ServerError, check_server
from conductor_worker_kit.config import Settings

Answer = tuple[int, str, bytes]

NOT_CONDUCTOR: dict[str, Answer] = {
    "a-404-page": (404, "text/html", b"<html><body><h1>Not Found</h1></body></html>"),
    "a-proxy-page": (200, "text/html", b"<html><body><form>Sign in to continue</form></body></html>"),
    "another-json-api": (200, "application/json", b'{"status": "UP", "items": []}'),
    "a-json-list": (200, "application/json", b"[]"),
    # A 401 is Conductor asking for credentials only when it comes as JSON; a proxy's sign-in page is not.
    "a-sign-in-page": (401, "text/html", b"<html><body>Please sign in</body></html>"),
    "a-count-as-text": (200, "application/json", b'{"' + IDENTITY_PROBE_TASK.encode() + b'": "0"}'),
}
CONDUCTOR: dict[str, Answer] = {
    "open": (200, "application/json", b'{"' + IDENTITY_PROBE_TASK.encode() + b'": 0}'),
    # Orkes without credentials: the check passes, the credentials are checked next.
    "asking-for-credentials": (401, "application/json", b'{"error": "Unauthorized"}'),
}
PATHS_ASKED: list[str] = []  # every request the web server answered, "GET /api/...", in order


@pytest.fixture
def web_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server on loopback giving `request.param` to every GET, and 401 to POST /token; its /api URL."""
    status, kind, body = request.param
    PATHS_ASKED.clear()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # POST /token: this key is not the server's
            PATHS_ASKED.append(f"POST {self.path}")
            body = b'{"message": "Invalid access key or secret"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            PATHS_ASKED.append(f"GET {self.path}")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()
    thread.join()  # no thread left behind: the tests that fork refuse to while one runs


@pytest.mark.parametrize("web_server", NOT_CONDUCTOR.values(), ids=NOT_CONDUCTOR.keys(), indirect=True)
def test_a_web_server_that_is_not_conductor_is_refused_in_one_line(web_server: str) -> None:
    with pytest.raises(ServerError) as refused:
        check_server(replace(Settings(), server_url=web_server))
    message = str(refused.value)
    assert message.startswith(f"{web_server} does not answer like a Conductor API (GET /tasks/queue/sizes: HTTP ")
    assert "\n" not in message


@pytest.mark.parametrize("web_server", CONDUCTOR.values(), ids=CONDUCTOR.keys(), indirect=True)
def test_a_conductor_api_passes(web_server: str) -> None:
    check_server(replace(Settings(), server_url=web_server))


@pytest.mark.parametrize("web_server", [CONDUCTOR["open"]], ids=["conductor"], indirect=True)
def test_credentials_the_server_rejects_are_refused_in_one_line(web_server: str) -> None:
    settings = replace(Settings(), server_url=web_server, auth_key="key", auth_secret="wrong")
    with pytest.raises(ServerError) as refused:
        check_server(settings)
    assert str(refused.value) == (
        "the server rejected CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (HTTP 401: Invalid access key or secret)"
    )


@pytest.mark.parametrize("web_server", [NOT_CONDUCTOR["a-proxy-page"]], ids=["a-proxy-page"], indirect=True)
def test_the_worker_command_refuses_a_server_that_is_not_conductor_before_any_poll(
    web_server: str, tmp_path: Path, package: str
) -> None:
    """The first worker process checks the server once it has loaded the SDK: a 200 that is not Conductor
    stops the command with the check's one line, and no worker process ever polled it."""
    env = {
        **os.environ,
        "CONDUCTOR_SERVER_URL": web_server,
        "WORKER_ENV_FILE": str(tmp_path / "no.env"),
        "WORKER_HEALTH_DIR": str(tmp_path / "health"),
    }
    command = [sys.executable, "-m", package, "worker"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: {web_server} does not answer like a Conductor API ("), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"GET /api/tasks/queue/sizes?taskType={IDENTITY_PROBE_TASK}" in PATHS_ASKED
    assert [asked for asked in PATHS_ASKED if "/tasks/poll" in asked] == []


def test_a_stop_while_the_server_check_waits_for_an_answer_ends_the_worker_at_once(
    tmp_path: Path, package: str
) -> None:
    """A server that takes the connection and never answers holds the check up to the client's timeout; a
    SIGTERM meanwhile stops the command cleanly (nothing was taken), without waiting for the check to fail."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(60)
        env = {
            **os.environ,
            "CONDUCTOR_SERVER_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/api",
            "WORKER_ENV_FILE": str(tmp_path / "no.env"),
            "WORKER_HEALTH_DIR": str(tmp_path / "health"),
        }
        command = [sys.executable, "-m", package, "worker"]
        worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            connection, _ = silent.accept()  # the check has asked, and waits
            with connection:
                worker.send_signal(signal.SIGTERM)
                _, stderr = worker.communicate(timeout=60)
        finally:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, stderr
    assert "stopped: every task taken was finished and reported" in stderr
    assert "error" not in stderr.lower(), stderr
