# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Development commands (`new-worker`, `schemas`) write into the project's checkout: the folder with its
pyproject.toml at or above the working directory, never the installed package (in an image that is
site-packages, and there is nothing there to edit).
"""

from pathlib import Path

from ..project import Project


class NotACheckout(Exception):
    """The working directory is not inside the project's checkout."""


def checkout_project(project: Project, start: Path | None = None) -> Project:
    """`project` with its package folder in the checkout found from `start` (the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            source = folder / "src" / project.package
            if (source / "workers" / "__init__.py").is_file():
                return Project(project.package, source_dir=source)
            break
    raise NotACheckout(
        f"a development command: run it in the project's checkout (no pyproject.toml with src/{project.package}/ "
        f"at or above {here})"
    )
