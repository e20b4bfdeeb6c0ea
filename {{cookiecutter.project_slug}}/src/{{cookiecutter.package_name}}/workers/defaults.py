"""The polling settings of every @worker_task here: the example's and those `new-worker` writes.

Change them here to change them for all; CONDUCTOR_WORKER_* variables override them at run time.
"""

THREAD_COUNT = 16  # tasks run at once per worker process (see the README's Sizing)
POLL_INTERVAL_MILLIS = 100  # the longest wait between empty polls
