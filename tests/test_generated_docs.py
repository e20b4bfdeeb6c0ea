"""What a new user meets in the generated project: every documented command has its make target,
`make install` finds a Python that fits, the defaults are generic, the README is what a team keeps,
every link and cited doc exists in the project itself, the steps printed after generation are the
README's Quickstart, and what the commands leave behind stays out of git."""

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.baked_project import TEMPLATE_ROOT, python_for


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
    assert commands == ["worker", "register", "run-workflow", "doctor", "health", "new-worker", "schemas", "capture"]
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


def test_make_capture_passes_the_task_redactions_limit_and_force(baker: Any) -> None:
    project = baker()
    given = make(project.path, "-n", "capture", "TASK=t-1", "REDACT=password api_key", "MAX_BYTES=9", "FORCE=1")
    assert " ".join(given.stdout.replace("\\\n", " ").split()) == (  # a recipe line continued with a backslash
        f".venv/bin/python -m {project.package} capture t-1 --redact 'password' --redact 'api_key'"
        " --max-bytes '9' --force"
    )


def path_with(tmp_path: Path, **interpreters: str) -> dict[str, str]:
    """An environment whose PATH has make and the given interpreters by name, and nothing else: whatever
    Pythons the machine has in /usr/bin, these are the only ones the Makefile can find."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_binary = shutil.which("make")
    assert make_binary is not None
    for name, target in {"make": make_binary, **interpreters}.items():
        (bin_dir / name).symlink_to(target)
    return {**os.environ, "PATH": str(bin_dir)} | {"PYENV_VERSION": "system"}


def test_make_install_finds_python3_when_the_versioned_binary_is_missing(baker: Any, tmp_path: Path) -> None:
    project = baker(python_version="3.12")  # no python3.12 on the PATH below; python3 is one
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


def quickstart_steps(readme: str) -> list[str]:
    """The Quickstart's commands, without the ones it marks optional."""
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1) for line in block.splitlines()]
    return [command.strip() for command, comment in lines if not comment.strip().startswith("optional")]


def test_the_steps_printed_after_generation_are_the_quickstart(baker: Any) -> None:
    spec = importlib.util.spec_from_file_location("post_gen_project", TEMPLATE_ROOT / "hooks" / "post_gen_project.py")
    assert spec and spec.loader
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    project = baker()
    printed = hook.next_steps(project.answers).splitlines()
    assert printed[1].strip() == f"cd {project.path.name}"
    steps = [line.split("#", 1)[0].strip() for line in printed[2:]]
    assert steps == quickstart_steps((project.path / "README.md").read_text())
    assert steps[0] == "make install" and steps[-1] == "make run-workflow"


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings: lowercase, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


OPTION_SETS = {"defaults": {}, "options-off": {"kubernetes": False, "metrics": False}}


@pytest.mark.parametrize("answers", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_every_link_and_cited_doc_is_in_the_project_itself(baker: Any, answers: dict[str, Any]) -> None:
    """A project leaves the template repository behind: nothing it links or cites may live only there."""
    project = baker(**answers)
    documents = [path for path in project.files() if path.suffix == ".md"]
    for document in documents:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", document.read_text()):
            if "://" in target:
                continue
            linked = (document.parent / target).resolve() if target else document
            where = f"{document.relative_to(project.path)} links to {target}#{anchor}"
            assert linked.is_file() and linked.is_relative_to(project.path), where
            if anchor:
                assert anchor in heading_anchors(linked.read_text()), where
    for path in project.files():
        if path.suffix in {".lock", ".json"}:
            continue
        for cited in set(re.findall(r"(?<![\w/.])docs/[\w-]+\.md\b", path.read_text(errors="replace"))):
            assert (project.path / cited).is_file(), f"{path.relative_to(project.path)} cites {cited}"
