"""Fixtures shared by every tier: baking, and the real Conductor server."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer


@pytest.fixture(autouse=True, scope="session")
def private_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # cookiecutter leaves each rendered hook script in TMPDIR; keep them out of the system's /tmp.
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("tmpdir"))


@pytest.fixture(autouse=True, scope="session")
def private_cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every cookiecutter and cruft run in the suite reads this config, never the developer's ~/.cookiecutterrc,
    and writes its replay files and clones here, not into the home directory."""
    root = tmp_path_factory.mktemp("cookiecutter")
    config = root / "config.yaml"
    config.write_text(f"cookiecutters_dir: {root / 'cookiecutters'}\nreplay_dir: {root / 'replay'}\n")
    os.environ["COOKIECUTTER_CONFIG"] = str(config)


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
