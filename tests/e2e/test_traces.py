"""OpenTelemetry traces against the real Conductor OSS server and a real OTLP/HTTP receiver: a three-task
workflow (two sync workers in one process, an `async def` worker in another; the second task fails its
first attempt and is retried) gives a span per attempt, four, in one trace, the workflow's, with the task's
type, id, workflow id, attempt and outcome; JSON log lines logged in a task carry its span's ids. Without
the `tracing` extra the endpoint only earns a one-line warning."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer
from harness.task_definitions import from_workflow_input, write_task_definition, write_workflow
from harness.trace_receiver import ReceivedSpan, TraceReceiver
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASKS = ("traced_first", "traced_second", "traced_async")
WORKFLOW = "traced_workflow"

WORKERS_MODULE = '''"""Three workers of one workflow, each logging while it works; the second fails attempt 1."""

import logging

from conductor.client.context.task_context import get_task_context
from conductor.client.worker.worker_task import worker_task

log = logging.getLogger(__name__)


@worker_task(task_definition_name="traced_first", thread_count=2, poll_interval_millis=100)
def traced_first(n: int = 0) -> dict[str, object]:
    log.info("traced_first working")
    return {"n": n}


@worker_task(task_definition_name="traced_second", thread_count=2, poll_interval_millis=100)
def traced_second(n: int = 0) -> dict[str, object]:
    log.info("traced_second working")
    if get_task_context().get_retry_count() == 0:
        raise RuntimeError("the first attempt fails")
    return {"n": n}


@worker_task(task_definition_name="traced_async", thread_count=2, poll_interval_millis=100)
async def traced_async(n: int = 0) -> dict[str, object]:
    log.info("traced_async working")
    return {"n": n}
'''


def traced_project(tmp_path_factory: pytest.TempPathFactory, api_url: str, extras: bool) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("traces"), project_name="Traced Worker", task_definition_name="traced_total")
    for name in TASKS:
        baked.add_worker("traced_workers", WORKERS_MODULE, name)
        write_task_definition(baked, name, retryCount=1, retryDelaySeconds=0, inputKeys=["n"])
    write_workflow(baked, WORKFLOW, {name: from_workflow_input("n") for name in TASKS})
    baked.env = {
        "CONDUCTOR_SERVER_URL": api_url,
        "WORKER_LOG_FORMAT": "json",
        "WORKER_GROUPS": "traced_total,traced_first,traced_second;traced_async",
    }
    return baked.install(extras=extras)


@pytest.fixture(scope="module")
def receiver() -> Iterator[TraceReceiver]:
    with TraceReceiver() as started:
        yield started


@pytest.fixture(scope="module")
def traced(
    tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer, receiver: TraceReceiver
) -> tuple[str, list[ReceivedSpan], list[dict[str, Any]], dict[str, Any]]:
    """One workflow run by a worker sending traces; (its id, the spans received, the log lines, the workflow)."""
    project = traced_project(tmp_path_factory, conductor.api_url, extras=True)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with project.serving(env, "traced.log") as worker:
        workflow_id = conductor.start_workflow(WORKFLOW, {"n": 1})
        assert conductor.wait_for([workflow_id], timeout=60) == {workflow_id: "COMPLETED"}

        def four_spans() -> bool:
            return len([s for s in receiver.spans() if s.attributes.get("conductor.workflow.id") == workflow_id]) >= 4

        wait_until(four_spans, 30, "four spans of the workflow never arrived", lambda: str(receiver.spans()))
    spans = [span for span in receiver.spans() if span.attributes.get("conductor.workflow.id") == workflow_id]
    lines = [json.loads(line) for line in worker.log().splitlines()]
    return workflow_id, spans, lines, conductor.workflow(workflow_id)


def test_a_three_task_workflow_is_a_span_per_attempt_in_the_workflows_trace(
    traced: tuple[str, list[ReceivedSpan], list[dict[str, Any]], dict[str, Any]],
) -> None:
    workflow_id, spans, _, workflow = traced
    assert sorted(span.name for span in spans) == sorted((*TASKS, "traced_second"))
    trace_ids = {span.trace_id for span in spans}
    assert trace_ids == {format(uuid.UUID(workflow_id).int, "032x")}, "one trace: the workflow id's 128 bits"
    assert len({span.parent_span_id for span in spans}) == 1 and spans[0].parent_span_id != "0" * 16
    assert len({span.span_id for span in spans}) == 4
    by_id = {task["taskId"]: task for task in workflow["tasks"]}
    assert len(by_id) == 4, "the second task's failed attempt and its retry are two tasks on the server"
    for span in spans:
        task = by_id[span.attributes["conductor.task.id"]]
        failed = task["status"] == "FAILED"
        assert span.attributes == {
            "conductor.task.type": task["taskType"],
            "conductor.task.id": task["taskId"],
            "conductor.workflow.id": workflow_id,
            "conductor.task.attempt": task["retryCount"] + 1,
            "conductor.task.outcome": "failed" if failed else "completed",
        }, span
        assert span.status_code == (2 if failed else 0), span
        assert span.name == task["taskType"]
        assert span.service_name == "traced_worker"
    second = sorted(
        (span.attributes["conductor.task.attempt"], span.attributes["conductor.task.outcome"])
        for span in spans
        if span.name == "traced_second"
    )
    assert second == [(1, "failed"), (2, "completed")]


def test_json_log_lines_in_a_task_carry_its_span(
    traced: tuple[str, list[ReceivedSpan], list[dict[str, Any]], dict[str, Any]],
) -> None:
    _, spans, lines, _ = traced
    span_of = {span.attributes["conductor.task.id"]: span for span in spans}
    working = [line for line in lines if line["message"].endswith(" working")]
    assert len(working) == 4, lines
    for line in working:
        span = span_of[line["task_id"]]
        assert (line["trace_id"], line["span_id"]) == (span.trace_id, span.span_id), line
    assert not [line for line in lines if "trace_id" in line and "task_id" not in line]


def test_without_the_tracing_extra_the_endpoint_is_one_warning_and_the_worker_runs(
    tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer, receiver: TraceReceiver
) -> None:
    project = traced_project(tmp_path_factory, conductor.api_url, extras=False)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
    with project.serving(env, "untraced.log") as worker:
        workflow_id = conductor.start_workflow(WORKFLOW, {"n": 2})
        assert conductor.wait_for([workflow_id], timeout=60) == {workflow_id: "COMPLETED"}
    warnings = [json.loads(line) for line in worker.log().splitlines() if "OpenTelemetry is not installed" in line]
    assert [line["level"] for line in warnings] == ["WARNING"], worker.log()
    assert "--extra tracing" in warnings[0]["message"]
    assert not [span for span in receiver.spans() if span.attributes.get("conductor.workflow.id") == workflow_id]
