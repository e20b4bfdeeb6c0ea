"""Tasks captured from a server (`make capture TASK=<id>`, see docs/replaying-tasks.md), replayed through
today's workers: each case under tests/workers/cases/<task type>/ must still end as it did on the server.

This module comes with the template; the cases are yours, and every worker's are picked up here."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conductor_worker_kit.project import Project
from conductor_worker_kit.replay import Case, load_cases, replay, served

ROOT = Path(__file__).parents[1]
CASES = load_cases(ROOT / "tests" / "workers" / "cases")
NO_CASES = pytest.param(None, id="none", marks=pytest.mark.skip(reason="no captured tasks: make capture TASK=<id>"))


@pytest.fixture(scope="module")
def workers() -> dict[str, Callable[..., Any]]:
    return served(Project("{{ cookiecutter.package_name }}"))


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES] or [NO_CASES])
def test_a_captured_task_ends_as_it_did(case: Case, workers: dict[str, Callable[..., Any]]) -> None:
    differences = replay(case, workers)
    if differences:
        where = case.path.relative_to(ROOT)
        pytest.fail(f"case {case.name} ({where}) ends differently now:\n  " + "\n  ".join(differences), pytrace=False)
