# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The team's project as the kit sees it: the package whose `workers.WORKERS` lists what is served
and whose `definitions/` folder holds the task and workflow JSON.

The team's `__main__.py` names the package (`main("my_worker")`); commands and worker processes
get this object from there, never a path of the kit's own.
"""

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Project:
    package: str
    # The package's folder in a checkout (development commands write there); None: where it is installed.
    source_dir: Path | None = None

    @property
    def package_dir(self) -> Path:
        """The package's folder, found without importing it (the supervisor stays free of the SDK)."""
        if self.source_dir is not None:
            return self.source_dir
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"no package named {self.package!r} is installed")
        return Path(next(iter(spec.submodule_search_locations)))

    @property
    def workers_dir(self) -> Path:
        return self.package_dir / "workers"

    @property
    def definitions_dir(self) -> Path:
        return self.package_dir / "definitions"

    @property
    def tasks_dir(self) -> Path:
        return self.definitions_dir / "tasks"

    @property
    def workflows_dir(self) -> Path:
        return self.definitions_dir / "workflows"

    @property
    def task_defaults_file(self) -> Path:
        """What every task definition starts from; a task's own JSON overrides any of it."""
        return self.definitions_dir / "task-defaults.json"

    @property
    def checkout_dir(self) -> Path | None:
        """The project's checkout (the folder of its pyproject.toml), for a package in `src/` of one."""
        root = self.package_dir.parents[1]
        return root if self.package_dir.parent.name == "src" and (root / "pyproject.toml").is_file() else None

    def worker_functions(self) -> list[Callable[..., Any]]:
        """`WORKERS` of the package's `workers` module: the functions served, in order. Imports them
        (and so the SDK, which their `@worker_task` needs)."""
        module = importlib.import_module(f"{self.package}.workers")
        workers = getattr(module, "WORKERS", None)
        if not isinstance(workers, list):
            raise TypeError(f"{self.package}.workers must define WORKERS, a list of @worker_task functions")
        return workers
