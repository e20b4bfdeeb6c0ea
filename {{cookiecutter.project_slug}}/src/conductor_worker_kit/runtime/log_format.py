# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""WORKER_LOG_FORMAT=json: one JSON object per log line, for log pipelines that parse fields.

Every line has time (UTC, ISO 8601), level, logger, message and pid; a line logged while a task runs,
by the worker's own code or by the SDK and the kit, also has task_type, task_id, workflow_id and attempt
(1 for the first execution, retryCount + 1 after a retry) and, with traces on, trace_id and span_id.
An exception's traceback is one string field, `exception`, so a line stays one line.

The `worker` command sets the handler up before it forks, so every worker process inherits it. This
module loads no SDK (the command stays small): a worker process hands it `task_fields` once the SDK is
loaded, and the tracing its `trace_fields`.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Fields = Callable[[], dict[str, Any] | None]
_task_fields: Fields | None = None
_trace_fields: Fields | None = None


def use_task_fields(fields: Fields) -> None:
    """Where lines find the running task's fields (None outside a task): set by each worker process."""
    global _task_fields
    _task_fields = fields


def use_trace_fields(fields: Fields) -> None:
    """Where lines find the current span's ids: set by a worker process whose traces are on."""
    global _trace_fields
    _trace_fields = fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for fields in (_task_fields, _trace_fields):
            found = fields() if fields is not None else None
            if found:
                line.update(found)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler()  # stderr, as the text format's
    handler.setFormatter(JsonFormatter())
    return handler
