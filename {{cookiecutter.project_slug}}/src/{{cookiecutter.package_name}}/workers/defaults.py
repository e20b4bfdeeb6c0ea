"""The polling settings every @worker_task here starts from; CONDUCTOR_WORKER_* variables override them.

`new-worker` writes them into each new worker; change them here to change them for all.
"""

THREAD_COUNT = 16  # tasks run at once per worker process (see the README's Sizing)
POLL_INTERVAL_MILLIS = 100  # the longest wait between empty polls
