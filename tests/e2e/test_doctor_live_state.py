"""`doctor` reads live state on the real Conductor OSS server: when tasks wait in a queue nobody polls
now, its FAIL says so and names the likely cause: no worker at all; a worker restarted into another
domain; a worker that was not restarted after a task was added (running here, or seen only on the
server). And it names a workflow that leaves out an input its task requires.

Each test prints doctor's output (`-s` shows it); the task names are this module's own, and every
workflow a test leaves waiting is terminated after it."""

import time

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "live_task"
WORKFLOW = "live_flow"
ADDED = "live_added"  # added to the project while a worker runs
WINDOW = 5  # seconds: a poll counts as "now" within max(5 s, 20 x the 100 ms poll interval)

ADDED_MODULE = '''"""A worker added while the project's worker was running."""

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="live_added", thread_count=1)
def live_added(n: int = 0) -> dict[str, object]:
    return {"n": n}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(
        tmp_path_factory.mktemp("live"), project_name="Live Worker", task_definition_name=TASK, workflow_name=WORKFLOW
    )
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    baked.install()
    registered = baked.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    return baked


def start_waiting(conductor: ConductorServer, workflows: list[str], workflow: str, task: str) -> str:
    """A workflow started without a domain whose task waits in the queue."""
    workflow_id = conductor.start_workflow(workflow, {"order_id": "live-1", "n": 1})
    workflows.append(workflow_id)
    wait_until(
        lambda: [t["status"] for t in conductor.workflow(workflow_id)["tasks"]] == ["SCHEDULED"],  # type: ignore[attr-defined]
        20,
        f"the {task} task was not SCHEDULED",
    )
    return workflow_id


def doctor(project: BakedProject, **env: str) -> tuple[int, list[str]]:
    result = project.cli("doctor", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    print(f"----- doctor {' '.join(f'{k}={v}' for k, v in env.items())} (exit {result.returncode}) -----")
    print(result.stdout, end="")
    return result.returncode, result.stdout.splitlines()


def line_for(lines: list[str], check: str) -> str:
    (line,) = [line for line in lines if line.split(":", 1)[0].split("  ", 1)[-1] == check]
    return line


def waiting_unpolled(task: str) -> str:
    """The start of the domain line when one task waits in no domain and nobody polls it now."""
    where = f"(1 in no domain; no poll in the last {WINDOW}s)"
    return f"FAIL  domain of {task}: tasks wait where no worker polls now {where}: "


def test_tasks_waiting_with_no_worker_at_all_are_named(
    project: BakedProject, conductor: ConductorServer, workflows: list[str]
) -> None:
    start_waiting(conductor, workflows, WORKFLOW, TASK)
    code, lines = doctor(project)
    assert code == 1
    assert line_for(lines, f"domain of {TASK}") == waiting_unpolled(TASK) + (
        "no worker polls any task of this project now: start one (`make worker`), or check its log"
    )


def test_a_worker_restarted_into_another_domain_fails_doctor_within_seconds(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    plain = project.start_polling_worker(workers, "no-domain.log")
    assert plain.stop() == 0, plain.log()
    stopped = time.monotonic()
    project.start_polling_worker(workers, "blue.log", {"CONDUCTOR_WORKER_ALL_DOMAIN": "blue"})
    start_waiting(conductor, workflows, WORKFLOW, TASK)
    started = time.monotonic()
    outputs: list[list[str]] = []

    def failed() -> bool:
        code, lines = doctor(project, CONDUCTOR_WORKER_ALL_DOMAIN="blue")
        outputs.append(lines)
        return code == 1 and line_for(lines, f"domain of {TASK}").startswith("FAIL")

    wait_until(failed, 15, "doctor did not FAIL the domain line", lambda: "\n".join(outputs[-1]))
    print(
        f"doctor FAILed {time.monotonic() - started:.1f}s after the workflow started, "
        f"{time.monotonic() - stopped:.1f}s after the no-domain worker stopped"
    )
    assert line_for(outputs[-1], f"domain of {TASK}") == waiting_unpolled(TASK) + (
        "workers poll it in domain 'blue' only: a domain mismatch (this worker's CONDUCTOR_WORKER_ALL_DOMAIN "
        "gives domain 'blue'; the workflow's taskToDomain must name the same domain)"
    )
    assert workers[-1].stop() == 0


def test_a_required_input_missing_from_a_workflow_fails_the_wiring_line(project: BakedProject) -> None:
    path = project.path / "src" / project.package / "definitions" / "workflows" / "live_unwired.json"
    write_workflow(project, "live_unwired", {TASK: from_workflow_input("items", "currency")})
    try:
        code, lines = doctor(project)
    finally:
        path.unlink()
        path.with_suffix("").with_suffix(".input.json").unlink()
    assert code == 1
    assert line_for(lines, "workflow wiring") == (
        f"FAIL  workflow wiring: workflow live_unwired, task {TASK}_ref: no inputParameters entry for 'order_id', "
        f"which the task definition {TASK} requires"
    )


def test_a_worker_not_restarted_after_a_task_was_added_is_named(
    project: BakedProject,
    conductor: ConductorServer,
    workers: list[WorkerProcess],
    workflows: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Last in the module: it adds a worker to the project."""
    old = project.start_polling_worker(workers, "old.log")
    project.add_worker("live_added", ADDED_MODULE, ADDED)
    write_task_definition(project, ADDED, inputKeys=["n"])
    write_workflow(project, "live_added_flow", {ADDED: from_workflow_input("n")})
    registered = project.cli("register")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    workflow_id = start_waiting(conductor, workflows, "live_added_flow", ADDED)

    code, here = doctor(project)  # on the machine the worker runs on: its run state says what it serves
    assert code == 1
    assert line_for(here, f"domain of {ADDED}") == waiting_unpolled(ADDED) + (
        f"the worker running here serves {TASK}, not {ADDED}: it was started before this task was added "
        "or registered; restart it"
    )
    assert line_for(here, f"domain of {TASK}").startswith("PASS")
    elsewhere_dir = str(tmp_path_factory.mktemp("elsewhere"))
    code, elsewhere = doctor(project, WORKER_HEALTH_DIR=elsewhere_dir)  # only the server's poll data
    assert code == 1
    assert line_for(elsewhere, f"domain of {ADDED}") == waiting_unpolled(ADDED) + (
        f"a worker polls {TASK} but not {ADDED}: it runs code from before this task was added; restart it"
    )

    assert old.stop() == 0, old.log()
    project.start_polling_worker(workers, "restarted.log")
    assert conductor.wait_for([workflow_id], timeout=60) == {workflow_id: "COMPLETED"}
    code, after = doctor(project)
    assert line_for(after, f"domain of {ADDED}").startswith("PASS"), after
    assert workers[-1].stop() == 0
