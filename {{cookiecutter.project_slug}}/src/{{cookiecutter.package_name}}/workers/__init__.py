"""The workers this project serves: business logic only, one module per worker, named after its task.

`WORKERS` is the one list of them: the `worker` command serves exactly these, `doctor` and the tests
check them against the definitions. A worker module that is not listed here is never served.

Rules the SDK imposes (conductor-python 2.0): a worker is a module-level function decorated with
`@worker_task`, and its module must not use ``from __future__ import annotations`` (the SDK maps
inputs by evaluated type hints).

A worker is stateless and idempotent: the server may deliver the same task again after a timeout,
so the same input must give the same result and any side effect must be safe to repeat.
Retries and timeouts belong to the task definition on the server, not to this code.
"""

from .{{ cookiecutter.task_definition_name }} import {{ cookiecutter.task_definition_name }}

WORKERS = [
    {{ cookiecutter.task_definition_name }},
]
