"""Adaptive polling, the default, against the real server: after a burst of tasks a worker polls without
the server's hold; after its quiet spell it is back to held polls only (counted from its own `/metrics`,
`worker_polls_total{taskType, held}`), and a task that comes after the quiet spell is still picked up."""

import json
import time

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake_for_server
from harness.conductor_server import ConductorServer, free_port
from harness.metrics_scrape import MetricsReading
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "adaptive_invoice_total"  # this module's own task name, so other modules' workers never take its tasks
BURST = 20
BUSY_SECONDS = 2.0  # the generated default (WORKER_BUSY_SECONDS)
WATCH_SECONDS = 3.0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    directory = tmp_path_factory.mktemp("adaptive")
    return bake_for_server(directory, conductor.api_url, project_name="Adaptive Worker", task_definition_name=TASK)


def polls(metrics: MetricsReading) -> dict[bool, float]:
    """The worker's polls of TASK so far, held (True) and unheld (False)."""
    metrics.refresh()
    counted = {True: 0.0, False: 0.0}
    for name, labels, value in metrics.found:
        if name == "worker_polls_total" and labels.get("taskType") == TASK:
            counted[labels.get("held") == "true"] += value
    return counted


def test_after_a_burst_the_worker_polls_unheld_then_held_again_and_still_picks_up_a_task(
    project: BakedProject, conductor: ConductorServer, workers: list[WorkerProcess], workflows: list[str]
) -> None:
    port = free_port()
    project.start_polling_worker(workers, "adaptive.log", {"WORKER_METRICS_PORT": str(port)})
    metrics = MetricsReading(port)
    wait_until(lambda: polls(metrics)[True] > 0, 30, "no held poll counted on /metrics", lambda: metrics.text[:2000])
    # Its first poll is unheld (tasks queued before the start are not held for a batch), then only held ones.
    assert polls(metrics)[False] == 1, "an idle worker that never had a task polls held after its first poll"

    workflow_input = json.loads(
        (
            project.path / "src" / project.package / "definitions" / "workflows" / f"{project.workflow_name}.input.json"
        ).read_text()
    )
    workflows += [conductor.start_workflow(project.workflow_name, workflow_input) for _ in range(BURST)]
    ended = conductor.wait_for(workflows, 60)
    assert set(ended.values()) == {"COMPLETED"}, ended
    assert polls(metrics)[False] > 0, "no unheld poll while tasks kept coming"

    time.sleep(BUSY_SECONDS + 1.0)  # the quiet spell, and a poll in flight at its end
    before = polls(metrics)
    time.sleep(WATCH_SECONDS)
    after = polls(metrics)
    assert after[False] == before[False], f"unheld polls after the quiet spell: {before} -> {after}"
    # Held polls go on at about 5 a second (each waits ~200 ms on an empty queue).
    held = after[True] - before[True]
    assert 3 <= held <= 12 * WATCH_SECONDS, f"{held:g} held polls in {WATCH_SECONDS:g} s: {before} -> {after}"

    run = project.cli("run-workflow", "--timeout", "60")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert json.loads(run.stdout)["status"] == "COMPLETED"
    assert polls(metrics)[False] > after[False], "the task after the quiet spell made the worker busy again"
