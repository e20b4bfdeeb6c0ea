"""Generation from a name of the user's own: punctuation in the project name still derives a valid
slug and package, and a refused answer prints its one line first, on stderr, with nothing written."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import TEMPLATE_ROOT


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Shipping: Labels (EU)", "shipping-labels-eu"),
        ("Café Ünïcode", "cafe-unicode"),
        ("  Many   Spaces  ", "many-spaces"),
        ("Billing_Ops v2.1", "billing-ops-v2-1"),
        ("O'Brien's \"Quotes\" & Co.", "o-brien-s-quotes-co"),
    ],
)
def test_a_name_with_punctuation_derives_a_valid_slug_and_package(baker: Any, name: str, slug: str) -> None:
    project = baker(project_name=name)
    assert project.path.name == slug
    assert project.answers["project_slug"] == slug
    assert project.package == slug.replace("-", "_")
    assert (project.path / "src" / project.package / "__init__.py").is_file()


def test_a_refused_answer_is_one_line_on_stderr_and_nothing_is_written(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(tmp_path),
            str(TEMPLATE_ROOT),
            "package_name=class",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == 'ERROR: package_name: must not be a Python keyword (got "class")\n'
    # cookiecutter's own report of any failed hook, on stdout; no hook can silence it (see README).
    assert result.stdout.startswith("ERROR: Stopping generation because pre_gen_project hook script didn't exit")
    assert list(tmp_path.iterdir()) == []
