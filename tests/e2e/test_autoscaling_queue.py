"""KEDA scales on the queue the worker polls, with and without a domain: the exact URL that scripts/launch.sh
puts into the ScaledObject is fetched from the real server with tasks waiting in both queues, and its
`valueLocation` is evaluated the way KEDA's metrics-api scaler does (a gjson path; a number is required).
"""

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness import kubernetes_launch
from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer
from harness.waiting import wait_until

pytestmark = pytest.mark.e2e

TASK = "keda_queue_probe"
DOMAIN = "blue_team"
WITHOUT_DOMAIN, IN_DOMAIN = 2, 3  # workflows started (one task each), nobody polling


def gjson_get(document: str, path: str) -> Any:
    """The value at `path` in a JSON document, by gjson's rules as far as a valueLocation uses them:
    `@this` is the whole document; otherwise keys separated by dots (`\\.` escapes one), and array indexes."""
    value: Any = json.loads(document)
    if path == "@this":
        return value
    for key in (part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", path)):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return None
    return value


def keda_value(url: str, value_location: str) -> float:
    """What KEDA's metrics-api scaler reads from `url`: a JSON number at `value_location`, else an error."""
    with urllib.request.urlopen(url, timeout=10) as response:
        found = gjson_get(response.read().decode(), value_location)
    assert isinstance(found, int | float) and not isinstance(found, bool), (
        f"KEDA needs a number at {value_location!r} of {url}; got {found!r}"
    )
    return float(found)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, conductor: ConductorServer) -> BakedProject:
    baked = bake(tmp_path_factory.mktemp("keda"), project_name="Keda Worker", task_definition_name=TASK)
    definitions = baked.path / "src" / baked.package / "definitions"
    conductor.api("POST", "/metadata/taskdefs", [json.loads((definitions / "tasks" / f"{TASK}.json").read_text())])
    workflow = json.loads((definitions / "workflows" / f"{baked.workflow_name}.json").read_text())
    conductor.api("PUT", "/metadata/workflow", [workflow])
    return baked


def scaled_object(project: BakedProject, work: Path, env: dict[str, str]) -> dict[str, Any]:
    result = kubernetes_launch.launch(project.path, work, {"KUBE_CONFIG": "apiVersion: v1", **env})
    assert result.returncode == 0, result.stdout + result.stderr
    return kubernetes_launch.applied(project.path, work)["ScaledObject"]


def test_the_scaled_object_counts_the_queue_the_worker_polls(
    project: BakedProject, conductor: ConductorServer, tmp_path: Path
) -> None:
    workflow_input = json.loads(
        (
            project.path / "src" / project.package / "definitions" / "workflows" / f"{project.workflow_name}.input.json"
        ).read_text()
    )
    ids = [conductor.start_workflow(project.workflow_name, workflow_input) for _ in range(WITHOUT_DOMAIN)]
    ids += [
        conductor.start_workflow(project.workflow_name, workflow_input, taskToDomain={"*": DOMAIN})
        for _ in range(IN_DOMAIN)
    ]
    try:
        plain = scaled_object(project, tmp_path / "plain", {"CONDUCTOR_SERVER_URL": conductor.api_url})
        in_domain = scaled_object(
            project,
            tmp_path / "domain",
            {"CONDUCTOR_SERVER_URL": conductor.api_url, "CONDUCTOR_WORKER_ALL_DOMAIN": DOMAIN},
        )
        (plain_trigger,) = plain["spec"]["triggers"]
        (domain_trigger,) = in_domain["spec"]["triggers"]
        assert plain_trigger["metadata"]["format"] == domain_trigger["metadata"]["format"] == "json"

        def measured() -> tuple[float, float]:
            return (
                keda_value(plain_trigger["metadata"]["url"], plain_trigger["metadata"]["valueLocation"]),
                keda_value(domain_trigger["metadata"]["url"], domain_trigger["metadata"]["valueLocation"]),
            )

        wait_until(
            lambda: measured() == (WITHOUT_DOMAIN, IN_DOMAIN),
            30,
            f"the queue depths KEDA reads are not {WITHOUT_DOMAIN, IN_DOMAIN}",
            lambda: f"read: {measured()}",
            every=0.5,
        )

        # Why not the older endpoint: it counts the no-domain queue only, so a domain's backlog never scales.
        with urllib.request.urlopen(f"{conductor.api_url}/tasks/queue/sizes?taskType={TASK}", timeout=10) as r:
            assert json.loads(r.read()) == {TASK: WITHOUT_DOMAIN}
    finally:
        for workflow_id in ids:
            conductor.api("DELETE", f"/workflow/{workflow_id}?reason=test-done")


def test_gjson_paths_behave_like_keda_reads_them() -> None:
    assert gjson_get("7", "@this") == 7
    assert gjson_get('{"a": {"b.c": [1, {"d": 4}]}}', "a.b\\.c.1.d") == 4
    assert gjson_get('{"a": 1}', "b") is None
    # The older endpoint's body is an object: at `@this` KEDA would find no number and fail the trigger.
    assert gjson_get('{"task": 3}', "@this") == {"task": 3}
