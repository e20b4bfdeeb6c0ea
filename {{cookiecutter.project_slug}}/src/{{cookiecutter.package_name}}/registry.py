"""Which tasks this project serves: the functions listed in `workers.WORKERS`, as the SDK sees them.

The `@worker_task` decorator records each function in the SDK's registry when its module is imported;
only the ones listed in `WORKERS` are served, whatever else an import may have decorated.
"""

from typing import Any


def served_workers() -> list[Any]:
    """The SDK `Worker` objects for `WORKERS`, in list order; ValueError if one is not decorated."""
    from .sdk import workers_for
    from .workers import WORKERS

    return workers_for(WORKERS)


def served_task_names() -> list[str]:
    return [worker.get_task_definition_name() for worker in served_workers()]
