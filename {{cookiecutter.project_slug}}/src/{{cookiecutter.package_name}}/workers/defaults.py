"""The polling settings of every @worker_task here: the example's and those `new-worker` writes.

Change them here to change them for all; CONDUCTOR_WORKER_* variables override them at run time.
"""

THREAD_COUNT = 32  # tasks run at once per worker process (see the README's Sizing)
# The longest wait between empty polls while a task type is quiet. From 100 the server holds each poll
# (~50 ms to pick a task up); right after work the worker polls unheld every 10 ms for 2 s anyway
# (WORKER_BUSY_SECONDS). Below 100, polls are never held: more idle polls (see the README's Sizing).
POLL_INTERVAL_MILLIS = 100
