# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""`capture TASK_ID`: a finished task on the server becomes a test case of the worker that ran it.

It fetches the task (`GET /tasks/{taskId}`), replaces the values of `--redact` keys with "[redacted]",
and writes `tests/workers/cases/<task type>/<short id>.json` (`conductor_worker_kit.replay` reads and
replays it). Every check runs before anything is written: a refused capture leaves the tree as it was.
"""

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..project import Project
from ..replay import CASES_FOLDER, OUTCOMES, case_document, has_key, task_type_of
from .new_worker import Refused

Fetch = Callable[[str], dict[str, Any] | None]  # task id -> the server's record of it, or None

DEFAULT_MAX_BYTES = 256 * 1024  # a case is read in code review and kept in git: the size of a big fixture
TASK_ID_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
SHORT_ID_LENGTH = 8
UNFINISHED = {"SCHEDULED", "IN_PROGRESS"}


def case_path(checkout: Path, task_type: str, task_id: str) -> Path:
    return checkout / CASES_FOLDER / task_type / f"{task_id[:SHORT_ID_LENGTH]}.json"


def capture(
    project: Project,
    fetch: Fetch,
    task_id: str,
    served: Sequence[str],
    redacted: Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    force: bool = False,
) -> list[str]:
    """Write the case file of task `task_id` (served: the task names the project's workers serve); the
    lines to print. Refused, with one line, and nothing written, when it cannot be a case."""
    if not TASK_ID_RULE.match(task_id):
        raise Refused(f"{task_id!r} is not a task id (letters, digits, '-' and '_')")
    if project.checkout_dir is None:
        raise Refused(f"no checkout of {project.package} to write the case into")
    task = fetch(task_id)
    if task is None:
        raise Refused(f"the server has no task {task_id}")
    task_type, status = task_type_of(task), str(task.get("status"))
    if status in UNFINISHED:
        raise Refused(f"task {task_id} is {status}: capture it once it has finished")
    if status not in OUTCOMES:
        raise Refused(f"task {task_id} ended {status}, not with a worker's result: only {', '.join(OUTCOMES)}")
    if task_type not in served:
        raise Refused(f"task {task_id} is a {task_type or 'typeless'} task; no worker in WORKERS serves it")
    for side in ("Input", "Output"):
        if task.get(f"external{side}PayloadStoragePath"):
            raise Refused(f"task {task_id}'s {side.lower()} is in external payload storage, not on the task")
    text = json.dumps(case_document(task, redacted), indent=2, ensure_ascii=False) + "\n"
    size = len(text.encode())
    if size > max_bytes:
        raise Refused(
            f"task {task_id}'s case would be {size} bytes, over the limit of {max_bytes}: "
            "leave large values out with --redact KEY, or raise --max-bytes"
        )
    path = case_path(project.checkout_dir, task_type, task_id)
    shown = path.relative_to(project.checkout_dir)
    if path.exists() and not force:
        raise Refused(f"{shown} exists; --force replaces it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    lines = [f"wrote {shown} ({status}); `make test` replays it through {task_type}"]
    for key in redacted:
        if not (has_key(task.get("inputData"), key) or has_key(task.get("outputData"), key)):
            lines.append(f"note: no key {key!r} in the task's input or output; nothing redacted for it")
    return lines
