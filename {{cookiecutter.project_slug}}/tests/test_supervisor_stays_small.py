"""The `worker` command's own process loads neither the SDK nor prometheus_client: it only starts,
restarts and drains the worker processes, which load them (and serve /metrics) themselves."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import {{ cookiecutter.package_name }}

HEAVY = ("conductor", "prometheus_client", "httpx")
PACKAGE = Path({{ cookiecutter.package_name }}.__file__).parent
# What the `worker` command's process runs: the command line, the supervisor and what they import.
SUPERVISOR_SIDE = ("__main__.py", "config.py", "supervisor.py", "health.py", "stop_request.py")


def test_the_worker_command_loads_no_sdk_and_no_metrics_library() -> None:
    probe = (
        "import json, sys\n"
        "import {{ cookiecutter.package_name }}.__main__, {{ cookiecutter.package_name }}.supervisor\n"
        "loaded = set(name.split('.')[0] for name in sys.modules)\n"
        f"print(json.dumps(sorted(loaded & set({HEAVY!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_no_supervisor_side_module_imports_them_even_inside_a_function() -> None:
    found = []
    for name in SUPERVISOR_SIDE:
        for node in ast.walk(ast.parse((PACKAGE / name).read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [f"{name}:{node.lineno} {module}" for module in modules if module.split(".")[0] in HEAVY]
    assert found == []
