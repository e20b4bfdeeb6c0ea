"""The generated `scripts/e2e.sh`, the very script CI's e2e job runs, against the real Conductor server:
it must end in COMPLETED with a clean worker drain, and fail with a clear message when no server answers."""

import json
from pathlib import Path

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer, free_port
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "e2e_script_total"  # this module's own task, so other modules' workers never take its tasks
DOMAIN = "drain-check-test"  # tasks this module takes by hand, where no worker polls


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("e2e-script"), project_name="E2E Script Worker", task_definition_name=TASK)
    return baked.install()


def test_e2e_script_completes_against_the_real_server(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=600,
        env={"CONDUCTOR_SERVER_URL": conductor.api_url, "E2E_LOG_DIR": str(logs)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "e2e: the worker is polling" in result.stdout
    assert '"status": "COMPLETED"' in result.stdout
    assert "e2e: the worker drained and exited 0" in result.stdout
    assert result.stdout.rstrip().endswith("e2e: COMPLETED")
    assert json.loads((logs / "workflow.json").read_text())["status"] == "COMPLETED"
    assert (logs / "worker.log").stat().st_size > 0


def test_e2e_script_fails_clearly_when_no_server_answers(project: BakedProject, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=120,
        env={
            "CONDUCTOR_SERVER_URL": f"{url}/api",
            "E2E_SERVER_WAIT_SECONDS": "3",
            "E2E_LOG_DIR": str(tmp_path / "logs"),
        },
    )
    assert result.returncode != 0
    assert f"e2e: FAILED: no Conductor server answered at {url}/health within 3s" in result.stderr
    assert "register" not in result.stdout


def test_e2e_script_fails_when_the_workflow_cannot_complete(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    # The worker polls another domain, so the task is never taken: still RUNNING when the wait ends.
    result = project.run(
        "bash",
        "scripts/e2e.sh",
        check=False,
        timeout=300,
        env={
            "CONDUCTOR_SERVER_URL": conductor.api_url,
            "CONDUCTOR_WORKER_ALL_DOMAIN": "elsewhere",
            "E2E_WORKFLOW_TIMEOUT_SECONDS": "3",
            "E2E_LOG_DIR": str(tmp_path / "logs"),
        },
    )
    assert result.returncode != 0, result.stdout
    assert "e2e: FAILED: the example workflow did not complete" in result.stderr
    assert '"status": "RUNNING"' in result.stdout


def test_the_drain_check_fails_naming_each_workflow_whose_task_did_not_run_exactly_once(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    """`drain_check.py verify`, the exactly-once half of the script, fails when it should: for a workflow
    whose task ran twice (a first attempt FAILED and retried) and for one still RUNNING at its deadline.
    The tasks are taken and reported by hand, in a domain of their own."""
    env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    assert project.cli("register", env=env).returncode == 0
    workflows = project.path / "src" / project.package / "definitions" / "workflows"
    example = json.loads((workflows / f"{project.workflow_name}.input.json").read_text())

    def start() -> str:
        return conductor.start_workflow(project.workflow_name, example, taskToDomain={"*": DOMAIN})

    def take_and_report(status: str) -> None:
        def polled() -> dict[str, object] | None:
            task = conductor.api("GET", f"/tasks/poll/{TASK}?workerid=drain-check-test&domain={DOMAIN}")
            return task if isinstance(task, dict) else None

        task = wait_until(polled, 30, f"no {TASK} task to take in domain {DOMAIN}")
        result = {"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"], "status": status}
        conductor.api("POST", "/tasks", {**result, "reasonForIncompletion": "failed on purpose"})

    running = None
    try:
        once = start()
        take_and_report("COMPLETED")
        twice = start()
        take_and_report("FAILED")  # its first attempt; the retry comes after retryDelaySeconds
        take_and_report("COMPLETED")
        running = start()
        assert conductor.wait_for([once, twice], timeout=30) == {once: "COMPLETED", twice: "COMPLETED"}
        ids_file = tmp_path / "ids.txt"
        ids_file.write_text(f"{once}\n{twice}\n{running}\n")
        result = project.run(
            "python",
            "scripts/drain_check.py",
            "verify",
            str(ids_file),
            env={**env, "E2E_WORKFLOW_TIMEOUT_SECONDS": "2"},
            check=False,
        )
    finally:
        if running is not None:
            conductor.api("DELETE", f"/workflow/{running}?reason=test+cleanup")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert f"drain check: workflow {twice} is COMPLETED, task attempts ['FAILED', 'COMPLETED']" in lines
    assert f"drain check: workflow {running} is RUNNING, task attempts ['SCHEDULED']" in lines
    assert lines[-1] == "drain check: 2 of 3 workflows did not run their task exactly once"
    assert once not in result.stderr
