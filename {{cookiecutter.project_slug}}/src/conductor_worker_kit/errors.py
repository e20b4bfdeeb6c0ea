"""What every worker raises for input that can never succeed."""

from conductor.client.worker.exception import NonRetryableException


class InvalidInput(NonRetryableException):
    """Bad input can never succeed on retry: the task ends FAILED_WITH_TERMINAL_ERROR with this reason."""
