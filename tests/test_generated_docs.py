"""What a new user meets in the generated project: every documented command has its make target,
`make install` finds a Python that fits, the defaults are generic, the README is what a team keeps,
and what the commands leave behind stays out of git."""

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from harness.baked_project import python_for


def make(project_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=project_path,
        capture_output=True,
        text=True,
        env=env or os.environ.copy(),
        check=False,
    )


def documented_commands(readme: str) -> list[str]:
    section = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z-]+)", section, flags=re.MULTILINE)


def test_every_documented_command_has_a_make_target(baker: Any) -> None:
    project = baker()
    commands = documented_commands((project.path / "README.md").read_text())
    assert commands == ["worker", "register", "run-workflow", "doctor", "health", "new-worker", "schemas"]
    for command in commands:
        result = make(project.path, "-n", command)
        assert result.returncode == 0, result.stderr
        assert f"-m {project.package} {command}" in result.stdout


def test_make_run_workflow_passes_input_domain_workflow_and_timeout(baker: Any) -> None:
    project = baker()
    plain = make(project.path, "-n", "run-workflow").stdout.strip()
    assert plain == f".venv/bin/python -m {project.package} run-workflow"
    options = ['INPUT={"amounts": [1, 2]}', "DOMAIN=blue", "WORKFLOW=w", "TIMEOUT=9"]
    given = make(project.path, "-n", "run-workflow", *options)
    assert given.stdout.strip() == (
        f".venv/bin/python -m {project.package} run-workflow --input '{{\"amounts\": [1, 2]}}' --domain 'blue'"
        " --workflow 'w' --timeout '9'"
    )


def path_with(tmp_path: Path, **interpreters: str) -> dict[str, str]:
    """An environment whose PATH has only make, the shell tools, and the given interpreters by name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in interpreters.items():
        (bin_dir / name).symlink_to(target)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"} | {"PYENV_VERSION": "system"}


def test_make_install_finds_python3_when_the_versioned_binary_is_missing(baker: Any, tmp_path: Path) -> None:
    project = baker(python_version="3.12")  # /usr/bin has no python3.12 here; python3 is one
    env = path_with(tmp_path, python3=python_for("3.12"))
    result = make(project.path, "-n", "install", env=env)
    assert result.returncode == 0, result.stderr
    assert "python3 -m venv .venv" in result.stdout


def test_make_install_refuses_a_python_too_old_with_one_line(baker: Any, tmp_path: Path) -> None:
    project = baker(python_version="3.13")
    env = path_with(tmp_path, python3=python_for("3.11"), python=python_for("3.11"))
    result = make(project.path, "install", env=env)
    assert result.returncode != 0
    assert "make install: needs Python 3.13 or newer" in result.stderr
    assert not (project.path / ".venv").exists()


def test_default_description_names_the_project_not_an_invoice(baker: Any) -> None:
    project = baker(project_name="Shipping Labels", task_definition_name="print_label")
    readme = (project.path / "README.md").read_text()
    assert readme.splitlines()[2] == "Shipping Labels: a Conductor worker in Python."
    assert "invoice" not in readme.lower()
    assert "invoice" not in (project.path / "pyproject.toml").read_text().lower()


def test_readme_is_what_a_team_keeps(baker: Any) -> None:
    project = baker()
    readme = (project.path / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    for kept in (
        "Quickstart",
        "Commands",
        "Configuration",
        "Adding a worker",
        "Sizing",
        "Deploying",
        "Troubleshooting",
    ):
        assert kept in headings
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert f"Python {project.answers['python_version']} or newer" in quickstart
    assert "Docker" in quickstart
    assert "cp .env.example .env" in quickstart
    # The template's own measurements live in its docs/, not in every project's README.
    assert not re.search(r"[Mm]easured|\d+ MB|tasks/s with", readme)
    # It was 19 KB with the template's own figures; how to build, ship and run it is in docs/deploying.md.
    assert len(readme.encode()) < 14_000
    assert "[docs/deploying.md](docs/deploying.md)" in readme
    assert (project.path / "docs" / "deploying.md").is_file()


def test_what_the_commands_leave_behind_is_not_committed(baker: Any) -> None:
    project = baker()
    subprocess.run(["git", "init", "-q"], cwd=project.path, check=True)
    logs = project.path / "e2e-logs"  # scripts/e2e.sh's worker log and result
    logs.mkdir()
    (logs / "worker.log").write_text("log\n")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=project.path, capture_output=True, text=True
    )
    assert "e2e-logs" not in status.stdout
    assert ".env.example" in status.stdout  # the listing itself works
