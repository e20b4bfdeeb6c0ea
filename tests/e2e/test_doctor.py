"""`doctor` and the worker's start-up check cannot be fooled: they check the task names the workers
really serve, and that CONDUCTOR_SERVER_URL is a Conductor API rather than any web server."""

import http.server
import threading
import time
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


@pytest.fixture
def not_conductor() -> Iterator[str]:
    """Some other web server on loopback: it answers every path, with an HTML 404 page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


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


def test_doctor_refuses_a_web_server_that_is_not_conductor(project: BakedProject, not_conductor: str) -> None:
    code, lines = doctor_lines(project, CONDUCTOR_SERVER_URL=not_conductor)
    assert code == 1
    assert lines == [
        f"FAIL  server reachable: {not_conductor} does not answer like a Conductor API (GET /tasks/queue/sizes: "
        "HTTP 404, text/html); CONDUCTOR_SERVER_URL must be the API's base URL, e.g. http://localhost:8080/api"
    ]


def test_worker_refuses_a_web_server_that_is_not_conductor(project: BakedProject, not_conductor: str) -> None:
    result = project.cli("worker", env={"CONDUCTOR_SERVER_URL": not_conductor}, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {not_conductor} does not answer like a Conductor API (GET /tasks/queue/sizes: "
        "HTTP 404, text/html); CONDUCTOR_SERVER_URL must be the API's base URL, e.g. http://localhost:8080/api\n"
    )


def test_worker_warns_about_a_setting_for_a_task_it_does_not_serve(project: BakedProject) -> None:
    typo = f"CONDUCTOR_WORKER_{TASK.upper()}S_THREAD_COUNT"
    worker = project.start_worker(env={typo: "4"}, log_name="warn.log")
    try:
        deadline = time.monotonic() + 120
        while "serving tasks" not in worker.log() and worker.process.poll() is None:
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.3)
    finally:
        assert worker.stop() == 0, worker.log()
    warning = next(line for line in worker.log().splitlines() if typo in line)
    assert "WARNING" in warning
    assert f"did you mean CONDUCTOR_WORKER_{TASK.upper()}_THREAD_COUNT?" in warning
