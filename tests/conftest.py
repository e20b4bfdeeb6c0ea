"""Fixtures shared by every tier: baking, and the real Conductor server; how tests share the workers.

`scripts/test` runs the suite on two pytest-xdist workers (`--dist loadgroup`). Each worker starts its own
Conductor server when a test asks for one. The tests of one module run on one worker, so a module-scoped
fixture (a baked project, the Docker engine) is made once; the modules in SPREAD share none and each of
their tests is long, so those tests go to whichever worker is free."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import BakedProject, bake
from harness.conductor_server import ConductorServer

SPREAD = {"tests/test_bake.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::")[0]
        if module not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(module))


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
    """The real Conductor OSS server, started once per session. No jar or JDK fails the tier loudly.
    Its access log (one line per request) is what the benchmark reads the server's time per result from."""
    with ConductorServer(access_log=True) as server:
        yield server
