"""Baking: every option combination renders completely and passes its own tests, ruff and mypy;
bad answers are refused with nothing written."""

import itertools
import os
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

from harness.baked_project import DEFAULTS, TEMPLATE_ROOT, BakedProject, python_for

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
    project.run("uv", "lock", "--check", "--offline")
    # ruff, ruff format, hadolint, actionlint, zizmor, the workflow and dependabot schemas; mypy --strict
    project.run("make", "lint", "typecheck")
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
    assert 'task_definition_name="charge_card_v2"' in (package / "workers" / "charge_card_v2.py").read_text()
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == RENAMED["description"]
    leftovers = [p for p in project.files() if "invoice_worker" in p.read_text(errors="replace")]
    assert leftovers == []
    assert_checks_pass(project)


def uv(project: BakedProject, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """The test suite's uv (the version the generated uv.lock pins), run in the project with its Python."""
    env = {**os.environ, "UV_PYTHON": python_for(project.answers["python_version"])}
    return subprocess.run(
        [sys.executable, "-m", "uv", *args], cwd=project.path, capture_output=True, text=True, check=check, env=env
    )


def test_uv_lock_is_the_one_lock_and_pins_every_declared_dependency(baker: Any) -> None:
    project = baker()
    assert not list(project.path.glob("requirements*"))
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    declared = pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"]
    declared += [pin for extra in pyproject["project"]["optional-dependencies"].values() for pin in extra]
    locked = {
        f"{package['name']}=={package['version']}"
        for package in tomllib.loads((project.path / "uv.lock").read_text())["package"]
    }
    assert [pin for pin in declared if pin not in locked] == []
    assert "uv" in {pin.split("==")[0] for pin in pyproject["dependency-groups"]["dev"]}


@pytest.mark.parametrize(
    "answers",
    [*COMBINATIONS, RENAMED, {**RENAMED, "project_slug": "aaa-first", "python_version": "3.11"}],
    ids=[*map(combination_id, COMBINATIONS), "renamed", "renamed-sorting-first"],
)
def test_rendered_uv_lock_matches_pyproject_for_every_answer(baker: Any, answers: dict[str, Any]) -> None:
    """The lock is rendered from templates/uv-lock/ (one per Python version, the project's name filled in);
    uv must accept it as up to date, offline: nothing is re-resolved."""
    project = baker(**answers)
    lock = tomllib.loads((project.path / "uv.lock").read_text())
    assert lock["requires-python"] == f">={project.answers['python_version']}"
    assert [p["name"] for p in lock["package"] if p.get("source") == {"editable": "."}] == [
        project.answers["project_slug"]
    ]
    result = uv(project, "lock", "--check", "--offline")
    assert result.returncode == 0, result.stderr


# A pin moved the way Dependabot moves one (here to another published release of httpx).
HTTPX_PIN, HTTPX_MOVED = '"httpx==0.29.0"', "0.28.1"


def test_a_stale_lock_fails_make_check_naming_the_file(baker: Any) -> None:
    project = baker()
    pyproject = project.path / "pyproject.toml"
    assert HTTPX_PIN in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(HTTPX_PIN, f'"httpx=={HTTPX_MOVED}"'))
    lock_before = (project.path / "uv.lock").read_text()
    result = uv(project, "lock", "--check")
    assert result.returncode != 0
    # One error, naming the file (uv wraps long lines: compare the words).
    assert result.stderr.count("error:") == 1, result.stderr
    assert "error: The lockfile at `uv.lock` needs to be updated" in " ".join(result.stderr.split())
    assert (project.path / "uv.lock").read_text() == lock_before  # the check writes nothing
    makefile = (project.path / "Makefile").read_text()
    assert re.search(r"^check: lock-check\b", makefile, re.MULTILINE)
    assert re.search(r"^lock-check:\n\t\$\(UV\) lock --check$", makefile, re.MULTILINE)


def test_the_template_locks_are_fresh() -> None:
    """templates/uv-lock/ must be what `python -m scripts.lock` writes today (modulo newer PyPI releases)."""
    locks = sorted((TEMPLATE_ROOT / "templates" / "uv-lock").glob("*.lock"))
    assert [lock.name for lock in locks] == sorted(f"python{v}.lock" for v in DEFAULTS["python_version"])
    for lock in locks:
        text = lock.read_text()
        assert text.count("{{ cookiecutter.project_slug }}") == 1, lock.name
        assert not text.endswith("\n"), f"{lock.name}: the generated uv.lock adds the final newline"


