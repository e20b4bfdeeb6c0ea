# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""A workflow run on the real server, with this project's workers standing in for its SIMPLE tasks.

The server's workflow test endpoint (`POST /api/workflow/test`) starts a workflow in a task domain of its
own (no worker polls it) and completes each task given a mocked output for its reference. A SIMPLE task
without one stays SCHEDULED, its input already resolved by the server. So the check goes in rounds: run
the workflow with the outputs known so far; where it stops at a task this project serves, run that
worker here on the input the server resolved, and take its result as that task's output next round.
It ends when the workflow ends, or stops at a task it cannot finish: a failed worker, a task no worker
here serves, or a system task the test run leaves waiting (WAIT, HUMAN, ...), unless its output is given
(GIVEN_OUTPUTS_DIR): given outputs are mocked from the first round. Each round's run is terminated once
read, so none stays behind on the server.

What it reports as problems: the workflow not COMPLETED (naming the task where it stopped or failed),
a task input or workflow output wired with `${...}` that resolved to null (a reference to a field that
does not exist resolves to null, silently), a wired input the worker takes no parameter for, a
workflow output that differs from what the task outputs give through the outputParameters, and a task
input or workflow output that differs from the value the team expects (EXPECTED_DIR).
"""

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .commands.definitions import example_input
from .project import Project

TEST_PATH = "/workflow/test"
# `<workflow name>.json` there: {task reference: output}, the outputs of tasks no worker here serves, of
# system tasks the test run leaves waiting (WAIT, HUMAN), or of any task that should not run in a test,
# given to the server as they are; relative to the project's checkout.
GIVEN_OUTPUTS_DIR = "tests/integration/given_outputs"
# `<workflow name>.json` there: {"output": {key: value}, "inputs": {task reference: {key: value}}}, values
# the workflow's output and its tasks' inputs (as the server resolved them) must have; keys not named are
# not compared. Optional, per workflow; relative to the project's checkout.
EXPECTED_DIR = "tests/integration/expected"
MISSING = object()  # a key a run lacks differs even from an expected null
MAX_ROUNDS = 200  # one round per task run here: a workflow of more SIMPLE task runs than this is cut off
RUNNING_STATES = {"SCHEDULED", "IN_PROGRESS"}
WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_-]+)\.output((?:\.[A-Za-z0-9_-]+)*)\}$")


class Client(Protocol):
    def request(self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> Any: ...


@dataclass
class TaskRun:
    reference: str
    task_type: str
    status: str
    input: dict[str, Any]
    output: dict[str, Any]
    run_by: str  # "run by this project's worker", "run by the server" or "output given in ..."
    reason: str = ""


@dataclass
class WorkflowCheck:
    workflow: str
    status: str = "NOT STARTED"
    output: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rounds: int = 0

    def report(self) -> str:
        lines = [f"workflow {self.workflow}: {self.status} after {self.rounds} test run(s) on the server"]
        for task in self.tasks:
            reason = f" ({task.reason})" if task.reason else ""
            lines.append(f"  {task.reference} [{task.task_type}] {task.status}{reason}, {task.run_by}")
            lines.append(f"    input:  {task.input}")
            lines.append(f"    output: {task.output}")
        lines.append(f"  workflow output: {self.output}")
        lines += [f"  problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


# --- pure parts: requests, and what a run answered ---------------------------------------------------


def run_request(
    workflow: dict[str, Any], workflow_input: dict[str, Any], mocks: dict[str, list[Any]]
) -> dict[str, Any]:
    """The test endpoint's body: the definition itself (nothing need be registered), input and mocks."""
    return {
        "name": workflow["name"],
        "version": workflow.get("version", 1),
        "workflowDef": workflow,
        "input": workflow_input,
        "taskRefToMockOutput": mocks,
    }


def kind(task: dict[str, Any]) -> str:
    """SIMPLE, INLINE, ...: the task's type in the workflow (a SIMPLE task's `taskType` is its name)."""
    return str((task.get("workflowTask") or {}).get("type") or task.get("taskType") or "?")


def mock(output: dict[str, Any]) -> dict[str, Any]:
    return {"status": "COMPLETED", "output": output}


