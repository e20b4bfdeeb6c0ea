"""Refresh the generated project's uv.lock, one per Python version the template offers.

    .venv/bin/python -m scripts.lock                       # after changing the generated pyproject.toml
    .venv/bin/python -m scripts.lock --upgrade-package X   # or --upgrade: newer versions from PyPI

A lock depends on the Python version (requires-python changes the resolution and the wheels listed),
so templates/uv-lock/ holds one per version and the generated uv.lock includes the one its answer
picks. Each is made by baking the default answers, locking with uv, and putting the project's name
back as template syntax: the project entry is the only place a lock names the project.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

from harness.baked_project import python_for

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
LOCKS = TEMPLATE_ROOT / "templates" / "uv-lock"
SLUG_IN_LOCK = 'name = "{slug}"\nversion = "0.1.0"\nsource = {{ editable = "." }}\n'
SLUG_TEMPLATE = 'name = "{{ cookiecutter.project_slug }}"\nversion = "0.1.0"\nsource = { editable = "." }\n'


def lock_path(python_version: str) -> Path:
    return LOCKS / f"python{python_version}.lock"


def refresh(python_version: str, uv_arguments: list[str]) -> Path:
    with tempfile.TemporaryDirectory(prefix="uv-lock-") as scratch:
        project = Path(
            cookiecutter(
                str(TEMPLATE_ROOT),
                no_input=True,
                default_config=True,
                output_dir=scratch,
                extra_context={"python_version": python_version},
            )
        )
        slug = json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]["project_slug"]
        rendered = project / "uv.lock"
        if not rendered.read_text().strip():
            rendered.unlink()  # no lock for this version yet: start from scratch
        command = [sys.executable, "-m", "uv", "lock", "--quiet", "--python", python_for(python_version), *uv_arguments]
        subprocess.run(command, cwd=project, check=True)
        text = (project / "uv.lock").read_text()
        entry = SLUG_IN_LOCK.format(slug=slug)
        if text.count(entry) != 1:
            raise SystemExit(f"uv.lock for Python {python_version}: the project entry for {slug} was not found once")
        LOCKS.mkdir(parents=True, exist_ok=True)
        target = lock_path(python_version)
        # No newline at the end: the generated uv.lock adds its own after the include.
        target.write_text(text.replace(entry, SLUG_TEMPLATE).rstrip("\n"))
        shutil.rmtree(project)
    return target


def main(argv: list[str]) -> int:
    versions = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())["python_version"]
    for version in versions:
        print(f"locked {refresh(version, argv).relative_to(TEMPLATE_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
