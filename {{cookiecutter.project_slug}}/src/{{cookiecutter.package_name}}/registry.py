"""Which tasks this project serves: the functions listed in `workers.WORKERS`, as the SDK sees them.

The `@worker_task` decorator records each function in the SDK's registry when its module is imported;
only the ones listed in `WORKERS` are served, whatever else an import may have decorated.
"""

from typing import Any


def served_workers() -> list[Any]:
    """The SDK `Worker` objects for `WORKERS`, in list order; ValueError if one is not decorated."""
    from conductor.client.automator.task_handler import get_registered_workers

    from .workers import WORKERS

    by_function = {worker.execute_function: worker for worker in get_registered_workers()}
    served = []
    for function in WORKERS:
        # The decorator returns a wrapper; the SDK's registry holds the function it wraps.
        worker = by_function.get(getattr(function, "__wrapped__", function))
        if worker is None:
            raise ValueError(f"{function.__module__}.{function.__name__} in WORKERS is not a @worker_task")
        served.append(worker)
    return served


def served_task_names() -> list[str]:
    return [worker.get_task_definition_name() for worker in served_workers()]
