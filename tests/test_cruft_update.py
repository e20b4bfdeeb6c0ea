"""Template updates are boring. A project made with cruft and changed the way teams change one (the example
worker edited, two workers added with `new-worker`, a dependency added with `uv add`, a task definition
field changed, the README extended) takes a later template commit (a kit file and its `__version__`, the
Dockerfile, the Makefile, the autoscaler, a base image tag, a bumped pin and a new one, the template's
lock) through `cruft update`: no conflict marker, no .rej file, the team's files as they were, the
template's changes all there, and `make check` green after the documented `make lock` and `make install`.

How cruft 2.16 applies an update: `git apply --3way` of the diff between the template's old and new
renders. A conflict leaves markers in the file, and cruft still reports success (exit 0). Where git has
no copy of a file's old render (a shallow CI checkout, for a file the team changed), it applies that
file's hunks by their 3 lines of context; when that fails, cruft retries with `git apply --reject`,
which leaves .rej files. So the generated pyproject.toml keeps 3 unchanged lines between the template's
pins and the team's, and lists uv.lock in `[tool.cruft] skip` (`make lock` re-makes it).
"""

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from shutil import copytree, ignore_patterns
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from harness.baked_project import TEMPLATE_ROOT, BakedProject

ANSWERS = {"project_name": "Ledger Worker"}
# Every version the scenario adds or moves to is exact: nothing newer on PyPI slips in.
TEAM_DEPENDENCY, TEAM_VERSION = "tomlkit", "0.15.3"
# The template's later commit moves a pin (httpx, to a version other than today's) and adds one at the end
# of its part of the list, right above the lines that keep it apart from the team's.
MOVED_PIN = ("httpx", "0.28.1", "0.29.0")  # the version it moves to: the first of these that is not today's
LAST_TEMPLATE_PIN = '    "sniffio==1.3.1",\n'
NEW_TEMPLATE_PIN = '    "typing-extensions==4.16.0",\n'
KIT_COMMENT = "# Read once, at start-up: a changed .env takes effect when the worker restarts.\n"
DOCKERFILE_LINE = "    PYTHONFAULTHANDLER=1 \\\n"
MAKEFILE_COMMENT = "# Unit tests only; `make integration` runs the ones that need a server.\n"
REPLAY_COMMENT = "# Cases are read at collection: a new case file needs no change here.\n"
CASE = "tests/workers/cases/{task}/0a1b2c3d.json"  # a captured task (`capture TASK_ID`): the team's
COOLDOWN = ("  cooldownPeriod: 300\n", "  cooldownPeriod: 600\n")  # k8s/scaledobject.yaml, where new-worker adds
CONFLICT_MARKER = re.compile(rb"^(<{7}|>{7})( |$)", re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "Team", "GIT_COMMITTER_NAME": "Team"}
    identity |= {"GIT_AUTHOR_EMAIL": "team@example.com", "GIT_COMMITTER_EMAIL": "team@example.com"}
    result = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **identity}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "cruft", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: expected {old!r} once"
    path.write_text(text.replace(old, new))


def insert_after(path: Path, anchor: str, lines: str) -> None:
    edit(path, anchor, anchor + lines)


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file git sees in the checkout (tracked, or new and not ignored), by path."""
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return {name: (repo / name).read_bytes() for name in sorted(set(listed)) if name and (repo / name).is_file()}


def render(template: Path, answers: dict[str, Any], output: Path) -> dict[str, bytes]:
    """The template as it is now, rendered with a project's answers: what a fresh project gets."""
    path = Path(cookiecutter(str(template), no_input=True, output_dir=str(output), extra_context=answers))
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def moved_pin(pyproject: str) -> tuple[str, str]:
    """The template's pin of MOVED_PIN's package as it is, and as the later commit writes it."""
    name, *versions = MOVED_PIN
    (current,) = re.findall(rf'"{name}==([^"]+)"', pyproject)
    target = next(version for version in versions if version != current)
    return f'"{name}=={current}"', f'"{name}=={target}"'


def team_changes(project: BakedProject) -> None:
    package = project.path / "src" / project.package
    edit(package / "workers" / f"{project.task_name}.py", "MAX_ITEMS = 1000\n", "MAX_ITEMS = 500\n")
    project.cli("new-worker", "send_receipt", check=True)
    project.cli("new-worker", "archive_invoice", "--async", check=True)
    project.run("uv", "add", f"{TEAM_DEPENDENCY}=={TEAM_VERSION}")
    task_file = package / "definitions" / "tasks" / f"{project.task_name}.json"
    task = json.loads(task_file.read_text())
    task_file.write_text(json.dumps({**task, "retryCount": 5}, indent=2) + "\n")
    on_call = "## On call\n\nPage #ledger-oncall. Invoices over 500 lines are split upstream.\n\n## Quickstart\n"
    edit(project.path / "README.md", "## Quickstart\n", on_call)
    case = project.path / CASE.format(task=project.task_name)
    case.parent.mkdir(parents=True)
    expected = {"status": "FAILED_WITH_TERMINAL_ERROR", "reason": "order_id must be a non-empty string"}
    case.write_text(json.dumps({"taskType": project.task_name, "input": {}, "expected": expected}) + "\n")


