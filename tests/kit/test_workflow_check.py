"""The workflow check's pure parts, on answers of the workflow test endpoint (`POST /api/workflow/test`,
Conductor OSS 3.32.3) captured as plain dicts and trimmed to the fields read. The check itself runs
against the real server in tests/e2e/test_workflow_tests_on_server.py."""

from typing import Any

from conductor.client.http.models.task import Task
from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit.project import Project
from conductor_worker_kit.runtime import sdk_adapter as sdk
from conductor_worker_kit.workflow_check import (
    WorkflowCheck,
    accepted_parameters,
    expected_output,
    given_mocks,
    kind,
    output_differences,
    run_request,
    unexpected_values,
    unknown_inputs,
    unresolved_inputs,
    unresolved_outputs,
    unused_given,
    waiting_task,
)

WIRING = {"order_id": "${workflow.input.order_id}", "currency": "${workflow.input.currencyy}", "note": None}
WORKFLOW = {
    "name": "orders",
    "version": 2,
    "tasks": [{"name": "total", "taskReferenceName": "total", "type": "SIMPLE", "inputParameters": WIRING}],
    "outputParameters": {
        "total": "${total.output.total}",
        "amount": "${total.output.money.amount}",
        "label": "order ${total.output.order_id}",
    },
}
# A SIMPLE task the test run left SCHEDULED (no mocked output for it): its input is resolved; its
# `taskType` is the task's name, its `workflowTask.type` says SIMPLE.
SCHEDULED_SIMPLE = {
    "taskType": "total",
    "taskDefName": "total",
    "referenceTaskName": "again__1",
    "status": "SCHEDULED",
    "inputData": {"order_id": "A-1", "currency": None, "note": None},
    "workflowTask": {"name": "total", "type": "SIMPLE", "inputParameters": WIRING},
}
LOOP_IN_PROGRESS = {
    "taskType": "DO_WHILE",
    "referenceTaskName": "loop",
    "status": "IN_PROGRESS",
    "inputData": {},
    "workflowTask": {"type": "DO_WHILE", "inputParameters": {}},
}
COMPLETED_INLINE = {
    "taskType": "INLINE",
    "referenceTaskName": "inl",
    "status": "COMPLETED",
    "inputData": {"t": 5},
    "workflowTask": {"type": "INLINE", "inputParameters": {"t": "${total.output.item_count}"}},
}


def test_the_request_carries_the_definition_so_nothing_need_be_registered() -> None:
    mocks = {"total": [{"status": "COMPLETED", "output": {"total": "1.00"}}]}
    request = run_request(WORKFLOW, {"order_id": "A-1"}, mocks)
    assert request == {
        "name": "orders",
        "version": 2,
        "workflowDef": WORKFLOW,
        "input": {"order_id": "A-1"},
        "taskRefToMockOutput": mocks,
    }


def test_given_outputs_are_mocked_and_one_for_a_reference_the_run_lacks_is_named() -> None:
    given = {"again__1": {"sent": True}, "notify": {"sent": True}}
    assert given_mocks(given) == {
        "again__1": [{"status": "COMPLETED", "output": {"sent": True}}],
        "notify": [{"status": "COMPLETED", "output": {"sent": True}}],
    }
    assert unused_given(given, {"tasks": [SCHEDULED_SIMPLE, COMPLETED_INLINE]}) == [
        "notify: an output is given for it (tests/integration/given_outputs), but the workflow ran no task of that "
        "reference"
    ]


def test_a_simple_task_is_told_by_its_workflow_task_type_not_its_task_type() -> None:
    assert (kind(SCHEDULED_SIMPLE), kind(LOOP_IN_PROGRESS), kind(COMPLETED_INLINE)) == ("SIMPLE", "DO_WHILE", "INLINE")


def test_the_run_stopped_at_the_waiting_simple_task_not_the_loop_around_it() -> None:
    assert waiting_task({"tasks": [COMPLETED_INLINE, LOOP_IN_PROGRESS, SCHEDULED_SIMPLE]}) is SCHEDULED_SIMPLE
    assert waiting_task({"tasks": [COMPLETED_INLINE, LOOP_IN_PROGRESS]}) is LOOP_IN_PROGRESS
    assert waiting_task({"tasks": [COMPLETED_INLINE]}) is None


