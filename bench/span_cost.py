"""CPU per task span, without a server: `<baked project>/.venv/bin/python bench/span_cost.py [N]`.

Runs the kit's span listener (runtime/tracing.py) as the SDK calls it, N times on one thread, with
OpenTelemetry's batch processor and the OTLP exporter's protobuf encoding (everything but the HTTP POST,
one per batch of up to 512 spans), and prints the CPU microseconds per span. The benchmark's "ours-traced"
client measures the same cost end to end, but on a loaded machine its tasks/s ratio is mostly noise; this
figure, against the worker's own CPU per no-op task (the report's "Where the CPU went"), says what to expect.
The last line printed is the same as JSON.
"""

import json
import sys
import time
import uuid
from collections.abc import Sequence
from types import SimpleNamespace

from conductor_worker_kit.runtime import sdk_adapter, tracing
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class Encoding(SpanExporter):
    """The OTLP/HTTP exporter up to its POST: the batch encoded to protobuf."""

    def __init__(self) -> None:
        self.encoded = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.encoded += len(spans)
        return SpanExportResult.SUCCESS


def main(count: int) -> None:
    provider = TracerProvider()
    exporter = Encoding()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=count + 1))  # none dropped
    listener = tracing.TaskSpans(provider.get_tracer("bench"), lambda: {"attempt": 1}, sdk_adapter.is_terminal_failure)
    events = [
        SimpleNamespace(task_type="bench_noop", task_id=str(uuid.uuid4()), workflow_instance_id=str(uuid.uuid4()))
        for _ in range(count)
    ]
    began = time.process_time()
    for event in events:
        listener.on_task_execution_started(event)
        listener.on_task_execution_completed(event)
        listener.on_result(event.task_id, "COMPLETED", None)  # the kit's task client, as it sends the result
    provider.force_flush()
    span_us = (time.process_time() - began) / count * 1e6
    if exporter.encoded != count:  # a span the listener never ended costs nothing here: the figure would lie
        raise SystemExit(f"{exporter.encoded} of {count} spans were encoded")
    print(f"{span_us:.0f} us of CPU per span ({count} spans)")
    print(json.dumps({"span_us": span_us}))  # for the benchmark's rounds


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
