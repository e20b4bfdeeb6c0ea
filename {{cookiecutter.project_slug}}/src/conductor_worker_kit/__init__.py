# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""conductor_worker_kit: the runtime and commands of a Conductor worker project.

Part of the project template, the same in every project: updated with the template (`cruft update`),
never edited in place. A project uses only the names below.

- `main(package)`: the command line (`worker`, `register`, `run-workflow`, `doctor`, `health`,
  `new-worker`, `schemas`) for the package whose `workers.WORKERS` and `definitions/` it serves.
- `typed_io(input=..., output=...)`: names a worker's input and result dataclasses; parses and checks
  the input at the boundary and gives the task definition its JSON Schema.
- `parse_input(InputType, **raw)`: the input dataclass from the task's raw JSON input, or InvalidInput
  naming the field (what `@typed_io` workers call first).
- `in_progress(callback_after_seconds, output)`: return it from a worker for "not done yet, ask me
  again in N s" (long-running tasks; see long_tasks.py).
- `InvalidInput`: raise it for input that can never succeed: the task fails terminally with the reason.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .commands.cli import main

if TYPE_CHECKING:
    from .errors import InvalidInput
    from .long_tasks import in_progress
    from .task_io import parse_input, typed_io

__version__ = "1.5.0"
__all__ = ["InvalidInput", "__version__", "in_progress", "main", "parse_input", "typed_io"]


# Loaded on first use: they import conductor-python, which the `worker` command itself never loads.
_LOADED_ON_USE = {
    "InvalidInput": ".errors",
    "in_progress": ".long_tasks",
    "parse_input": ".task_io",
    "typed_io": ".task_io",
}


def __getattr__(name: str) -> Any:
    if name in _LOADED_ON_USE:
        return getattr(importlib.import_module(_LOADED_ON_USE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
