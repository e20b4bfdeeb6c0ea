"""Traces, without a server or a network: the ids every process derives from a workflow id, the span the
listener makes around each task execution (kept by OpenTelemetry's in-memory exporter), the one line for an
endpoint without the packages, and the span's ids on log lines."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from conductor.client.worker.exception import NonRetryableException
from conductor_worker_kit.runtime import sdk_adapter as sdk
from conductor_worker_kit.runtime import tracing
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

WORKFLOW = "6cc8a617-2165-41c8-9a57-3200d8975afd"


@pytest.fixture
def spans() -> tuple[tracing.TaskSpans, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    fields = {"attempt": 3}
    return tracing.TaskSpans(provider.get_tracer("test"), lambda: fields, sdk.is_terminal_failure), exporter


def event(task_id: str, **more: Any) -> SimpleNamespace:
    return SimpleNamespace(task_type="send_email", task_id=task_id, workflow_instance_id=WORKFLOW, **more)


def test_every_task_of_a_workflow_gets_its_trace_id_the_workflow_uuid() -> None:
    trace_id, parent_id = tracing.workflow_ids(WORKFLOW)
    assert trace_id == uuid.UUID(WORKFLOW).int
    assert parent_id == uuid.UUID(WORKFLOW).int & (2**64 - 1)
    other = tracing.workflow_ids("not-a-uuid")
    assert other == tracing.workflow_ids("not-a-uuid") and 0 not in other and other[0] != trace_id


def test_a_span_per_execution_with_the_task_and_its_outcome(
    spans: tuple[tracing.TaskSpans, InMemorySpanExporter],
) -> None:
    """The async runner tells its listeners a worker raised; each span ends as the task did."""
    listener, exporter = spans
    outcomes = {"t1": None, "t2": RuntimeError("boom"), "t3": NonRetryableException("no")}
    for task_id, error in outcomes.items():
        listener.on_task_execution_started(event(task_id))
        assert trace.get_current_span().get_span_context().trace_id == uuid.UUID(WORKFLOW).int  # while it runs
        assert tracing.current_ids() == {
            "trace_id": format(uuid.UUID(WORKFLOW).int, "032x"),
            "span_id": format(trace.get_current_span().get_span_context().span_id, "016x"),
        }
        if error is None:
            listener.on_task_execution_completed(event(task_id))
            assert not exporter.get_finished_spans(), "a returned task's span ends with its result"
            listener.on_result(task_id, "COMPLETED", None)
        else:
            listener.on_task_execution_failure(event(task_id, cause=error))
        assert tracing.current_ids() is None  # after it
    finished = {span.attributes["conductor.task.id"]: span for span in exporter.get_finished_spans()}
    assert {task_id: span.attributes["conductor.task.outcome"] for task_id, span in finished.items()} == {
        "t1": "completed",
        "t2": "failed",
        "t3": "failed_terminal",
    }
    first = finished["t1"]
    assert first.name == "send_email"
    assert first.attributes["conductor.task.attempt"] == 3
    assert first.attributes["conductor.workflow.id"] == WORKFLOW
    assert first.parent is not None and first.parent.span_id == tracing.workflow_ids(WORKFLOW)[1]
    assert finished["t2"].status.status_code == trace.StatusCode.ERROR
    assert listener.running == {} and listener.returned == {}


def test_a_sync_workers_failure_is_told_by_the_result_it_sends(
    spans: tuple[tracing.TaskSpans, InMemorySpanExporter],
) -> None:
    """The SDK's sync runner catches the worker's exception and tells its listeners the execution completed."""
    listener, exporter = spans
    statuses = {"t1": "FAILED", "t2": "FAILED_WITH_TERMINAL_ERROR", "t3": "IN_PROGRESS", "t4": None}
    for task_id, status in statuses.items():
        listener.on_task_execution_started(event(task_id))
        listener.on_task_execution_completed(event(task_id))
        assert tracing.current_ids() is None
        if status is not None:
            listener.on_result(task_id, status, "the reason" if status.startswith("FAILED") else None)
    listener.on_result("t1", "COMPLETED", None)  # a second report of it (v2, then v1 while draining) changes nothing
    assert len(exporter.get_finished_spans()) == 3
    listener.end_unreported()  # the process stopped before t4's result was sent
    finished = {span.attributes["conductor.task.id"]: span for span in exporter.get_finished_spans()}
    assert {task_id: span.attributes["conductor.task.outcome"] for task_id, span in finished.items()} == {
        "t1": "failed",
        "t2": "failed_terminal",
        "t3": "completed",
        "t4": "unreported",
    }
    assert finished["t1"].status.status_code == trace.StatusCode.ERROR
    assert finished["t1"].status.description == "the reason"
    assert finished["t3"].status.status_code == trace.StatusCode.UNSET
    assert listener.returned == {}


def test_the_kits_task_client_shows_each_result_to_the_listeners_that_want_it() -> None:
    seen: list[tuple[str, str, str | None]] = []
    wants = SimpleNamespace(on_result=lambda *result: seen.append(result))

    def body(task_id: str, extend_lease: bool) -> SimpleNamespace:
        failed = SimpleNamespace(value="FAILED")
        return SimpleNamespace(task_id=task_id, status=failed, reason_for_incompletion="why", extend_lease=extend_lease)

    sdk._sending(sdk._result_listeners([object(), wants]), body("t1", extend_lease=False))
    sdk._sending(sdk._result_listeners([wants]), body("t2", extend_lease=True))
    assert seen == [("t1", "FAILED", "why")], "a lease heartbeat (t2) is not a result"


def test_an_endpoint_without_the_packages_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracing.unavailable({}) is None
    assert tracing.unavailable({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) is None  # installed here
    monkeypatch.setattr(tracing, "DISTRIBUTIONS", ("opentelemetry-not-a-package",))
    line = tracing.unavailable({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert line is not None and "\n" not in line and "--extra tracing" in line
