"""WORKER_LOG_FORMAT=json: each record is one line of JSON with time, level, logger, message and pid, plus the
fields the worker process hands the formatter (the running task's, the current span's) when there are any."""

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest
from conductor_worker_kit.runtime import log_format


@pytest.fixture(autouse=True)
def no_fields_after() -> Iterator[None]:
    yield
    log_format._task_fields = log_format._trace_fields = None


def formatted(message: str, *args: object, exc_info: bool = False) -> dict[str, object]:
    record = logging.LogRecord("some.logger", logging.WARNING, __file__, 1, message, args, None)
    if exc_info:
        try:
            raise ValueError("boom")
        except ValueError:
            record.exc_info = sys.exc_info()
    line = log_format.JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert isinstance(parsed, dict)
    return parsed


def test_a_line_has_time_level_logger_message_and_pid() -> None:
    line = formatted("hello %s", "world")
    assert line.keys() == {"time", "level", "logger", "message", "pid"}
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "some.logger", "hello world")
    assert datetime.fromisoformat(str(line["time"])).utcoffset() is not None


def test_a_traceback_stays_on_the_line() -> None:
    line = formatted("failed", exc_info=True)
    assert "ValueError: boom" in str(line["exception"])


def test_the_task_and_span_fields_join_the_line_only_when_there_are_some() -> None:
    task: dict[str, object] | None = None
    log_format.use_task_fields(lambda: task)
    log_format.use_trace_fields(lambda: {"trace_id": "ab" * 16, "span_id": "cd" * 8} if task else None)
    assert "task_id" not in formatted("outside a task")
    task = {"task_type": "t", "task_id": "id-1", "workflow_id": "wf-1", "attempt": 2}
    line = formatted("inside a task")
    assert {key: line[key] for key in (*task, "trace_id", "span_id")} == {
        **task,
        "trace_id": "ab" * 16,
        "span_id": "cd" * 8,
    }


def test_the_worker_command_logs_json_when_asked() -> None:
    """configure_logging() as the commands call it: log records and Python warnings, one object each."""
    probe = (
        "import logging, os\n"
        "os.environ['WORKER_LOG_FORMAT'] = 'JSON'\n"
        "from conductor_worker_kit.config import configure_logging\n"
        "configure_logging()\n"
        "logging.getLogger('probe').info('one %s', 'line')\n"
        "import warnings; warnings.warn('a warning too')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert (lines[0]["logger"], lines[0]["message"]) == ("probe", "one line")
    assert "a warning too" in lines[1]["message"]
