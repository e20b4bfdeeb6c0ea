"""The example worker's tests, to replace with your worker's: arithmetic, idempotency, and bad input
failing terminally through the SDK."""

import copy
from typing import Any

import pytest
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.worker.worker import Worker
from conductor_worker_kit import InvalidInput

from {{ cookiecutter.package_name }}.workers.{{ cookiecutter.task_definition_name }} import {{ cookiecutter.task_definition_name }}

TASK_NAME = "{{ cookiecutter.task_definition_name }}"
# This task's own input: the workflow's input may grow keys for other tasks.
EXAMPLE: dict[str, Any] = {
    "order_id": "ORD-1001",
    "currency": "EUR",
    "tax_rate": "0.20",
    "items": [
        {"sku": "BOOK-42", "quantity": 2, "unit_price": "12.50"},
        {"sku": "PEN-7", "quantity": 3, "unit_price": "1.99"},
    ],
}


def run_through_sdk(input_data: dict[str, Any]) -> Any:
    """Execute the worker the way a worker process does, without a server."""
    worker = Worker(TASK_NAME, {{ cookiecutter.task_definition_name }})
    return worker.execute(Task(task_id="t-1", workflow_instance_id="wf-1", input_data=input_data))


def test_example_input_totals() -> None:
    total = {{ cookiecutter.task_definition_name }}(**EXAMPLE)
    assert (total.subtotal, total.tax, total.total) == ("30.97", "6.19", "37.16")
    assert (total.order_id, total.currency, total.item_count) == ("ORD-1001", "EUR", 5)


def test_a_task_delivered_again_gives_the_same_result() -> None:
    """The server may deliver a task again: the same task twice, or a retry of a timed-out one (a new
    task with the same input). Every delivery must report the same output and leave the input as it was."""
    request = EXAMPLE
    task = Task(task_id="t-1", workflow_instance_id="wf-1", input_data=copy.deepcopy(request))
    retry = Task(task_id="t-2", workflow_instance_id="wf-1", input_data=copy.deepcopy(request), retry_count=1)
    worker = Worker(TASK_NAME, {{ cookiecutter.task_definition_name }})
    results = [worker.execute(task), worker.execute(task), worker.execute(retry)]
    assert [result.status for result in results] == [TaskResultStatus.COMPLETED] * 3
    assert results[0].output_data == results[1].output_data == results[2].output_data
    assert results[0].output_data["total"] == "37.16"
    assert task.input_data == retry.input_data == request


def test_rounds_half_up_to_cents() -> None:
    total = {{ cookiecutter.task_definition_name }}(order_id="o", items=[{"sku": "a", "quantity": 1, "unit_price": "0.125"}], tax_rate=0)
    assert total.subtotal == "0.13"


def test_sdk_reports_completed_with_flat_output() -> None:
    result = run_through_sdk(EXAMPLE)
    assert result.status == TaskResultStatus.COMPLETED
    assert result.output_data["total"] == "37.16"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"order_id": ""}, "order_id must be a non-empty string"),
        ({"items": []}, "items must be a non-empty list"),
        ({"items": "BOOK-42"}, "items must be a non-empty list"),
        ({"items": [{"sku": "a", "quantity": 0, "unit_price": 1}]}, "items[0].quantity must be an integer >= 1"),
        ({"items": [{"sku": "a", "quantity": True, "unit_price": 1}]}, "items[0].quantity must be an integer >= 1"),
        ({"items": [{"sku": "a", "quantity": 1, "unit_price": "abc"}]}, "items[0].unit_price must be a number"),
        (
            {"items": [{"sku": "a", "quantity": 1, "unit_price": "-1"}]},
            "items[0].unit_price must be a finite number >= 0",
        ),
        (
            {"items": [{"sku": "a", "quantity": 1, "unit_price": "NaN"}]},
            "items[0].unit_price must be a finite number >= 0",
        ),
        ({"items": [{"quantity": 1, "unit_price": 1}]}, "items[0].sku must be a non-empty string"),
        ({"items": [7]}, "items[0] must be an object"),
        ({"currency": "EURO"}, "currency must be a three-letter code such as USD"),
        ({"tax_rate": "1.5"}, "tax_rate must be a fraction between 0 and 1"),
    ],
)
def test_bad_input_fails_terminally_with_reason(change: dict[str, Any], reason: str) -> None:
    bad = {**EXAMPLE, **change}
    with pytest.raises(InvalidInput, match=reason.replace("[", r"\[").replace("]", r"\]")):
        {{ cookiecutter.task_definition_name }}(**bad)
    result = run_through_sdk(bad)
    assert result.status == TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == reason


def test_null_optional_inputs_take_their_defaults() -> None:
    items = [{"sku": "a", "quantity": 1, "unit_price": 2}]
    total = {{ cookiecutter.task_definition_name }}(order_id="o", items=items, currency=None, tax_rate=None)
    assert (total.currency, total.tax, total.total) == ("USD", "0.00", "2.00")


def test_missing_input_fails_terminally() -> None:
    result = run_through_sdk({})
    assert result.status == TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == "order_id must be a non-empty string"
