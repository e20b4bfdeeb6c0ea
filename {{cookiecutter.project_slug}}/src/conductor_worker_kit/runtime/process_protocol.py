# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""What the `worker` command (supervisor.py) and its worker processes (worker_process.py) say to each
other: exit statuses and the JSON lines a worker process reports. Both import this
module; neither imports the other's code.
"""

import json
from typing import IO, Any

# A worker process's exit status.
DRAINED, FAILED, BAD_CONFIG, ABANDONED = 0, 1, 2, 3
NO_SERVER = 4  # the first worker process's status when the server does not answer as Conductor or refuses the key


def report(pipe: IO[str], **message: object) -> None:
    """One report line: `plan=[[task, ...], ...]` (the first process's plan) or `serving=[task, ...]`."""
    pipe.write(json.dumps(message) + "\n")
    pipe.flush()


def read_report(line: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(line)
    return message
