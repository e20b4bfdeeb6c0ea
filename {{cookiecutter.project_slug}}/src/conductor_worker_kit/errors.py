# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""What every worker raises for input that can never succeed."""

from conductor.client.worker.exception import NonRetryableException


class InvalidInput(NonRetryableException):
    """Bad input can never succeed on retry: the task ends FAILED_WITH_TERMINAL_ERROR with this reason."""