def template_changes(template: Path, python_version: str) -> str:
    """A later template commit: what the template's maintainers change between two releases."""
    root = template / "{{cookiecutter.project_slug}}"
    kit = root / "src" / "conductor_worker_kit"
    config = kit / "config.py"
    header, rest = config.read_text().split('"""', 1)  # the kit's header comment, then the docstring
    config.write_text(header + KIT_COMMENT + '"""' + rest)
    init = kit / "__init__.py"
    text, bumped = re.subn(
        r'^__version__ = "(\d+)\.(\d+)\.\d+"$',
        lambda m: f'__version__ = "{m[1]}.{int(m[2]) + 1}.0"',
        init.read_text(),
        flags=re.MULTILINE,
    )
    assert bumped == 1, "the kit's __version__ line"
    init.write_text(text)
    insert_after(root / "Dockerfile", "    PYTHONDONTWRITEBYTECODE=1 \\\n", DOCKERFILE_LINE)
    edit(root / "Makefile", "\ntest:\n", "\n" + MAKEFILE_COMMENT + "test:\n")
    edit(root / "tests" / "test_replayed_tasks.py", "\nROOT = ", "\n" + REPLAY_COMMENT + "ROOT = ")
    edit(root / "k8s" / "scaledobject.yaml", *COOLDOWN)
    tag = json.loads((template / "cookiecutter.json").read_text())["_python_image_tags"][python_version]
    next_patch = re.sub(r"^(\d+\.\d+\.)(\d+)", lambda m: f"{m[1]}{int(m[2]) + 1}", tag)
    edit(template / "cookiecutter.json", f'"{tag}"', f'"{next_patch}"')
    pyproject = root / "pyproject.toml"
    edit(pyproject, *moved_pin(pyproject.read_text()))
    insert_after(pyproject, LAST_TEMPLATE_PIN, NEW_TEMPLATE_PIN)
    # As a maintainer does after changing a pin (scripts/lock.py), for the project's Python version.
    refresh = "import sys; from scripts.lock import refresh; refresh(sys.argv[1], ['--offline'])"
    subprocess.run([sys.executable, "-c", refresh, python_version], cwd=template, check=True, capture_output=True)
    return commit_all(template, "B: kit comment and version, Dockerfile, Makefile, base image, pins")


@dataclass
class Update:
    project: BakedProject
    before: dict[str, bytes]  # the team's last commit
    after: dict[str, bytes]  # the same checkout after `cruft update`
    baked: dict[str, bytes]  # the template's first commit, rendered (the project's first commit)
    fresh: dict[str, bytes]  # the template's later commit, rendered with the same answers
    shallow_after: dict[str, bytes]  # a depth-1 clone of the team's last commit after `cruft update`
    commits: tuple[str, str]
    output: str


@pytest.fixture(scope="module")
def update(tmp_path_factory: pytest.TempPathFactory) -> Update:
    root = tmp_path_factory.mktemp("cruft-update")
    template = root / "template"
    copytree(TEMPLATE_ROOT, template, ignore=ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".*_cache"))
    git(template, "init", "-q", "-b", "main")
    commit_a = commit_all(template, "A")

    (root / "projects").mkdir()
    cruft(root / "projects", "create", str(template), "--no-input", "--extra-context", json.dumps(ANSWERS))
    path = next((root / "projects").iterdir())
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "Baked from the template")
    answers = json.loads((path / ".cookiecutter.json").read_text())["cookiecutter"]
    project = BakedProject(path=path, answers=answers).install()
    team_changes(project)
    commit_all(path, "Our workers, a dependency, retries, the README")
    # What CI's checkout (actions/checkout: one commit, no history) holds of the same project.
    shallow = root / "shallow"
    git(root, "clone", "-q", "--depth", "1", path.as_uri(), str(shallow))

    baked = render(template, answers, root / "baked")
    commit_b = template_changes(template, answers["python_version"])
    before = snapshot(path)
    output = cruft(path, "update", "--skip-apply-ask", "--allow-untracked-files")
    cruft(shallow, "update", "--skip-apply-ask", "--allow-untracked-files")
    return Update(
        project=project,
        before=before,
        after=snapshot(path),
        baked=baked,
        fresh=render(template, answers, root / "fresh"),
        shallow_after=snapshot(shallow),
        commits=(commit_a, commit_b),
        output=output.stdout + output.stderr,
    )


