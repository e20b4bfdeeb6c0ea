# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Which workers run in which worker process: one process serves every worker by default.

WORKER_GROUPS splits the workers into groups (the workers it does not name form one more group);
WORKER_PROCESSES runs that many identical processes per group.
"""

from collections.abc import Sequence

from ..config import ConfigError, ProcessLayout


def plan_processes(task_names: Sequence[str], layout: ProcessLayout) -> list[list[str]]:
    """The task names each worker process serves; raises ConfigError naming the setting at fault."""
    known = set(task_names)
    for group in layout.groups:
        for name in group:
            if name not in known:
                raise ConfigError(
                    f"WORKER_GROUPS names {name!r}, which no worker serves (workers: {', '.join(sorted(known))})"
                )
    grouped = {name for group in layout.groups for name in group}
    groups = [list(group) for group in layout.groups]
    rest = [name for name in task_names if name not in grouped]
    if rest:
        groups.insert(0, rest)
    return [list(group) for group in groups for _ in range(layout.processes)]
