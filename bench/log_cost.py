"""CPU per log line, text against JSON, without a server: `<baked project>/.venv/bin/python bench/log_cost.py [N]`.

Logs N lines on one thread through the handler the `worker` command installs for each format
(config.py's text format, and runtime/log_format.py's JSON handler with a running task's fields, as a
line the worker's code logs while a task runs), into a discarded stream, and prints the CPU
microseconds per line of each. The kit itself logs nothing per task, so JSON logs cost a worker only what
its own code logs; the benchmark's "ours-json" client (whose worker logs nothing per task) measures
mostly the machine's noise. Against the worker's CPU per no-op task (2-2.5 ms, "Where the CPU went"),
these figures say what one line per task adds in either format. The last line printed is the same as JSON.
"""

import io
import json
import logging
import sys
import time
import uuid
from typing import Any

from conductor_worker_kit.runtime import log_format

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"  # as config.py sets it


def _per_line(handler: logging.Handler, count: int) -> float:
    logger = logging.getLogger(f"bench.log_cost.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    began = time.process_time()
    for index in range(count):
        logger.info("charged order %s for %d items", index, 3)
    return (time.process_time() - began) / count * 1e6


def main(count: int) -> None:
    task = {"task_type": "bench_noop", "task_id": str(uuid.uuid4()), "workflow_id": str(uuid.uuid4())}

    def running_task() -> dict[str, Any]:  # what sdk_adapter.task_fields returns inside a task
        return {**task, "attempt": 1}

    text = logging.StreamHandler(io.StringIO())
    text.setFormatter(logging.Formatter(TEXT_FORMAT))
    json_lines = log_format.json_handler()
    json_lines.setStream(io.StringIO())  # type: ignore[attr-defined]  # a StreamHandler
    log_format.use_task_fields(running_task)
    text_us, json_us = _per_line(text, count), _per_line(json_lines, count)
    print(f"text: {text_us:.0f} us of CPU per line; json with the task's fields: {json_us:.0f} us ({count} lines each)")
    print(json.dumps({"text_line_us": text_us, "json_line_us": json_us}))  # for the benchmark's rounds


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50000)