def leftovers(files: dict[str, bytes]) -> list[str]:
    return [name for name, data in files.items() if name.endswith((".rej", ".orig")) or CONFLICT_MARKER.search(data)]


def test_the_update_merges_without_a_conflict_or_a_rej_file(update: Update) -> None:
    assert leftovers(update.after) == [], update.output
    assert git(update.project.path, "ls-files", "--unmerged") == ""
    recorded = [json.loads(files[".cruft.json"])["commit"] for files in (update.before, update.after)]
    assert recorded == list(update.commits)  # made from the first commit, now at the later one


def test_the_update_changes_exactly_what_the_template_changed_and_keeps_uv_lock(update: Update) -> None:
    changed_by_template = {name for name in update.fresh if update.baked.get(name) != update.fresh[name]}
    kit = "src/conductor_worker_kit"
    assert {f"{kit}/config.py", f"{kit}/__init__.py", "Dockerfile", "Makefile", "pyproject.toml"} <= changed_by_template
    assert {"k8s/scaledobject.yaml", "uv.lock"} <= changed_by_template
    changed_by_update = {name for name in update.after if update.before.get(name) != update.after[name]}
    assert changed_by_update == (changed_by_template - {"uv.lock"}) | {".cruft.json"}


def test_the_teams_files_are_as_they_were(update: Update) -> None:
    package = f"src/{update.project.package}"
    yours = (f"{package}/workers/", f"{package}/definitions/", "tests/workers/")
    team_files = [name for name in update.before if name.startswith(yours)]
    assert f"{package}/workers/send_receipt.py" in team_files
    assert f"{package}/workers/archive_invoice.py" in team_files
    assert CASE.format(task=update.project.task_name) in team_files
    for name in [*team_files, "README.md", "uv.lock"]:
        assert update.after[name] == update.before[name], name


def test_the_templates_changes_arrived(update: Update) -> None:
    """Every file the team left alone is now what a fresh project of the later commit gets."""
    untouched_by_team = {name for name in update.fresh if update.before.get(name) == update.baked.get(name)}
    for name in sorted(untouched_by_team - {"uv.lock"}):
        assert update.after[name] == update.fresh[name], name
    kit = "src/conductor_worker_kit"
    assert KIT_COMMENT.encode() in update.after[f"{kit}/config.py"]
    assert update.after[f"{kit}/__init__.py"] != update.before[f"{kit}/__init__.py"]
    assert DOCKERFILE_LINE.encode() in update.after["Dockerfile"]
    assert MAKEFILE_COMMENT.encode() in update.after["Makefile"]
    assert REPLAY_COMMENT.encode() in update.after["tests/test_replayed_tasks.py"]


def test_a_file_both_changed_has_both_changes(update: Update) -> None:
    """k8s/scaledobject.yaml: the template's new cooldown and the triggers new-worker appended.
    pyproject.toml: the template's pins (one bumped, one new), then the team's dependency."""
    name = "k8s/scaledobject.yaml"
    assert update.before[name].startswith(update.baked[name])
    appended = update.before[name].removeprefix(update.baked[name])
    assert b"taskType=send_receipt" in appended and b"taskType=archive_invoice" in appended
    assert update.after[name] == update.fresh[name] + appended
    assert moved_pin(update.before["pyproject.toml"].decode())[1].encode() in update.after["pyproject.toml"]
    expected = tomllib.loads(update.fresh["pyproject.toml"].decode())
    team_pins = tomllib.loads(update.before["pyproject.toml"].decode())["project"]["dependencies"][-1:]
    assert team_pins[0].startswith(f"{TEAM_DEPENDENCY}==")  # `uv add` appended it, an exact pin
    expected["project"]["dependencies"] += team_pins
    assert tomllib.loads(update.after["pyproject.toml"].decode()) == expected


def test_a_shallow_checkout_takes_the_same_update(update: Update) -> None:
    """CI checks out one commit: git has no old render of pyproject.toml to merge with and applies the diff
    by its context lines instead. The 3 lines between the template's pins and the team's are enough."""
    assert leftovers(update.shallow_after) == []
    assert update.shallow_after == update.after


def test_make_lock_then_make_check_is_green(update: Update) -> None:
    project = update.project
    stale = project.run("uv", "lock", "--check", check=False)
    assert stale.returncode != 0, "uv.lock is skipped by cruft: after a pin changes, `make lock` is the next step"
    project.run("make", "lock")
    locked = {p["name"]: p["version"] for p in tomllib.loads((project.path / "uv.lock").read_text())["package"]}
    moved = moved_pin((TEMPLATE_ROOT / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text())[1]
    assert (locked["httpx"], locked["typing-extensions"], locked[TEAM_DEPENDENCY]) == (
        moved.strip('"').split("==")[1],
        "4.16.0",
        TEAM_VERSION,
    )
    project.run("make", "install")
    project.run("make", "check")
