"""The start warning about undefined tasks waits for the first poll: its lookups must not delay it."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conductor_worker_kit.config import Settings
from conductor_worker_kit.runtime.task_ledger import TaskLedger
from conductor_worker_kit.runtime.worker_process import warn_undefined_tasks


class Definitions(BaseHTTPRequestHandler):
    """A server that has no task definitions and records when each lookup came."""

    server: "Recording"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.lookups.append(time.monotonic())
        body = json.dumps({"message": "no such task"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Recording(ThreadingHTTPServer):
    lookups: list[float]


@pytest.fixture
def server() -> Iterator[Recording]:
    recording = Recording(("127.0.0.1", 0), Definitions)
    recording.lookups = []
    threading.Thread(target=recording.serve_forever, daemon=True).start()
    yield recording
    recording.shutdown()
    recording.server_close()


def test_the_first_poll_is_waited_for_once(server: Recording) -> None:
    ledger = TaskLedger()
    assert not ledger.wait_for_first_poll(0.05)
    assert ledger.poll_started()
    ledger.poll_finished([])
    assert ledger.wait_for_first_poll(0)


def test_undefined_tasks_are_looked_up_only_after_the_first_poll(
    server: Recording, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(server_url=f"http://127.0.0.1:{server.server_address[1]}/api")
    ledger = TaskLedger()
    warning = threading.Thread(target=warn_undefined_tasks, args=(settings, ["charge"], ledger), daemon=True)
    warning.start()
    time.sleep(0.5)  # how long a lookup that did not wait gets to show, not a wait for a condition
    assert server.lookups == [], "looked up before the first poll was answered"
    ledger.poll_started()
    polled = time.monotonic()
    ledger.poll_finished([])
    warning.join(timeout=10)
    assert len(server.lookups) == 1
    assert server.lookups[0] >= polled
    assert "task charge has no definition on the server" in caplog.text
