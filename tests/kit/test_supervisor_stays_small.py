"""The `worker` command's own process loads neither the SDK nor prometheus_client nor httpx, and starts
no thread: it only forks, restarts and drains the worker processes, which load them (and serve
/metrics) themselves."""

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import conductor_worker_kit

HEAVY = ("conductor", "prometheus_client", "httpx", "opentelemetry")
# Loaded by every worker process; loaded here too, they would be in memory (and in RSS) once more per
# process, hashlib with OpenSSL's libcrypto mapped. runtime/tracing.py imports them where it uses them.
WORKER_SIDE_ONLY = ("hashlib", "uuid", "importlib.metadata")
KIT = Path(conductor_worker_kit.__file__).parent
# What the `worker` command's process runs: the command line, the supervisor and what they import.
SUPERVISOR_SIDE = (
    "__init__.py",
    "commands/cli.py",
    "config.py",
    "project.py",
    "runtime/supervisor.py",
    "runtime/child_process.py",
    "runtime/run_state.py",
    "runtime/stop_request.py",
    "runtime/process_protocol.py",
    "runtime/log_format.py",
)


def modules_of_the_worker_command(package: str) -> set[str]:
    """Every module the `worker` command's own process has loaded once it can fork, in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        f"import {package}.__main__, conductor_worker_kit.runtime.supervisor\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout))


def test_the_worker_command_loads_no_sdk_and_no_metrics_library(package: str) -> None:
    loaded = {name.split(".")[0] for name in modules_of_the_worker_command(package)}
    assert sorted(loaded & set(HEAVY)) == []


def test_the_worker_command_leaves_what_only_worker_processes_use_to_them(package: str) -> None:
    assert sorted(modules_of_the_worker_command(package) & set(WORKER_SIDE_ONLY)) == []


def test_no_supervisor_side_module_imports_them_even_inside_a_function() -> None:
    found = []
    for name in SUPERVISOR_SIDE:
        for node in ast.walk(ast.parse((KIT / name).read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [f"{name}:{node.lineno} {module}" for module in modules if module.split(".")[0] in HEAVY]
    assert found == []


def test_the_worker_command_forks_without_threads_and_fails_in_one_line_without_a_server(
    tmp_path: Path, package: str
) -> None:
    """The command forks without threads (it would refuse with one line otherwise, and Python 3.12+ would
    warn); an unreachable server is the server check's one line, after which the worker process stops."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/api"
    env = {
        **os.environ,
        "CONDUCTOR_SERVER_URL": url,
        "WORKER_ENV_FILE": str(tmp_path / "no.env"),
        "WORKER_HEALTH_DIR": str(tmp_path / "health"),
        "PYTHONWARNINGS": "always:This process:DeprecationWarning",
    }
    command = [sys.executable, "-m", package, "worker"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "use of fork()" not in result.stderr
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot reach Conductor at {url} (")
    assert result.stderr.count("\n") == 1, result.stderr
