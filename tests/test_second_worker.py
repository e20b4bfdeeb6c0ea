"""A second worker, added the way the generated README's "Adding a second worker" says: with a minimal
task file, a task of its own in the example workflow, a workflow input of its own, and tests of its
own. The first worker's tests keep passing, the new task gets the task defaults, and `make check`
fails only until autoscaling covers the new task."""

import json
from typing import Any

from harness.baked_project import BakedProject

WORKER_MODULE = '''"""Labels the shipment of an invoiced order."""

from dataclasses import dataclass

from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit import InvalidInput


@dataclass(frozen=True)
class ShippingLabel:
    order_id: str
    label: str


@worker_task(task_definition_name="print_label")
def print_label(order_id: object = None, ship_to: object = None) -> ShippingLabel:
    """One line a label printer takes."""
    if not isinstance(order_id, str) or not order_id:
        raise InvalidInput("order_id must be a non-empty string")
    if not isinstance(ship_to, str) or not ship_to:
        raise InvalidInput("ship_to must be a non-empty string")
    return ShippingLabel(order_id=order_id, label=f"{order_id} -> {ship_to}")
'''

WORKER_TESTS = '''"""The label worker."""

import pytest
from conductor_worker_kit import InvalidInput

from {package}.workers.print_label import print_label


def test_label_names_order_and_address() -> None:
    assert print_label(order_id="ORD-1", ship_to="Berlin").label == "ORD-1 -> Berlin"


def test_missing_address_is_refused() -> None:
    with pytest.raises(InvalidInput, match="ship_to"):
        print_label(order_id="ORD-1")
'''


def add_second_worker(project: BakedProject) -> None:
    package = project.path / "src" / project.package
    (package / "workers" / "print_label.py").write_text(WORKER_MODULE)
    listing = package / "workers" / "__init__.py"
    text = listing.read_text().replace("\nWORKERS = [\n", "from .print_label import print_label\n\nWORKERS = [\n")
    listing.write_text(text.replace("WORKERS = [\n", "WORKERS = [\n    print_label,\n"))
    minimal = {"name": "print_label", "inputKeys": ["order_id", "ship_to"], "outputKeys": ["order_id", "label"]}
    (package / "definitions" / "tasks" / "print_label.json").write_text(json.dumps(minimal, indent=2))
    workflow_path = package / "definitions" / "workflows" / f"{project.workflow_name}.json"
    workflow: dict[str, Any] = json.loads(workflow_path.read_text())
    workflow["inputParameters"].append("ship_to")
    workflow["tasks"].append(
        {
            "name": "print_label",
            "taskReferenceName": "label",
            "inputParameters": {"order_id": "${workflow.input.order_id}", "ship_to": "${workflow.input.ship_to}"},
        }
    )
    workflow_path.write_text(json.dumps(workflow, indent=2))
    input_path = workflow_path.with_name(f"{project.workflow_name}.input.json")
    example = json.loads(input_path.read_text())
    input_path.write_text(json.dumps({**example, "ship_to": "Berlin"}, indent=2))
    tests = project.path / "tests" / "workers" / "test_print_label.py"
    tests.write_text(WORKER_TESTS.format(package=project.package))


def test_a_second_worker_joins_with_the_defaults_and_its_own_tests(baker: Any) -> None:
    project = baker(kubernetes=True).install()
    add_second_worker(project)
    result = project.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration", check=False)
    failed = [line.split(" - ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert failed == ["FAILED tests/test_autoscaling.py::test_every_served_task_has_a_queue_depth_trigger"], (
        result.stdout[-3000:]
    )
    assert "add a trigger to k8s/scaledobject.yaml for print_label (copy the first one)" in result.stdout

    scaled = project.path / "k8s" / "scaledobject.yaml"
    text = scaled.read_text()
    first = text[text.index("    - type: metrics-api") :]
    scaled.write_text(text + first.replace(project.task_name, "print_label"))
    result = project.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")
    assert "failed" not in result.stdout
    project.run("ruff", "check", ".")
    project.run("ruff", "format", "--check", ".")
    project.run("mypy")

    script = f"""
import json
from conductor_worker_kit.commands.definitions import task_definitions
from conductor_worker_kit.project import Project
print(json.dumps({{task["name"]: task for task in task_definitions(Project("{project.package}"))}}))
"""
    tasks = json.loads(project.run("python", "-c", script).stdout)
    first_task, second_task = tasks[project.task_name], tasks["print_label"]
    for field in ("ownerEmail", "retryCount", "retryLogic", "timeoutSeconds", "responseTimeoutSeconds"):
        assert second_task[field] == first_task[field], field
    assert second_task["responseTimeoutSeconds"] == 30