@pytest.mark.parametrize("python_version", DEFAULTS["python_version"])
def test_each_template_lock_fits_the_generated_pyproject(baker: Any, python_version: str) -> None:
    """The bake's uv.lock satisfies its pyproject.toml as the template renders it today: a dependency
    changed without `python -m scripts.lock` fails here, for whichever Python version it broke. A lock
    that fits needs no resolution, so the check runs offline."""
    project = baker(python_version=python_version)
    command = [sys.executable, "-m", "uv", "lock", "--check", "--offline", "--python", python_for(python_version)]
    result = subprocess.run(command, cwd=project.path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"templates/uv-lock/python{python_version}.lock is stale:\n{result.stderr}"


def test_make_install_bootstraps_uv_with_only_python_on_the_machine(baker: Any) -> None:
    """`make install` on a PATH with no uv: pip installs the uv that uv.lock pins, then `uv sync --locked`."""
    project = baker()
    python = python_for(project.answers["python_version"])
    path = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
    assert subprocess.run(["sh", "-c", "command -v uv"], env={"PATH": path}, capture_output=True).returncode != 0
    env = {**os.environ, "PATH": path}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["make", "install", f"PYTHON={python}"], cwd=project.path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uv sync --locked" in result.stdout
    version = subprocess.run(
        [str(project.bin / "uv"), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    lock = tomllib.loads((project.path / "uv.lock").read_text())
    assert version == next(p["version"] for p in lock["package"] if p["name"] == "uv")
    assert (project.bin / "pytest").exists() and (project.bin / "zizmor").exists()
    assert "--require-hashes --no-deps" in result.stdout and "locked_version.py --requirement uv" in result.stdout


def test_make_install_refuses_a_uv_whose_hash_the_lock_does_not_list(baker: Any) -> None:
    """uv is installed by hash: with every hash uv.lock lists for uv altered, pip refuses the download."""
    project = baker()
    lock = project.path / "uv.lock"
    text = lock.read_text()
    start = text.index('[[package]]\nname = "uv"\n')
    end = text.index("[[package]]", start + 1) if "[[package]]" in text[start + 1 :] else len(text)
    entry = re.sub(r'hash = "sha256:[0-9a-f]{4}', 'hash = "sha256:0000', text[start:end])
    assert entry != text[start:end]
    lock.write_text(text[:start] + entry + text[end:])
    python = python_for(project.answers["python_version"])
    env = {**os.environ, "PATH": os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["make", "install", f"PYTHON={python}"], cwd=project.path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr, result.stdout + result.stderr
    assert not (project.bin / "uv").exists()


def contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_answers_are_recorded_for_replay(baker: Any, tmp_path: Path) -> None:
    """A replay re-creates the project byte for byte: every answer (the description too) came back."""
    project = baker(**RENAMED)
    assert {key: project.answers[key] for key in RENAMED} == RENAMED
    replayed = cookiecutter(
        str(TEMPLATE_ROOT),
        replay=str(project.path / ".cookiecutter.json"),
        default_config=True,
        output_dir=str(tmp_path / "replay"),
    )
    original, again = contents(project.path), contents(Path(replayed))
    assert sorted(again) == sorted(original)
    assert [name for name in original if again[name] != original[name]] == []


@pytest.mark.parametrize("option", ["kubernetes", "metrics"])
def test_an_option_left_off_removes_only_its_own_files(baker: Any, option: str) -> None:
    on, off = baker(**{option: True}), baker(**{option: False})
    files_on = {p.relative_to(on.path) for p in on.files()}
    files_off = {p.relative_to(off.path) for p in off.files()}
    assert files_off <= files_on
    removed = {str(path) for path in files_on - files_off}
    own = {"kubernetes": ("k8s/", "tests/test_autoscaling.py"), "metrics": ()}[option]
    assert {path for path in removed if not path.startswith(own)} == set()
    assert all(any(path.startswith(mine) for path in removed) for mine in own)
    if option == "kubernetes":
        assert "kubectl" not in (off.path / "scripts" / "launch.sh").read_text()


def test_a_hostile_user_config_changes_nothing(baker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ~/.cookiecutterrc (defaults for every prompt) must not change what the tests bake."""
    reference = baker()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".cookiecutterrc").write_text(
        "default_context:\n"
        '  project_name: "Hostile Name"\n'
        '  python_version: "3.11"\n'
        "  kubernetes: false\n"
        "  metrics: false\n"
        '  owner_email: "evil@example.com"\n'
        f"replay_dir: {home / 'replay'}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    # cookiecutter resolves ~/.cookiecutterrc when it is imported; point it at this home's.
    monkeypatch.setattr("cookiecutter.config.USER_CONFIG_PATH", str(home / ".cookiecutterrc"))
    monkeypatch.delenv("COOKIECUTTER_CONFIG")
    # The config is really hostile: a plain cookiecutter run picks it up.
    plain = cookiecutter(str(TEMPLATE_ROOT), no_input=True, output_dir=str(tmp_path / "plain"))
    assert Path(plain).name == "hostile-name"
    shutil.rmtree(home / "replay")
    project = baker()
    assert project.answers == reference.answers
    assert sorted(p.relative_to(project.path) for p in project.files()) == sorted(
        p.relative_to(reference.path) for p in reference.files()
    )
    assert not (home / "replay").exists()


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
        cookiecutter(
            str(TEMPLATE_ROOT), no_input=True, default_config=True, output_dir=str(output), extra_context=answers
        )
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
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--default-config",
            "-o",
            str(tmp_path),
            str(TEMPLATE_ROOT),
            answer,
        ],
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


def test_a_dependabot_style_bump_relocks_installs_and_passes_make_check(baker: Any) -> None:
    """What Dependabot's uv updater does to a pin: the new version in pyproject.toml, then
    `uv lock --upgrade-package`. The project must install from the new lock and pass its own check."""
    project = baker()
    pyproject = project.path / "pyproject.toml"
    assert HTTPX_PIN in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(HTTPX_PIN, f'"httpx=={HTTPX_MOVED}"'))
    uv(project, "lock", "--upgrade-package", "httpx", check=True)
    lock = tomllib.loads((project.path / "uv.lock").read_text())
    assert next(p["version"] for p in lock["package"] if p["name"] == "httpx") == HTTPX_MOVED
    assert_checks_pass(project)
    assert project.run("python", "-c", "import httpx; print(httpx.__version__)").stdout.strip() == HTTPX_MOVED
