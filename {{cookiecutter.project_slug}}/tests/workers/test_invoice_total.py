"""The example worker: arithmetic, idempotency, and bad input failing terminally through the SDK."""

import inspect
from typing import Any

import pytest
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.worker.worker import Worker

from {{ cookiecutter.package_name }}.definitions import example_input
from {{ cookiecutter.package_name }}.workers.errors import InvalidInput
from {{ cookiecutter.package_name }}.workers.invoice_total import compute_invoice_total

TASK_NAME = "{{ cookiecutter.task_definition_name }}"
WORKFLOW = "{{ cookiecutter.workflow_name }}"


def example_order() -> dict[str, Any]:
    """The workflow's example input, as far as this worker takes it (other tasks may take more)."""
    parameters = inspect.signature(compute_invoice_total).parameters
    return {key: value for key, value in example_input(WORKFLOW).items() if key in parameters}


def run_through_sdk(input_data: dict[str, Any]) -> Any:
    """Execute the worker the way a worker process does, without a server."""
    worker = Worker(TASK_NAME, compute_invoice_total)
    return worker.execute(Task(task_id="t-1", workflow_instance_id="wf-1", input_data=input_data))


def test_example_input_totals() -> None:
    total = compute_invoice_total(**example_order())
    assert (total.subtotal, total.tax, total.total) == ("30.97", "6.19", "37.16")
    assert (total.order_id, total.currency, total.item_count) == ("ORD-1001", "EUR", 5)


def test_same_input_same_output() -> None:
    request = example_order()
    assert compute_invoice_total(**request) == compute_invoice_total(**request)


def test_rounds_half_up_to_cents() -> None:
    total = compute_invoice_total(order_id="o", items=[{"sku": "a", "quantity": 1, "unit_price": "0.125"}], tax_rate=0)
    assert total.subtotal == "0.13"


def test_sdk_reports_completed_with_flat_output() -> None:
    result = run_through_sdk(example_order())
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
    bad = {**example_order(), **change}
    with pytest.raises(InvalidInput, match=reason.replace("[", r"\[").replace("]", r"\]")):
        compute_invoice_total(**bad)
    result = run_through_sdk(bad)
    assert result.status == TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == reason


def test_null_optional_inputs_take_their_defaults() -> None:
    items = [{"sku": "a", "quantity": 1, "unit_price": 2}]
    total = compute_invoice_total(order_id="o", items=items, currency=None, tax_rate=None)
    assert (total.currency, total.tax, total.total) == ("USD", "0.00", "2.00")


def test_missing_input_fails_terminally() -> None:
    result = run_through_sdk({})
    assert result.status == TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == "order_id must be a non-empty string"
