"""The kit's own tests (tests/kit/), run inside baked projects: the kit as a project installs it, with the
project's locked SDK and Python. The kit is the same file for file in every bake (test_bake.py), so a
bake with every option on and one with every option off cover every option combination."""

import os
import subprocess
from pathlib import Path

import pytest

from harness.baked_project import BakedProject

KIT_TESTS = Path(__file__).parent / "kit"
BAKES = {
    "defaults": {},
    "options-off": {
        "project_name": "Fraud Screening",
        "task_definition_name": "score_transaction",
        "kubernetes": False,
        "metrics": False,
    },
}


@pytest.mark.parametrize("answers", BAKES.values(), ids=BAKES.keys())
def test_the_kit_passes_its_tests_inside_a_baked_project(baker, answers: dict[str, object]) -> None:
    project: BakedProject = baker(**answers).install()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "WORKER_", "PYTEST_"))},
        "PROJECT_PACKAGE": project.package,
        "PROJECT_TASK": project.task_name,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [str(project.bin / "python"), "-m", "pytest", "-c", str(KIT_TESTS / "pytest.ini"), str(KIT_TESTS), "-q"]
    result = subprocess.run(command, cwd=project.path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]
