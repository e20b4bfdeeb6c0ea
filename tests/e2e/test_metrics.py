"""The `metrics` option against the real server: the worker serves Prometheus `/metrics` on
WORKER_METRICS_PORT, with poll and execution counters for its task after a workflow ran."""

import json
import socket
from collections.abc import Callable, Iterator

import pytest

from harness.baked_project import BakedProject, WorkerProcess, bake
from harness.conductor_server import ConductorServer, free_port
from harness.metrics_scrape import EXECUTION_COUNTERS, MetricsReading
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "metrics_invoice_total"  # this module's own task name, so other modules' workers never take its tasks


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    """One project with the defaults' `metrics` (on), shared by this module's tests."""
    baked = bake(tmp_path_factory.mktemp("metrics"), project_name="Metrics Worker", task_definition_name=TASK)
    baked.env = {"CONDUCTOR_SERVER_URL": conductor.api_url}
    return baked.install()


@pytest.fixture
def metrics_worker(project: BakedProject) -> Iterator[tuple[BakedProject, WorkerProcess, int]]:
    port = free_port()
    with project.serving({"WORKER_METRICS_PORT": str(port)}, "metrics.log") as worker:
        yield project, worker, port


def test_metrics_endpoint_counts_polls_and_executions_of_the_task(
    metrics_worker: tuple[BakedProject, WorkerProcess, int],
) -> None:
    project, _, port = metrics_worker
    run = project.cli("run-workflow", "--timeout", "60")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert json.loads(run.stdout)["status"] == "COMPLETED"

    # Worker processes write their counters to files; each scrape sums them. Wait until both show.
    metrics = MetricsReading(port)

    def task_counted() -> bool:
        metrics.refresh()
        return metrics.count(("task_poll_total",), TASK) >= 1 and metrics.count(EXECUTION_COUNTERS, TASK) >= 1

    def what_was_there() -> str:
        names = sorted({name for name, labels, _ in metrics.found if labels.get("taskType") == TASK})
        return f"series with taskType={TASK!r}: {names}\n{metrics.text[:2000]}"

    wait_until(
        task_counted,
        30,
        f"no task_poll_total and execution counter for taskType={TASK!r} on /metrics",
        details=what_was_there,
    )
    # The SDK's canonical metrics by default: times are histograms (the legacy ones are quantile gauges).
    names = {name for name, labels, _ in metrics.found if labels.get("taskType") == TASK}
    assert "task_poll_time_seconds_bucket" in names, what_was_there()
    assert "task_poll_time" not in names, what_was_there()


def env_example_port(project: BakedProject) -> str | None:
    for line in (project.path / ".env.example").read_text().splitlines():
        if line.strip().startswith("WORKER_METRICS_PORT="):
            return line.split("=", 1)[1].strip()
    return None


def test_metrics_on_by_default_ships_a_port_in_env_example(project: BakedProject) -> None:
    assert project.answers["metrics"] is True, "the bake above leaves `metrics` at its default"
    port = env_example_port(project)
    assert port and port.isdigit(), f"WORKER_METRICS_PORT={port!r}"


def test_metrics_off_ships_no_metrics_port_in_env_example(baker: Callable[..., BakedProject]) -> None:
    port = env_example_port(baker(metrics=False))
    assert not port, f"metrics off, yet .env.example sets WORKER_METRICS_PORT={port!r}"


def test_a_busy_metrics_port_is_one_line_and_exit_2(project: BakedProject) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = project.cli("worker", env={"WORKER_METRICS_PORT": str(port)}, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"configuration error: WORKER_METRICS_PORT {port} cannot be served: Address already in use"], (
        result.stderr
    )