def test_a_wired_input_that_resolved_to_null_is_named_with_its_task_reference() -> None:
    assert unresolved_inputs(SCHEDULED_SIMPLE) == [
        "again__1: input.currency = '${workflow.input.currencyy}' resolved to null"
    ]
    assert unresolved_inputs(COMPLETED_INLINE) == []


def test_nested_wiring_is_followed_and_a_literal_null_is_no_problem() -> None:
    task = {
        "referenceTaskName": "ship",
        "inputData": {"address": {"city": None, "zip": "1000"}, "note": None},
        "workflowTask": {
            "inputParameters": {"address": {"city": "${workflow.input.city}", "zip": "${workflow.input.zip}"}}
        },
    }
    assert unresolved_inputs(task) == ["ship: input.address.city = '${workflow.input.city}' resolved to null"]


def test_a_workflow_output_that_resolved_to_null_is_named() -> None:
    output = {"total": None, "amount": "3.00", "label": "order A-1"}
    assert unresolved_outputs(WORKFLOW, output) == ["workflow output.total = '${total.output.total}' resolved to null"]


def test_a_wired_input_the_worker_has_no_parameter_for_is_named() -> None:
    assert unknown_inputs(SCHEDULED_SIMPLE, {"order_id", "currency"}) == [
        "again__1: input 'note' is wired, but total takes no parameter of that name (it takes: currency, order_id)"
    ]
    assert unknown_inputs(SCHEDULED_SIMPLE, None) == []


def test_the_output_expected_is_each_whole_reference_to_a_task_output_followed_through() -> None:
    outputs = {"total": {"total": "3.00", "money": {"amount": "3.00"}, "order_id": "A-1"}}
    # "order ${...}" is a template the server fills in: not resolved here, left to the server.
    assert expected_output(WORKFLOW, outputs) == {"total": "3.00", "amount": "3.00"}
    assert expected_output(WORKFLOW, {}) == {}
    assert output_differences({"total": "3.00"}, {"total": "3.00"}) == []
    assert output_differences({"total": "3.00"}, {"total": "4.00"}) == [
        "workflow output total is '4.00', but the task outputs give '3.00'"
    ]


def test_values_the_team_expects_are_compared_key_by_key_and_each_difference_named() -> None:
    run = {"tasks": [{**SCHEDULED_SIMPLE, "status": "COMPLETED"}]}
    output = {"total": "3.00", "note": None}
    met = {"inputs": {"again__1": {"order_id": "A-1", "note": None}}, "output": {"total": "3.00", "note": None}}
    assert unexpected_values(met, run, output) == []
    assert unexpected_values({}, run, output) == []
    missed = {
        "inputs": {"again__1": {"order_id": "A-2", "currency": "EUR", "absent": None}, "gone": {"a": 1}},
        "output": {"total": "4.00", "absent": None},
    }
    where = "(expected in tests/integration/expected)"
    assert unexpected_values(missed, run, output) == [
        f"workflow output total is '3.00', but '4.00' is expected {where}",
        f"workflow output absent is missing, but None is expected {where}",
        f"again__1: input order_id is 'A-1', but 'A-2' is expected {where}",
        f"again__1: input currency is None, but 'EUR' is expected {where}",
        f"again__1: input absent is missing, but None is expected {where}",
        f"gone: inputs are expected for it {where}, but the workflow ran no such task",
    ]


@worker_task(task_definition_name="workflow_check_whole_task")
def whole_task_worker(task: Task) -> dict[str, Any]:
    return {}


@worker_task(task_definition_name="workflow_check_any_input")
def any_input_worker(**inputs: Any) -> dict[str, Any]:
    return inputs


def test_the_parameters_a_worker_takes_are_its_inputs_unless_it_takes_any(package: str, task_name: str) -> None:
    project = Project(package)
    workers = dict(zip(sdk.served_task_names(project), project.worker_functions(), strict=True))
    assert accepted_parameters(workers[task_name])  # the project's own worker names its inputs
    assert accepted_parameters(whole_task_worker) is None
    assert accepted_parameters(any_input_worker) is None


def test_the_report_names_each_task_who_ran_it_and_each_problem() -> None:
    check = WorkflowCheck("orders", status="RUNNING", rounds=2, problems=["total: the worker total ended FAILED"])
    report = check.report()
    assert report.splitlines()[0] == "workflow orders: RUNNING after 2 test run(s) on the server"
    assert report.splitlines()[-1] == "  problem: total: the worker total ended FAILED"
