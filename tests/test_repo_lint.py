"""The template repository's own Python (hooks, tests, benchmark, scripts) stays ruff-clean."""

import subprocess
import sys

import pytest

from harness.baked_project import TEMPLATE_ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
        cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
