"""`doctor` and the worker's start-up check cannot be fooled: they check the task names the workers
really serve, and that CONDUCTOR_SERVER_URL is a Conductor API rather than any web server."""

import http.server
import threading
from collections.abc import Iterator

import pytest

from harness.baked_project import BakedProject, bake_for_server
from harness.conductor_server import ConductorServer

pytestmark = pytest.mark.e2e

TASK = "e2e_doctor_task"  # names of this module's own, so other modules never see them
WORKFLOW = "e2e_doctor_flow"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    return bake_for_server(
        tmp_path_factory.mktemp("doctor"), conductor.api_url, task_definition_name=TASK, workflow_name=WORKFLOW
    )


class OtherWebServer(http.server.BaseHTTPRequestHandler):
    """A web server that is not Conductor: the same answer (status, content type, body) to every request."""

    answer: tuple[int, str, bytes]

    def do_GET(self) -> None:
        status, kind, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_GET

    def log_message(self, *args: object) -> None:
        pass


NOT_CONDUCTOR = {
    "a-404-page": (404, "text/html", b"<html><body><h1>Not Found</h1></body></html>"),
    # A proxy or load balancer that answers every path with its own page, e.g. a sign-in page.
    "a-proxy-page": (200, "text/html", b"<html><body><form>Sign in to continue</form></body></html>"),
    "another-json-api": (200, "application/json", b'{"status": "UP", "items": []}'),
}


@pytest.fixture(params=NOT_CONDUCTOR.values(), ids=NOT_CONDUCTOR.keys())
def not_conductor(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Some other web server on loopback: its /api URL, and how the refusal describes its answer."""
    status, kind, _ = request.param
    handler = type("Handler", (OtherWebServer,), {"answer": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", f"HTTP {status}, {kind}"
    server.shutdown()
    server.server_close()


def refusal(url: str, answer: str) -> str:
    return (
        f"{url} does not answer like a Conductor API (GET /tasks/queue/sizes: {answer}); "
        "CONDUCTOR_SERVER_URL must be the API's base URL, e.g. http://localhost:8080/api"
    )


def doctor_lines(project: BakedProject, **env: str) -> tuple[int, list[str]]:
    result = project.cli("doctor", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout.splitlines()


def test_doctor_passes_when_everything_matches(project: BakedProject) -> None:
    code, lines = doctor_lines(project)
    assert code == 0, lines
    assert f"PASS  workers served: {TASK}" in lines


def test_doctor_names_both_sides_when_the_decorator_name_differs(project: BakedProject) -> None:
    workers = project.path / "src" / project.package / "workers"
    (module,) = [path for path in workers.glob("*.py") if f'task_definition_name="{TASK}"' in path.read_text()]
    original = module.read_text()
    module.write_text(original.replace(f'task_definition_name="{TASK}"', 'task_definition_name="e2e_doctor_renamed"'))
    try:
        code, lines = doctor_lines(project)
    finally:
        module.write_text(original)
    assert code == 1
    assert "PASS  workers served: e2e_doctor_renamed" in lines
    definition = next(line for line in lines if line.startswith("FAIL  task definition e2e_doctor_renamed"))
    assert "the worker serves 'e2e_doctor_renamed'" in definition
    assert f"definitions/tasks/ defines '{TASK}'" in definition
    workflows = next(line for line in lines if line.startswith("FAIL  workflows"))
    assert f"uses task '{TASK}', which no worker here serves (the worker serves 'e2e_doctor_renamed')" in workflows


def test_doctor_names_a_setting_for_a_task_no_worker_serves(project: BakedProject) -> None:
    typo = f"CONDUCTOR_WORKER_{TASK.upper()}S_THREAD_COUNT"
    code, lines = doctor_lines(project, **{typo: "4"})
    assert code == 1
    settings = next(line for line in lines if line.startswith("FAIL  worker settings"))
    assert f"{typo}: no worker here serves" in settings
    assert f"did you mean CONDUCTOR_WORKER_{TASK.upper()}_THREAD_COUNT?" in settings


def test_a_misspelled_setting_stops_every_command_with_the_name_meant(project: BakedProject) -> None:
    for command in ("doctor", "register", "worker"):
        result = project.cli(command, env={"CONDUCTOR_WORKER_ALL_THREADCOUNT": "4"})
        assert result.returncode == 2
        assert result.stderr == (
            "configuration error: CONDUCTOR_WORKER_ALL_THREADCOUNT is not a setting the SDK reads "
            "(it would be ignored); did you mean CONDUCTOR_WORKER_ALL_THREAD_COUNT?\n"
        )


def test_doctor_refuses_a_web_server_that_is_not_conductor(
    project: BakedProject, not_conductor: tuple[str, str]
) -> None:
    url, answer = not_conductor
    code, lines = doctor_lines(project, CONDUCTOR_SERVER_URL=url)
    assert code == 1
    assert lines == [f"FAIL  server reachable: {refusal(url, answer)}"]


def test_worker_refuses_a_web_server_that_is_not_conductor(
    project: BakedProject, not_conductor: tuple[str, str]
) -> None:
    url, answer = not_conductor
    result = project.cli("worker", env={"CONDUCTOR_SERVER_URL": url}, timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"error: {refusal(url, answer)}\n"


def test_worker_refuses_a_setting_for_a_task_it_does_not_serve(project: BakedProject) -> None:
    typo = f"CONDUCTOR_WORKER_{TASK.upper()}S_THREAD_COUNT"
    result = project.cli("worker", env={typo: "4"}, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"configuration error: {typo}: "), result.stderr
    assert f"did you mean CONDUCTOR_WORKER_{TASK.upper()}_THREAD_COUNT?" in result.stderr
