"""Fixtures shared by every tier: baking, and the real Conductor server."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.baked_project import BakedProject, bake
from tests.harness.conductor_server import ConductorServer


@pytest.fixture(autouse=True, scope="session")
def private_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # cookiecutter leaves each rendered hook script in TMPDIR; keep them out of the system's /tmp.
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("tmpdir"))


@pytest.fixture
def baker(tmp_path: Path) -> Callable[..., BakedProject]:
    counter = iter(range(1000))

    def _bake(**answers: Any) -> BakedProject:
        return bake(tmp_path / f"bake{next(counter)}", **answers)

    return _bake


@pytest.fixture(scope="session")
def conductor() -> Iterator[ConductorServer]:
    """The real Conductor OSS server, started once per session. No jar or JDK fails the tier loudly."""
    with ConductorServer() as server:
        yield server