def given_mocks(given: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    return {reference: [mock(output)] for reference, output in given.items()}


def unused_given(given: dict[str, dict[str, Any]], run: dict[str, Any]) -> list[str]:
    """Given outputs for references the run has no task of: a renamed or removed task left behind."""
    references = {task.get("referenceTaskName") for task in run.get("tasks") or []}
    return [
        f"{reference}: an output is given for it ({GIVEN_OUTPUTS_DIR}), but the workflow ran no task of that reference"
        for reference in given
        if reference not in references
    ]


def waiting_task(run: dict[str, Any]) -> dict[str, Any] | None:
    """Where the test run stopped: its first SIMPLE task still SCHEDULED or IN_PROGRESS, else its first
    other such task (a DO_WHILE or JOIN is in progress while a SIMPLE task inside it waits)."""
    waiting = [task for task in run.get("tasks") or [] if task.get("status") in RUNNING_STATES]
    return next((task for task in waiting if kind(task) == "SIMPLE"), next(iter(waiting), None))


def _unresolved(wiring: Any, resolved: Any, where: str) -> list[str]:
    if isinstance(wiring, dict):
        inner = resolved if isinstance(resolved, dict) else {}
        return [
            found for key, value in wiring.items() for found in _unresolved(value, inner.get(key), f"{where}.{key}")
        ]
    if isinstance(wiring, str) and resolved is None:  # only a `${...}` in it can come out null
        return [f"{where} = {wiring!r} resolved to null"]
    return []


def unresolved_inputs(task: dict[str, Any]) -> list[str]:
    """Each `${...}` input of a task (as the server gave it in a run) that resolved to null."""
    wiring = (task.get("workflowTask") or {}).get("inputParameters") or {}
    return _unresolved(wiring, task.get("inputData") or {}, f"{task.get('referenceTaskName')}: input")


def unresolved_outputs(workflow: dict[str, Any], output: dict[str, Any]) -> list[str]:
    return _unresolved(workflow.get("outputParameters") or {}, output, "workflow output")


def unknown_inputs(task: dict[str, Any], parameters: set[str] | None) -> list[str]:
    """Wired inputs the worker has no parameter for (it never sees them); None: it takes any input."""
    if parameters is None:
        return []
    wiring = (task.get("workflowTask") or {}).get("inputParameters") or {}
    return [
        f"{task.get('referenceTaskName')}: input {key!r} is wired, but {task.get('taskDefName')} takes no "
        f"parameter of that name (it takes: {', '.join(sorted(parameters)) or 'none'})"
        for key in wiring
        if key not in parameters
    ]


def expected_output(workflow: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The workflow outputs that are one `${ref.output.a.b}` of a task in `outputs`, resolved from them."""
    expected = {}
    for key, wiring in (workflow.get("outputParameters") or {}).items():
        match = WHOLE_REFERENCE.match(wiring) if isinstance(wiring, str) else None
        if match is None or match.group(1) not in outputs:
            continue
        value: Any = outputs[match.group(1)]
        for step in filter(None, match.group(2).split(".")):
            value = value.get(step) if isinstance(value, dict) else None
        expected[key] = value
    return expected


def output_differences(expected: dict[str, Any], output: dict[str, Any]) -> list[str]:
    return [
        f"workflow output {key} is {output.get(key)!r}, but the task outputs give {value!r}"
        for key, value in expected.items()
        if output.get(key) != value
    ]


def unexpected_values(expected: dict[str, Any], run: dict[str, Any], output: dict[str, Any]) -> list[str]:
    """Where the run's task inputs and workflow output differ from the values in `expected` (EXPECTED_DIR)."""
    inputs = {task.get("referenceTaskName"): task.get("inputData") or {} for task in run.get("tasks") or []}
    problems = _differing("workflow output", output, expected.get("output") or {})
    for reference, values in (expected.get("inputs") or {}).items():
        if reference in inputs:
            problems += _differing(f"{reference}: input", inputs[reference], values)
        else:
            where = f"(expected in {EXPECTED_DIR})"
            problems.append(f"{reference}: inputs are expected for it {where}, but the workflow ran no such task")
    return problems


def _differing(what: str, actual: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """A line for each key of `wanted` whose value `actual` lacks or has otherwise."""
    return [
        f"{what} {key} is {repr(actual[key]) if key in actual else 'missing'}, but {value!r} is expected"
        f" (expected in {EXPECTED_DIR})"
        for key, value in wanted.items()
        if actual.get(key, MISSING) != value
    ]


def accepted_parameters(function: Callable[..., Any]) -> set[str] | None:
    """The input names a worker function takes; None when it takes any (a whole Task, or **kwargs)."""
    parameters = list(inspect.signature(inspect.unwrap(function)).parameters.values())
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    if len(parameters) == 1 and getattr(parameters[0].annotation, "__name__", "") == "Task":
        return None
    return {parameter.name for parameter in parameters}


# --- the check -------------------------------------------------------------------------------------


def check_workflow(
    client: Client,
    workflow: dict[str, Any],
    workflow_input: dict[str, Any],
    workers: dict[str, Callable[..., Any]],
    given: dict[str, dict[str, Any]] | None = None,
    expected: dict[str, Any] | None = None,
) -> WorkflowCheck:
    """Run `workflow` on `workflow_input` through the server's test endpoint, with `workers` (task name ->
    its `@worker_task` function) run here for the SIMPLE tasks they serve, `given` outputs (task
    reference -> output) for tasks that none of them serves, and the `expected` values (EXPECTED_DIR)
    compared once it completes. See the module's docstring."""
    from .runtime.sdk_adapter import execute_once

    check = WorkflowCheck(str(workflow.get("name")))
    given = given or {}
    mocks = given_mocks(given)
    ran_here: dict[str, TaskRun] = {}
    for _ in range(MAX_ROUNDS):
        run = client.request("POST", TEST_PATH, json=run_request(workflow, workflow_input, mocks)).json()
        check.rounds += 1
        try:
            check.status, check.output = run.get("status", "?"), run.get("output") or {}
            waiting = waiting_task(run)
            if check.status != "RUNNING" or waiting is None:
                break
            reference, name = waiting["referenceTaskName"], waiting.get("taskDefName")
            give = f"(give its output under {reference!r} in {GIVEN_OUTPUTS_DIR}/{check.workflow}.json)"
            if kind(waiting) != "SIMPLE":
                check.problems.append(f"{reference}: the test run leaves {kind(waiting)} tasks waiting {give}")
                break
            if name not in workers:
                check.problems.append(f"{reference}: no worker in this project serves task {name!r} {give}")
                break
            status, result, reason = execute_once(workers[name], name, waiting.get("inputData") or {})
            output = result if isinstance(result, dict) else {"result": result}
            reason = reason or ""
            ran_here[reference] = TaskRun(
                reference, "SIMPLE", status, waiting.get("inputData") or {}, output, "", reason
            )
            if status != "COMPLETED":
                check.problems.append(f"{reference}: the worker {name} ended {status}: {reason or 'no reason given'}")
                break
            mocks.setdefault(reference, []).append(mock(output))
        finally:
            if run.get("status") == "RUNNING" and run.get("workflowId"):
                client.request("DELETE", f"/workflow/{run['workflowId']}", params={"reason": "workflow check done"})
    else:
        check.problems.append(f"still running after {MAX_ROUNDS} rounds (one per task run here)")
    _read_tasks(check, run, workflow, workers, ran_here, given)
    if check.status == "COMPLETED":
        check.problems += unexpected_values(expected or {}, run, check.output)
    return check


def _read_tasks(
    check: WorkflowCheck,
    run: dict[str, Any],
    workflow: dict[str, Any],
    workers: dict[str, Callable[..., Any]],
    ran_here: dict[str, TaskRun],
    given: dict[str, dict[str, Any]],
) -> None:
    stopped = check.status == "RUNNING"
    if check.status not in ("COMPLETED", "RUNNING"):
        failed = [t for t in run.get("tasks") or [] if t.get("status") not in ("COMPLETED", *RUNNING_STATES)]
        where = ", ".join(f"{t.get('referenceTaskName')} {t.get('status')}" for t in failed) or "no task failed"
        check.problems.insert(0, f"the workflow ended {check.status} ({where}): {run.get('reasonForIncompletion')}")
    for task in run.get("tasks") or []:
        reference, name = task.get("referenceTaskName", "?"), task.get("taskDefName")
        served = kind(task) == "SIMPLE" and name in workers and reference not in given
        local = ran_here.get(reference)
        run_by = "run by this project's worker" if served else "run by the server"
        run_by = f"output given in {GIVEN_OUTPUTS_DIR}" if reference in given else run_by
        check.tasks.append(
            TaskRun(
                reference,
                kind(task),
                local.status if local else task.get("status", "?"),
                task.get("inputData") or {},
                local.output if local else task.get("outputData") or {},
                run_by,
                local.reason if local else task.get("reasonForIncompletion") or "",
            )
        )
        check.problems += unresolved_inputs(task)
        if served:
            check.problems += unknown_inputs(task, accepted_parameters(workers[name]))
    if stopped:
        check.problems.insert(0, "the workflow did not complete on the test run")
        return
    if check.status == "COMPLETED":
        check.problems += unresolved_outputs(workflow, check.output)
        outputs = {**given, **{reference: task.output for reference, task in ran_here.items()}}
        check.problems += unused_given(given, run)
        check.problems += output_differences(expected_output(workflow, outputs), check.output)


def check_project_workflow(client: Client, project: Project, path: Path) -> WorkflowCheck:
    """`check_workflow` for a workflow file of the project, on the input beside it (`<name>.input.json`),
    with the workers its `WORKERS` lists, the outputs given in GIVEN_OUTPUTS_DIR/<name>.json and the
    values expected in EXPECTED_DIR/<name>.json, if any."""
    from .runtime.sdk_adapter import served_task_names

    workflow = json.loads(path.read_text())
    name = str(workflow.get("name"))
    workers = dict(zip(served_task_names(project), project.worker_functions(), strict=True))
    checkout = project.checkout_dir
    given, expected = (_checkout_json(checkout, folder, name) for folder in (GIVEN_OUTPUTS_DIR, EXPECTED_DIR))
    return check_workflow(client, workflow, example_input(project, name), workers, given, expected)


def _checkout_json(checkout: Path | None, folder: str, name: str) -> dict[str, Any]:
    """`<folder>/<name>.json` in the project's checkout, parsed; {} when there is none."""
    path = checkout / folder / f"{name}.json" if checkout else None
    return json.loads(path.read_text()) if path and path.is_file() else {}
