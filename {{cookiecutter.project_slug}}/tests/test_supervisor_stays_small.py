"""The `worker` command's own process loads neither the SDK nor prometheus_client: it only starts,
restarts and drains the worker processes, which load them (and serve /metrics) themselves."""

import json
import subprocess
import sys

HEAVY = ("conductor", "prometheus_client", "httpx")


def test_the_worker_command_loads_no_sdk_and_no_metrics_library() -> None:
    probe = (
        "import json, sys\n"
        "import {{ cookiecutter.package_name }}.__main__, {{ cookiecutter.package_name }}.supervisor\n"
        "loaded = set(name.split('.')[0] for name in sys.modules)\n"
        f"print(json.dumps(sorted(loaded & set({HEAVY!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
