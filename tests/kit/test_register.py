"""`register` stops at the first definition the server refuses, naming its file and each reason, and
sends nothing after it: task definitions first (workflows use them), then workflows, in file order. Some
refusals of a workflow come back inside an HTTP 200 (`bulkErrorResults`). A stand-in for the metadata
endpoints records what was sent; tests/e2e/test_register.py has the real server's refusals."""

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conductor_worker_kit.commands.definitions import register
from conductor_worker_kit.conductor_client import ConductorClient, ServerError
from conductor_worker_kit.config import Settings
from conductor_worker_kit.project import Project

TASKS = ["charge", "ship"]
WORKFLOWS = ["flow_a", "flow_b", "flow_c"]  # sent in this order
Registered = tuple[list[str], str | None, list[str]]


# What Conductor adds to a definition it stores: bookkeeping, and fields the definition left out, at
# values that mean "not set". A definition given back with these still equals its file.
SERVER_ADDS = {
    "taskdefs": {"createTime": 1700000000000, "createdBy": "", "inputKeys": [], "concurrentExecLimit": 0},
    "workflow": {"createTime": 1700000000000, "ownerApp": "", "inputParameters": [], "variables": {}},
}


class MetadataEndpoints(BaseHTTPRequestHandler):
    """Keeps what it is sent, by name, and gives it back as Conductor does (SERVER_ADDS); accepts every
    definition but those in `server.refuse`."""

    server: "StandIn"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.sent.append(f"GET {path}")
        kept = self.server.kept.get(path.rsplit("/", 1)[1])
        self._send(404, {"message": "not found"}) if kept is None else self._send(200, kept)

    def _write(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        definitions = body if isinstance(body, list) else [body]
        self.server.sent += [f"{self.command} {self.path} {definition['name']}" for definition in definitions]
        names = [definition["name"] for definition in definitions]
        status, answer = self.server.refuse.get(names[0], (200, {"bulkErrorResults": {}}))
        if status == 200 and not (isinstance(answer, dict) and answer.get("bulkErrorResults")):
            adds = SERVER_ADDS[self.path.rsplit("/", 1)[1]]
            self.server.kept.update((definition["name"], {**adds, **definition}) for definition in definitions)
        self._send(status, answer)

    do_POST = do_PUT = _write


class StandIn(ThreadingHTTPServer):
    def __init__(self, refuse: dict[str, tuple[int, object]]) -> None:
        super().__init__(("127.0.0.1", 0), MetadataEndpoints)
        self.refuse = refuse
        self.sent: list[str] = []
        self.kept: dict[str, object] = {}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    package = tmp_path / "team_worker"
    (package / "definitions" / "tasks").mkdir(parents=True)
    (package / "definitions" / "workflows").mkdir()
    (package / "definitions" / "task-defaults.json").write_text(json.dumps({"retryCount": 2}))
    for task in TASKS:
        (package / "definitions" / "tasks" / f"{task}.json").write_text(json.dumps({"name": task}))
    for workflow in WORKFLOWS:
        definition = {"name": workflow, "version": 1, "tasks": [{"name": "charge", "taskReferenceName": "c"}]}
        (package / "definitions" / "workflows" / f"{workflow}.json").write_text(json.dumps(definition))
    return Project("team_worker", source_dir=package)


@pytest.fixture
def server() -> Iterator[StandIn]:
    stand_in = StandIn({})
    thread = threading.Thread(target=stand_in.serve_forever)
    thread.start()
    yield stand_in
    stand_in.shutdown()
    stand_in.server_close()
    thread.join()  # no thread left behind: the tests that fork refuse to while one runs


def registered(server: StandIn, project: Project, refuse: dict[str, tuple[int, object]] | None = None) -> Registered:
    """The lines `register` printed, its error (None if it passed), and the writes the server was sent."""
    server.refuse, server.sent = refuse or {}, []
    lines: list[str] = []
    error = None
    settings = replace(Settings(), server_url=f"http://127.0.0.1:{server.server_address[1]}/api")
    try:
        with ConductorClient(settings) as client:
            for line in register(client, project):
                lines.append(line)
    except ServerError as refused:
        error = str(refused)
    return lines, error, [request for request in server.sent if not request.startswith("GET ")]


def test_every_definition_is_sent_tasks_first_then_nothing_until_a_file_changes(
    server: StandIn, project: Project
) -> None:
    lines, error, writes = registered(server, project)
    assert error is None
    assert writes == [
        *(f"POST /api/metadata/taskdefs {task}" for task in TASKS),
        *(f"PUT /api/metadata/workflow {workflow}" for workflow in WORKFLOWS),
    ]
    assert lines == [*(f"created task definition {t}" for t in TASKS), *(f"created workflow {w} v1" for w in WORKFLOWS)]

    assert registered(server, project) == (
        [*(f"unchanged task definition {t}" for t in TASKS), *(f"unchanged workflow {w} v1" for w in WORKFLOWS)],
        None,
        [],
    )

    (project.tasks_dir / "ship.json").write_text(json.dumps({"name": "ship", "retryCount": 5}))
    lines, error, writes = registered(server, project)
    assert (error, writes) == (None, ["PUT /api/metadata/taskdefs ship"])
    assert lines[1] == "updated task definition ship"


def test_a_workflow_refused_inside_an_http_200_stops_register_naming_the_file(
    server: StandIn, project: Project
) -> None:
    refusal = {"bulkErrorResults": {"flow_b": "Workflow definition flow_b has no tasks the server knows"}}
    lines, error, writes = registered(server, project, {"flow_b": (200, refusal)})
    assert lines[-1] == "created workflow flow_a v1"
    assert error == (
        f"{project.workflows_dir / 'flow_b.json'}: the server refused workflow flow_b: "
        "Workflow definition flow_b has no tasks the server knows"
    )
    assert [write.rsplit(" ", 1)[1] for write in writes] == [*TASKS, "flow_a", "flow_b"]
    assert not any("flow_c" in request for request in server.sent), "nothing after the refused file is sent"


def test_a_workflow_refused_with_validation_errors_names_each_reason(server: StandIn, project: Project) -> None:
    errors = [
        {"path": "updateWorkflowDefinitions.arg0[0].timeoutSeconds", "message": "must be greater than 0"},
        {"path": "updateWorkflowDefinitions.arg0[0].ownerEmail", "message": "ownerEmail cannot be empty"},
    ]
    lines, error, writes = registered(server, project, {"flow_a": (400, {"status": 400, "validationErrors": errors})})
    where = f"{project.workflows_dir / 'flow_a.json'}: the server refused workflow flow_a"
    assert error == f"{where}: timeoutSeconds: must be greater than 0\n{where}: ownerEmail cannot be empty"
    assert [write.rsplit(" ", 1)[1] for write in writes] == [*TASKS, "flow_a"]
    assert not any("flow_b" in request or "flow_c" in request for request in server.sent)
    assert lines == [f"created task definition {t}" for t in TASKS]


def test_a_refused_task_definition_sends_no_workflow(server: StandIn, project: Project) -> None:
    lines, error, writes = registered(server, project, {"charge": (400, {"message": "retryCount must be >= 0"})})
    assert error == (
        f"{project.tasks_dir / 'charge.json'}: the server refused task definition charge: "
        "HTTP 400: retryCount must be >= 0"
    )
    assert writes == ["POST /api/metadata/taskdefs charge"]
    assert lines == []
    assert not any("workflow" in request for request in server.sent)
