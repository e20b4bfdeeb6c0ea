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
- `InvalidInput`: raise it for input that can never succeed: the task fails terminally with the reason.
"""

from typing import TYPE_CHECKING, Any

from .commands.cli import main

if TYPE_CHECKING:
    from .errors import InvalidInput
    from .task_io import parse_input, typed_io

__version__ = "1.0.0"
__all__ = ["InvalidInput", "__version__", "main", "parse_input", "typed_io"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: both import conductor-python, which the `worker` command itself never loads.
    if name == "InvalidInput":
        from .errors import InvalidInput

        return InvalidInput
    if name in ("typed_io", "parse_input"):
        from . import task_io

        return getattr(task_io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
