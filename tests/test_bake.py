"""Baking: every option combination renders completely and passes its own tests, ruff and mypy;
bad answers are refused with nothing written."""

import itertools
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from tests.harness.baked_project import DEFAULTS, TEMPLATE_ROOT, BakedProject

# Jinja left behind. GitHub's own `${{ ... }}` expressions are not Jinja.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#")
COMBINATIONS = [
    {"python_version": python, "kubernetes": kubernetes, "metrics": metrics}
    for python, kubernetes, metrics in itertools.product(DEFAULTS["python_version"], (True, False), (True, False))
]
RENAMED: dict[str, Any] = {
    "project_name": "Billing Ops",
    "project_slug": "billing-ops",
    "package_name": "billing_ops",
    "task_definition_name": "charge_card_v2",
    "workflow_name": "billing_flow",
    "description": 'Charges cards: "fast", O\'Brien-safe \\ and <typed>.',
    "owner_email": "billing.team+ops@example.co.uk",
}


def combination_id(answers: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in answers.items())


def assert_fully_rendered(project: BakedProject) -> None:
    for path in project.files():
        text = path.read_text(errors="replace")
        match = UNRENDERED.search(text)
        assert match is None, f"unrendered template syntax in {path.relative_to(project.path)}: {match}"
        assert not UNRENDERED.search(str(path.relative_to(project.path))), f"unrendered file name: {path}"


def assert_checks_pass(project: BakedProject) -> None:
    """What `make check` runs, in the project's own virtualenv."""
    project.install()
    project.run("ruff", "check", ".")
    project.run("ruff", "format", "--check", ".")
    project.run("mypy")
    result = project.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")
    assert " passed" in result.stdout


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_every_combination_renders_and_passes_its_own_checks(baker: Any, answers: dict[str, Any]) -> None:
    project = baker(**answers)
    assert_fully_rendered(project)
    assert project.answers["python_version"] == answers["python_version"]
    assert (project.path / "k8s").exists() == answers["kubernetes"]
    assert tomllib.loads((project.path / "pyproject.toml").read_text())["project"]["requires-python"] == (
        f">={answers['python_version']}"
    )
    assert_checks_pass(project)


def test_renamed_project_uses_the_new_names_everywhere(baker: Any) -> None:
    project = baker(**RENAMED)
    assert project.path.name == "billing-ops"
    assert_fully_rendered(project)
    package = project.path / "src" / "billing_ops"
    assert (package / "definitions" / "tasks" / "charge_card_v2.json").is_file()
    assert (package / "definitions" / "workflows" / "billing_flow.json").is_file()
    assert 'task_definition_name="charge_card_v2"' in (package / "workers" / "invoice_total.py").read_text()
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == RENAMED["description"]
    leftovers = [p for p in project.files() if "invoice_worker" in p.read_text(errors="replace")]
    assert leftovers == []
    assert_checks_pass(project)


def test_lock_file_pins_every_declared_dependency(baker: Any) -> None:
    project = baker()
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())["project"]
    declared = pyproject["dependencies"] + pyproject["optional-dependencies"]["dev"]
    locked = {line.split(";")[0].strip() for line in (project.path / "requirements.lock").read_text().splitlines()}
    assert [pin for pin in declared if pin not in locked] == []


def test_answers_are_recorded_for_replay(baker: Any, tmp_path: Path) -> None:
    project = baker(**RENAMED)
    replayed = cookiecutter(
        str(TEMPLATE_ROOT), replay=str(project.path / ".cookiecutter.json"), output_dir=str(tmp_path / "replay")
    )
    assert sorted(p.relative_to(replayed) for p in Path(replayed).rglob("*")) == sorted(
        p.relative_to(project.path) for p in project.path.rglob("*")
    )


def test_answers_shaped_like_code_stay_data(baker: Any, tmp_path: Path) -> None:
    marker = tmp_path / "INJECTED"
    payload = f"x'''\"\"\" + __import__('os').system('touch {marker}') \\"
    name = "x'''\"\"\" + __import__('os').system('touch INJECTED') \\"
    project = baker(project_name=name, project_slug="safe-name", description=payload)
    assert not marker.exists()
    assert not list(tmp_path.rglob("INJECTED"))
    readme = (project.path / "README.md").read_text()
    assert name in readme
    assert payload in readme
    assert tomllib.loads((project.path / "pyproject.toml").read_text())["project"]["description"] == payload


BAD_ANSWERS = [
    ({"project_slug": "My Worker"}, "project_slug"),
    ({"project_slug": "../outside"}, "project_slug"),
    ({"project_slug": "/tmp/abs"}, "project_slug"),
    ({"package_name": "import"}, "package_name"),
    ({"package_name": "logging"}, "package_name"),
    ({"task_definition_name": "compute invoice"}, "task_definition_name"),
    ({"task_definition_name": 'say "hi"'}, "task_definition_name"),
    ({"task_definition_name": "back\\slash"}, "task_definition_name"),
    ({"workflow_name": "wf'); drop"}, "workflow_name"),
    ({"owner_email": "nobody"}, "owner_email"),
]


@pytest.mark.parametrize(
    ("answers", "field"), BAD_ANSWERS, ids=[field + str(i) for i, (_, field) in enumerate(BAD_ANSWERS)]
)
def test_bad_answers_are_refused_and_nothing_is_written(
    answers: dict[str, Any], field: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_ROOT), no_input=True, output_dir=str(output), extra_context=answers)
    assert list(output.iterdir()) == []
    assert not (tmp_path / "outside").exists()
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"ERROR: {field}: ")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("package_name=class", "ERROR: package_name: must not be a Python keyword"),
        # Choices are checked by cookiecutter itself, before any hook runs.
        ("python_version=3.9", "3.9 provided for choice variable python_version"),
    ],
)
def test_command_line_refusal_exits_non_zero(answer: str, message: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE_ROOT), answer],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cruft_check_and_update_follow_the_template(tmp_path: Path) -> None:
    """A project created with cruft records the template commit and takes later template changes."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_ROOT, template, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc"))

    def git(*args: str, cwd: Path = template) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "v1", "--allow-empty")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    cruft = [sys.executable, "-m", "cruft"]
    projects = tmp_path / "projects"
    projects.mkdir()
    subprocess.run([*cruft, "create", "--no-input", str(template)], cwd=projects, check=True, capture_output=True)
    project = projects / DEFAULTS["project_name"].lower().replace(" ", "-")
    assert (project / ".cruft.json").is_file()
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baked", cwd=project)
    assert subprocess.run([*cruft, "check"], cwd=project, capture_output=True).returncode == 0

    gitignore = template / "{{cookiecutter.project_slug}}" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "\n# Local scratch files\nscratch/\n")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "v2")
    assert subprocess.run([*cruft, "check"], cwd=project, capture_output=True).returncode != 0
    update = subprocess.run([*cruft, "update", "-y"], cwd=project, capture_output=True, text=True)
    assert update.returncode == 0, update.stdout + update.stderr
    assert "scratch/" in (project / ".gitignore").read_text()
    git("add", "-A", cwd=project)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "update", cwd=project)
    assert subprocess.run([*cruft, "check"], cwd=project, capture_output=True).returncode == 0
