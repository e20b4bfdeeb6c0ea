"""`new-worker` in a baked project: new workers (sync and async, and from a server's definitions) pass the
project's own checks; typed I/O and the task definition's schemas stay in step; every refused name leaves
the tree byte-identical. (Serving them on the real server, and `--from-server` against it:
tests/e2e/test_new_worker_on_server.py.)"""

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake

EXTRA_WORKER = '''"""A worker whose module, function and task names all differ."""

from conductor.client.worker.worker_task import worker_task


@worker_task(task_definition_name="audit_trail")
def record_audit(note: str = "") -> dict[str, str]:
    return {"note": note}
'''


def tree(project: BakedProject) -> dict[str, str]:
    """Every file of the project (bytecode caches aside) and a hash of its bytes."""
    return {
        str(path.relative_to(project.path)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in project.files()
        if "__pycache__" not in path.parts and ".mypy_cache" not in path.parts and ".ruff_cache" not in path.parts
    }


def checks_pass(project: BakedProject) -> str:
    """What `make check` runs; returns pytest's summary line."""
    project.run("ruff", "check", ".")
    project.run("ruff", "format", "--check", ".")
    project.run("mypy")
    result = project.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")
    return result.stdout.strip().splitlines()[-1]


def package_dir(project: BakedProject) -> Path:
    return project.path / "src" / project.package


# `new-worker --from-server` without a server: the command's function, given the definitions a server answers
# (with the server's defaults for the fields a definition leaves out, as a server does).
FROM_SERVER = """
import json, sys
from conductor_worker_kit.commands.definitions import TASK_FIELDS
from conductor_worker_kit.project import Project
from conductor_worker_kit.scaffold.checkout import checkout_project
from conductor_worker_kit.scaffold.new_worker import new_worker

defaults = {key: value for key, value in TASK_FIELDS.items() if value is not None}
server = {definition["name"]: {**defaults, **definition} for definition in json.loads(sys.argv[1])}
project = checkout_project(Project(sys.argv[2]))
for name in server:
    print("\\n".join(new_worker(project, name, name.endswith("_async"), None, server.get)))
"""
LONG_FIELD = "the_longest_field_name_a_partner_team_could_think_of_for_the_delivery_window"
ORDER_INPUT = {
    "type": "object",
    "properties": {
        "customer": {
            "type": "object",
            "description": "who ordered",
            "properties": {
                "email": {"type": "string"},
                "tier": {"enum": ["GOLD", "SILVER"]},
                "note": {"type": ["string", "null"]},
            },
            "required": ["email"],
        },
        "quantity": {"type": "integer", "minimum": 1},
        "gift": {"type": "boolean"},
        LONG_FIELD: {"type": "number"},
    },
    "required": ["customer", "quantity", LONG_FIELD],
}
ORDER_RESULT = {
    "type": "object",
    "properties": {
        "lines": {
            "type": "array",
            "items": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        },
        "accepted": {"type": "boolean"},
    },
    "required": ["lines", "accepted"],
}
LONG_DESCRIPTION = 'Says "hello" to everyone in a list that a partner team keeps, ' * 3 + 'in a \\ way, "quoted"'


def server_definition(name: str, **fields: Any) -> dict[str, Any]:
    """A definition as a server answers it: the fields the server has no default for are set too."""
    owner = {"ownerEmail": "other.team@example.com", "timeoutSeconds": 60, "responseTimeoutSeconds": 20}
    return {"name": name, **owner, "rateLimitPerFrequency": 0, "concurrentExecLimit": 0, **fields}


def with_schemas(name: str) -> dict[str, Any]:
    return server_definition(
        name,
        inputSchema={"name": f"{name}_input", "version": 1, "type": "JSON", "data": ORDER_INPUT},
        outputSchema={"name": f"{name}_output", "version": 1, "type": "JSON", "data": ORDER_RESULT},
    )


def test_new_workers_sync_and_async_pass_the_checks_unchanged(baker: Any) -> None:
    project = baker().install()
    workflow = project.workflow_name
    first = project.cli("new-worker", "send_email", "--workflow", workflow)
    assert first.returncode == 0, first.stderr
    make = subprocess.run(
        ["make", "new-worker", "NAME=fetch_rates", "ASYNC=1", f"WORKFLOW={workflow}"],
        cwd=project.path,
        capture_output=True,
        text=True,
        env=project.environment(),
        check=False,
    )
    assert make.returncode == 0, make.stdout + make.stderr
    long_running = project.cli("new-worker", "watch_shipment", "--long-running")
    assert long_running.returncode == 0, long_running.stderr
    package = package_dir(project)
    for name in ("send_email", "fetch_rates"):
        assert (package / "workers" / f"{name}.py").is_file()
        assert (project.path / "tests" / "workers" / f"test_{name}.py").is_file()
        definition = json.loads((package / "definitions" / "tasks" / f"{name}.json").read_text())
        # Retries and timeouts come from task-defaults.json when registered: the file holds only its own.
        assert set(definition) == {"name", "description", "inputKeys", "outputKeys", "inputSchema", "outputSchema"} | {
            "enforceSchema"
        }
        assert definition["inputSchema"]["data"]["properties"] == {"text": {"type": "string"}}
        assert definition["outputSchema"]["name"] == f"{name}_output"
        assert definition["enforceSchema"] is False
    assert "async def fetch_rates(" in (package / "workers" / "fetch_rates.py").read_text()
    assert "\ndef send_email(" in (package / "workers" / "send_email.py").read_text()
    listing = (package / "workers" / "__init__.py").read_text()
    assert "from .fetch_rates import fetch_rates\n" in listing
    assert "    send_email,\n    fetch_rates,\n    watch_shipment,\n]" in listing
    steps = json.loads((package / "definitions" / "workflows" / f"{workflow}.json").read_text())["tasks"]
    assert [(step["name"], step["type"]) for step in steps[-2:]] == [
        ("send_email", "SIMPLE"),
        ("fetch_rates", "SIMPLE"),
    ]
    assert steps[-1]["inputParameters"] == {"text": "${workflow.input.text}"}
    scaled = (project.path / "k8s" / "scaledobject.yaml").read_text()
    assert scaled.count("- type: metrics-api") == 4
    assert "taskType=send_email" in scaled and "taskType=fetch_rates" in scaled
    # Generated code uses the kit's public names only.
    worker = (package / "workers" / "send_email.py").read_text()
    assert "\nfrom conductor_worker_kit import parse_input, typed_io\n" in worker
    unit_test = (project.path / "tests" / "workers" / "test_fetch_rates.py").read_text()
    assert "\nfrom conductor_worker_kit import InvalidInput\n" in unit_test
    assert f"\nfrom {project.package}.workers.fetch_rates import fetch_rates\n" in unit_test
    # --long-running: lease extension on, and a definition with room for a long attempt.
    assert "    lease_extend_enabled=True," in (package / "workers" / "watch_shipment.py").read_text()
    assert "lease_extend_enabled" not in (package / "workers" / "send_email.py").read_text()
    definition = json.loads((package / "definitions" / "tasks" / "watch_shipment.json").read_text())
    assert (definition["responseTimeoutSeconds"], definition["timeoutSeconds"]) == (60, 3600)
    probe = (
        "from conductor_worker_kit.project import Project\n"
        "from conductor_worker_kit.runtime.sdk_adapter import served_workers\n"
        f"workers = served_workers(Project('{project.package}'))\n"
        "print({w.get_task_definition_name(): w.lease_extend_enabled for w in workers})"
    )
    leases = project.run("python", "-c", probe).stdout
    assert "'watch_shipment': True" in leases and "'send_email': False" in leases
    # A case captured for a new worker is replayed by the template's replay test, which needs no change.
    for name in ("send_email", "fetch_rates"):
        case = project.path / "tests" / "workers" / "cases" / name / "0a1b2c3d.json"
        case.parent.mkdir(parents=True)
        expected = {"status": "FAILED_WITH_TERMINAL_ERROR", "reason": "text is required"}
        case.write_text(json.dumps({"taskType": name, "input": {}, "expected": expected}))
    replayed = project.run("pytest", "-v", "-p", "no:cacheprovider", "tests/test_replayed_tasks.py").stdout
    assert "[send_email/0a1b2c3d] PASSED" in replayed and "[fetch_rates/0a1b2c3d] PASSED" in replayed
    assert " passed" in checks_pass(project)
    assert "{{" not in (package / "workers" / "send_email.py").read_text()
    assert project.cli("schemas", "--check").returncode == 0


def test_server_definitions_become_workers_that_pass_the_checks(baker: Any) -> None:
    """Nested, nullable, enum, list and very long fields; keys only; neither, with a long description."""
    project = baker().install()
    definitions = [
        with_schemas("place_order"),
        with_schemas("place_order_async"),
        server_definition("legacy_keys", inputKeys=["customer_id", "amount"], outputKeys=["receipt"]),
        server_definition("described_only", description=LONG_DESCRIPTION),
    ]
    project.run("python", "-c", FROM_SERVER, json.dumps(definitions), project.package)
    workers = package_dir(project) / "workers"
    source = (workers / "place_order.py").read_text()
    assert "class PlaceOrderInputCustomer:" in source
    assert '    tier: Literal["GOLD", "SILVER"] | None = None\n' in source
    assert "    lines: list[PlaceOrderResultLinesItem]\n" in source
    assert "async def place_order_async(" in (workers / "place_order_async.py").read_text()
    assert "    customer_id: Any = None\n    amount: Any = None\n" in (workers / "legacy_keys.py").read_text()
    assert '    """Says "hello" to everyone' in (workers / "described_only.py").read_text()
    assert "BAD_INPUT" not in (project.path / "tests" / "workers" / "test_legacy_keys.py").read_text()
    saved = json.loads((package_dir(project) / "definitions" / "tasks" / "place_order.json").read_text())
    assert saved["inputSchema"]["data"] == ORDER_INPUT  # it says what the code says: kept, descriptions too
    assert " passed" in checks_pass(project)
    assert project.cli("schemas", "--check").returncode == 0


def test_code_and_json_schemas_disagreeing_fail_the_check_until_schemas_runs(baker: Any) -> None:
    project = baker().install()
    assert project.cli("new-worker", "lookup").returncode == 0
    module = package_dir(project) / "workers" / "lookup.py"
    source = module.read_text()
    # The user adds an optional input field (and its parameter).
    source = source.replace("    text: str\n", "    text: str\n    limit: int = 10\n", 1)
    source = source.replace(
        "def lookup(text: object | None = None)", "def lookup(text: object | None = None, limit: object | None = None)"
    )
    source = source.replace("parse_input(LookupInput, text=text)", "parse_input(LookupInput, text=text, limit=limit)")
    module.write_text(source)
    stale = project.cli("schemas", "--check")
    assert stale.returncode == 1
    assert "stale tasks/lookup.json: inputKeys, inputSchema (run `make schemas`)" in stale.stdout
    failing = project.run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_definitions.py", check=False)
    assert failing.returncode != 0
    assert "run `make schemas`" in failing.stdout
    assert project.cli("schemas").returncode == 0
    definition = json.loads((package_dir(project) / "definitions" / "tasks" / "lookup.json").read_text())
    assert definition["inputSchema"]["data"]["properties"]["limit"] == {"type": "integer"}
    assert definition["inputKeys"] == ["text", "limit"]
    assert " passed" in checks_pass(project)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    """A project with a worker whose module, function and task names differ, a definition whose file
    name is not its task name, a definition without a worker, and a unit test without one."""
    project = bake(tmp_path_factory.mktemp("crowded"))
    project.add_worker("audit", EXTRA_WORKER, "record_audit")
    tasks = package_dir(project) / "definitions" / "tasks"
    (tasks / "renamed_file.json").write_text(json.dumps({"name": "billing_sync", "ownerEmail": "a@example.com"}))
    (tasks / "draft_task.json").write_text(json.dumps({"name": "draft_task"}))
    (project.path / "tests" / "workers" / "test_legacy_report.py").write_text('"""A test left behind."""\n')
    return project.install()


REFUSED = [
    ("9lives", "is not a valid task name"),
    ("send-email", "is not a valid task name"),
    ("send email", "is not a valid task name"),
    ("a" * 65, "is not a valid task name"),
    ("", "is not a valid task name"),
    ("class", "is a Python keyword"),
    ("match", "is a Python keyword"),
    ("audit", "taken: a module in workers/ exists"),
    ("defaults", "taken: a module in workers/ exists"),
    ("typed_io", "a name the generated worker module or its unit test uses"),
    ("parse_input", "a name the generated worker module or its unit test uses"),
    ("run_through_sdk", "a name the generated worker module or its unit test uses"),
    ("record_audit", "taken: workers/__init__.py already binds that name"),
    ("audit_trail", "taken: a worker in WORKERS serves that task"),
    ("billing_sync", "taken: a task definition in definitions/tasks has that name"),
    ("compute_invoice_total", "taken: a module in workers/ exists"),
    ("draft_task", "taken: a task definition exists"),
    ("legacy_report", "taken: a unit test module exists"),
]


@pytest.mark.parametrize(("name", "rule"), REFUSED, ids=[name[:12] or "empty" for name, _ in REFUSED])
def test_refused_names_change_nothing(crowded: BakedProject, name: str, rule: str) -> None:
    before = tree(crowded)
    result = crowded.cli("new-worker", name, "--workflow", crowded.workflow_name)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert rule in result.stderr
    assert tree(crowded) == before


def test_unknown_workflow_is_refused_and_changes_nothing(crowded: BakedProject) -> None:
    before = tree(crowded)
    result = crowded.cli("new-worker", "fresh_task", "--workflow", "no_such_flow")
    assert result.returncode == 2
    assert (
        result.stderr
        == f"error: no workflow named 'no_such_flow' in definitions/workflows (known: {crowded.workflow_name})\n"
    )
    assert tree(crowded) == before


def test_an_unrecognised_workers_list_is_refused_and_changes_nothing(crowded: BakedProject) -> None:
    listing = package_dir(crowded) / "workers" / "__init__.py"
    original = listing.read_text()
    listing.write_text(original.replace("WORKERS = [", "WORKERS = list(\n    [").replace("\n]\n", "\n    ]\n)\n"))
    try:
        before = tree(crowded)
        result = crowded.cli("new-worker", "fresh_task")
        assert result.returncode == 2
        assert result.stderr.startswith("error: cannot add the worker to workers/__init__.py: it must assign")
        assert result.stderr.count("\n") == 1
        assert tree(crowded) == before
    finally:
        listing.write_text(original)


def test_an_unrecognised_autoscaling_file_is_refused_and_changes_nothing(crowded: BakedProject) -> None:
    scaled = crowded.path / "k8s" / "scaledobject.yaml"
    original = scaled.read_text()
    scaled.write_text(original.split("  triggers:")[0])
    try:
        before = tree(crowded)
        result = crowded.cli("new-worker", "fresh_task")
        assert result.returncode == 2
        assert result.stderr == (
            "error: cannot add an autoscaling trigger: k8s/scaledobject.yaml has no `triggers:` list to copy from\n"
        )
        assert tree(crowded) == before
    finally:
        scaled.write_text(original)


def test_a_one_line_workers_list_is_extended(baker: Any) -> None:
    """Also without the Kubernetes files: no autoscaling trigger to add."""
    project = baker(kubernetes=False).install()
    assert not (project.path / "k8s").exists()
    listing = package_dir(project) / "workers" / "__init__.py"
    listing.write_text(
        listing.read_text().replace("WORKERS = [\n    compute_invoice_total,\n]", "WORKERS = [compute_invoice_total]")
    )
    assert project.cli("new-worker", "another_task").returncode == 0
    assert "WORKERS = [\n    compute_invoice_total,\n    another_task,\n]" in listing.read_text()
    assert "from .another_task import another_task\nfrom .compute_invoice_total import" in listing.read_text()
    assert " passed" in checks_pass(project)


def test_long_names_stay_within_the_line_length(baker: Any) -> None:
    """Generated code is formatted as ruff would format it, whatever the name's length."""
    project = baker(package_name="billing_ops").install()
    name = "t" + "x" * 63
    assert project.cli("new-worker", name).returncode == 0
    assert project.cli("new-worker", "y" * 64, "--async").returncode == 0
    assert " passed" in checks_pass(project)
