"""Workflow wiring: a required input no workflow task passes, or a workflow input its .input.json lacks,
is named with the workflow, the task reference and the key."""

import json
from pathlib import Path

from conductor_worker_kit.commands.wiring import required_inputs, wiring_problems
from conductor_worker_kit.project import Project

TASK = {
    "name": "score",
    "inputKeys": ["order_id", "amount", "note"],
    "inputSchema": {"name": "score_input", "data": {"type": "object", "required": ["order_id", "amount"]}},
}


def project_with(tmp_path: Path, workflow_tasks: list[dict[str, object]], example: dict[str, object]) -> Project:
    definitions = tmp_path / "pkg" / "definitions"
    (definitions / "tasks").mkdir(parents=True)
    (definitions / "workflows").mkdir()
    (definitions / "task-defaults.json").write_text("{}")
    (definitions / "tasks" / "score.json").write_text(json.dumps(TASK))
    workflow = {"name": "flow", "tasks": workflow_tasks}
    (definitions / "workflows" / "flow.json").write_text(json.dumps(workflow))
    (definitions / "workflows" / "flow.input.json").write_text(json.dumps(example))
    return Project("pkg", source_dir=tmp_path / "pkg")


def score(reference: str, **inputs: str) -> dict[str, object]:
    return {"name": "score", "taskReferenceName": reference, "type": "SIMPLE", "inputParameters": inputs}


def test_the_schemas_required_list_wins_over_the_input_keys() -> None:
    assert required_inputs(TASK) == ["order_id", "amount"]
    assert required_inputs({"inputKeys": ["a", "b"]}) == ["a", "b"]
    assert required_inputs({}) == []


def test_a_wired_workflow_has_no_problem(tmp_path: Path) -> None:
    task = score("s", order_id="${workflow.input.order_id}", amount="${workflow.input.amount}")
    assert wiring_problems(project_with(tmp_path, [task], {"order_id": "o", "amount": 1})) == []


def test_a_required_input_no_task_passes_is_named(tmp_path: Path) -> None:
    task = score("first_score", order_id="${workflow.input.order_id}")
    assert wiring_problems(project_with(tmp_path, [task], {"order_id": "o"})) == [
        "workflow flow, task first_score: no inputParameters entry for 'amount', which the task definition "
        "score requires"
    ]


def test_tasks_inside_branches_and_loops_are_checked(tmp_path: Path) -> None:
    inner = score("in_branch", order_id="o")
    switch = {"name": "route", "taskReferenceName": "route", "type": "SWITCH", "decisionCases": {"a": [inner]}}
    problems = wiring_problems(project_with(tmp_path, [switch], {}))
    assert problems == [
        "workflow flow, task in_branch: no inputParameters entry for 'amount', which the task definition score requires"
    ]


def test_a_workflow_input_the_example_lacks_is_named(tmp_path: Path) -> None:
    task = score("s", order_id="${workflow.input.order_id}", amount="${workflow.input.total.value}")
    assert wiring_problems(project_with(tmp_path, [task], {"order_id": "o"})) == [
        "workflow flow: its tasks read ${workflow.input.total}, which flow.input.json does not supply"
    ]
