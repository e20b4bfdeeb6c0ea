# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""OpenTelemetry traces: one span per task execution, sent over OTLP/HTTP. On when OTEL_EXPORTER_OTLP_ENDPOINT
is set and the `tracing` extra is installed (set but not installed: one WARNING from the `worker` command,
which then runs without traces, so a platform that sets the variable for every service starts it anyway).

- Every task of one workflow lands in one trace, whichever process or machine runs it: the trace id is the
  workflow id's 128 bits (a UUID; another id: the first 128 bits of its SHA-256). Each span's parent is the
  workflow's own span id (the last 64 of those bits), which no process sends: a tracing UI shows the task
  spans side by side under one missing root.
- A span, named after the task type, starts when the SDK hands the task to the worker function and ends when
  it returns or raises (the SDK's task execution events). Attributes: `conductor.task.type`,
  `conductor.task.id`, `conductor.workflow.id`, `conductor.task.attempt` (retryCount + 1, as in the JSON
  logs) and `conductor.task.outcome`: `completed` (it returned, `in_progress()` included), `failed` (it
  raised: retried per the definition) or `failed_terminal` (NonRetryableException). The outcome comes from
  the result the runner sends (`on_result`, called by the kit's task client): the SDK's sync runner catches
  a worker's exception itself and tells its listeners the execution completed. A span whose result was
  never sent (the process stopped first) ends at `flush()` as `unreported`.
- The span is the current one while the function runs: spans the worker's own code makes are its children,
  and JSON log lines carry its trace_id and span_id.
- `service.name` is OTEL_SERVICE_NAME, else the package's name; every other OTEL_EXPORTER_OTLP_* setting
  (headers, timeout) is the exporter's own. Spans go out in batches from a thread of each worker process;
  a draining process sends what is left, waiting at most FLUSH_SECONDS.

Only worker processes load OpenTelemetry: the `worker` command checks that it is installed without importing it.
"""

import os
import time
from collections.abc import Mapping
from typing import Any

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
DISTRIBUTIONS = ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http")  # the `tracing` extra
FLUSH_SECONDS = 5.0

_provider: Any = None  # this worker process's TracerProvider, once started
_spans: "TaskSpans | None" = None


def wanted(env: Mapping[str, str]) -> bool:
    return bool(env.get(ENDPOINT, "").strip())


def installed() -> bool:
    """From the installed packages' metadata: nothing of OpenTelemetry is imported."""
    # Imported here, as hashlib and uuid below: the `worker` command's own process imports this module
    # for `unavailable` only, and what it loads is counted again in every worker process it forks.
    import importlib.metadata

    try:
        for name in DISTRIBUTIONS:
            importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def unavailable(env: Mapping[str, str]) -> str | None:
    """Why traces asked for cannot be sent, in one line; None when they can, or are not asked for."""
    if wanted(env) and not installed():
        return (
            f"{ENDPOINT} is set but OpenTelemetry is not installed: no traces. Install the `tracing` extra "
            "(`uv sync --extra tracing`; the image: `docker build --build-arg EXTRAS=tracing .`)"
        )
    return None


def workflow_ids(workflow_id: str) -> tuple[int, int]:
    """(trace id, parent span id) of a workflow's tasks: the same in every process for the same workflow."""
    import hashlib
    import uuid

    try:
        bits = uuid.UUID(workflow_id).int
    except ValueError:
        bits = int.from_bytes(hashlib.sha256(workflow_id.encode()).digest()[:16], "big")
    return bits or 1, (bits & (2**64 - 1)) or 1  # zero is the invalid id


class TaskSpans:
    """SDK event listener: a span around each task execution (see the module's docstring)."""

    def __init__(self, tracer: Any, task_fields: Any, is_terminal: Any) -> None:
        self.tracer = tracer
        self.task_fields = task_fields
        self.is_terminal = is_terminal
        self.running: dict[str, tuple[Any, object]] = {}  # task id: (span, context token)
        self.returned: dict[str, tuple[Any, int]] = {}  # task id: (span, end time in ns), until its result is sent

    def on_task_execution_started(self, event: Any) -> None:
        from opentelemetry import context, trace

        fields = self.task_fields() or {}
        trace_id, parent_id = workflow_ids(event.workflow_instance_id or "")
        sampled = trace.TraceFlags(trace.TraceFlags.SAMPLED)
        parent = trace.NonRecordingSpan(trace.SpanContext(trace_id, parent_id, is_remote=True, trace_flags=sampled))
        span = self.tracer.start_span(
            event.task_type,
            context=trace.set_span_in_context(parent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "conductor.task.type": event.task_type,
                "conductor.task.id": event.task_id,
                "conductor.workflow.id": event.workflow_instance_id or "",
                "conductor.task.attempt": fields.get("attempt", 1),
            },
        )
        self.running[event.task_id] = (span, context.attach(trace.set_span_in_context(span)))

    def on_task_execution_completed(self, event: Any) -> None:
        # "Completed" also when a sync worker raised: the outcome waits for the result (on_result).
        span = self._leave(event.task_id)
        if span is not None:
            self.returned[event.task_id] = (span, time.time_ns())

    def on_task_execution_failure(self, event: Any) -> None:
        from opentelemetry import trace

        span = self._leave(event.task_id)
        if span is None:
            return
        span.set_attribute("conductor.task.outcome", "failed_terminal" if self.is_terminal(event.cause) else "failed")
        span.record_exception(event.cause)
        span.set_status(trace.Status(trace.StatusCode.ERROR, str(event.cause)))
        span.end()

    def on_result(self, task_id: str, status: str, reason: str | None) -> None:
        """The runner is sending this task's result (status as the server spells it): its span ends."""
        from opentelemetry import trace

        span, end_time = self.returned.pop(task_id, (None, None))
        if span is None:  # ended by a failure event, or a lease heartbeat
            return
        outcome = {"FAILED": "failed", "FAILED_WITH_TERMINAL_ERROR": "failed_terminal"}.get(status, "completed")
        span.set_attribute("conductor.task.outcome", outcome)
        if outcome != "completed":
            span.set_status(trace.Status(trace.StatusCode.ERROR, reason or status))
        span.end(end_time=end_time)

    def end_unreported(self) -> None:
        for span, end_time in self.returned.values():
            span.set_attribute("conductor.task.outcome", "unreported")
            span.end(end_time=end_time)
        self.returned.clear()

    def _leave(self, task_id: str) -> Any:
        """The task's span, no longer the current one; None if it has none."""
        from opentelemetry import context, trace

        span, token = self.running.pop(task_id, (None, None))
        if span is not None and trace.get_current_span() is span:  # the thread or asyncio task that started it
            context.detach(token)  # type: ignore[arg-type]
        return span


def current_ids() -> dict[str, str] | None:
    """The current span's trace_id and span_id, for JSON log lines."""
    from opentelemetry import trace

    found = trace.get_current_span().get_span_context()
    if not found.is_valid:
        return None
    return {"trace_id": format(found.trace_id, "032x"), "span_id": format(found.span_id, "016x")}


def start(service_name: str) -> None:
    """In a worker process: traces on, if asked for and installed (the `worker` command warned otherwise)."""
    global _provider, _spans
    if not wanted(os.environ) or not installed():
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from . import sdk_adapter as sdk
    from .log_format import use_trace_fields

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "").strip() or service_name})
    # Not at exit: a worker process ends with os._exit; flush() sends what is left, within a bound.
    _provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)  # the worker's own spans go the same way
    _spans = TaskSpans(_provider.get_tracer("conductor_worker_kit"), sdk.task_fields, sdk.is_terminal_failure)
    use_trace_fields(current_ids)


def listeners() -> list[Any]:
    """The SDK event listeners tracing adds to the runners: none while it is off."""
    return [_spans] if _spans is not None else []


def flush() -> None:
    """Send the spans not sent yet, waiting at most FLUSH_SECONDS."""
    if _spans is not None:
        _spans.end_unreported()
    if _provider is not None:
        _provider.force_flush(timeout_millis=int(FLUSH_SECONDS * 1000))
