"""scripts/refresh-pins on copies of the files it rewrites, with the registries replaced by fakes: it writes
what moved everywhere that pin is written, keeps the action table in step with the workflows, and names
what it could not check instead of passing over it."""

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.baked_project import TEMPLATE_ROOT
from scripts import refresh_pins

CHECKOUT = "actions/checkout"
NEW_SHA = "a" * 40


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files refresh-pins rewrites, copied; the module pointed at the copies."""
    project = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}"
    copies = {
        "COOKIECUTTER_JSON": TEMPLATE_ROOT / "cookiecutter.json",
        "GENERATED_PYPROJECT": project / "pyproject.toml",
        "DOCKERFILE": project / "Dockerfile",
        "TEMPLATE_PYPROJECT": TEMPLATE_ROOT / "pyproject.toml",
        "ACTION_RUNTIMES": TEMPLATE_ROOT / "scripts" / "action_runtimes.json",
    }
    for constant, source in copies.items():
        target = tmp_path / constant.lower()
        shutil.copy2(source, target)
        monkeypatch.setattr(refresh_pins, constant, target)
    workflow_dirs = []
    for index, source in enumerate(refresh_pins.WORKFLOW_DIRS):
        target = tmp_path / f"workflows{index}"
        shutil.copytree(source, target)
        workflow_dirs.append(target)
    monkeypatch.setattr(refresh_pins, "WORKFLOW_DIRS", tuple(workflow_dirs))
    shutil.copytree(project / "tools", tmp_path / "tools")
    monkeypatch.setattr(refresh_pins, "GO_TOOLS", tmp_path / "tools")
    return tmp_path


@pytest.fixture
def registries(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ruff has a newer release; pytest's lookup gets no answer; Maven Central is unreachable; the Go proxy
    has nothing newer; GitHub answers for actions/checkout only (a newer major on node24); docker-library's
    versions.json is unreachable; Debian has nothing newer."""
    texts = [(template / name).read_text() for name in ("generated_pyproject", "template_pyproject")]
    pinned = {name: version for text in texts for name, version in re.findall(r"([A-Za-z][\w.-]*)==([\w.]+)", text)}
    answers = json.loads((template / "cookiecutter_json").read_text())
    pinned |= {
        "conductor-python": answers["_conductor_python_version"],
        "python-dotenv": answers["_python_dotenv_version"],
    }

    def pypi_newest(name: str) -> str | None:
        return {"ruff": "99.0.0", "pytest": None}.get(name, pinned[name])

    def github_newest_release(repo: str) -> tuple[str, str]:
        if repo == CHECKOUT:
            return "v99.0.0", NEW_SHA
        raise LookupError("Could not resolve host: github.com")

    def unreachable() -> str:
        raise OSError("Name or service not known")

    monkeypatch.setattr(refresh_pins, "pypi_newest", pypi_newest)
    monkeypatch.setattr(refresh_pins, "maven_newest", unreachable)
    monkeypatch.setattr(refresh_pins, "go_newest", lambda module: "v1.7.12")
    monkeypatch.setattr(refresh_pins, "github_newest_release", github_newest_release)
    monkeypatch.setattr(refresh_pins, "action_runtime", lambda repo, sha: "node24")
    monkeypatch.setattr(refresh_pins, "python_image_versions", unreachable)
    monkeypatch.setattr(refresh_pins, "debian_candidate", lambda package: "0.19.0-1+b3")


def pin_lines(text: str, word: str) -> list[str]:
    return [line for line in text.splitlines() if word in line]


def test_refresh_writes_what_moved_and_names_what_it_could_not_check(
    template: Path, registries: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {path.name: path.read_text() for path in template.glob("*") if path.is_file()}
    assert refresh_pins.main(["--no-lock"]) == 0
    output = capsys.readouterr().out
    moved, _, rest = output.partition("current:")
    _, _, unchecked = rest.partition("could not check:")
    assert "PyPI ruff 0.17.6 -> 99.0.0" in moved
    assert f"action {CHECKOUT} v7.0.1 (3d3c42e) -> v99.0.0 (aaaaaaa)" in moved
    # Each lookup that failed is named, with its reason: never silently kept.
    assert "PyPI pytest: pip index versions gave no answer" in unchecked
    assert "Maven Central conductor-server: Name or service not known" in unchecked
    assert "GitHub actions/setup-python: newest release and its runtime (Could not resolve host" in unchecked
    assert "docker-library/python versions.json" in unchecked and "Docker Hub conductoross/conductor" in unchecked
    # ruff moved everywhere it is pinned, and nowhere else changed version.
    assert '"ruff==99.0.0"' in (template / "generated_pyproject").read_text()
    assert '    "ruff==99.0.0",' in (template / "template_pyproject").read_text().splitlines()
    assert before["cookiecutter_json"] == (template / "cookiecutter_json").read_text()
    # The workflows and the runtime table moved together.
    for directory in refresh_pins.WORKFLOW_DIRS:
        for path in directory.glob("*.yml"):
            text = path.read_text()
            assert "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1" not in text, path
            if "actions/checkout@" in text:
                assert f"actions/checkout@{NEW_SHA} # v99.0.0" in text
    table = json.loads((template / "action_runtimes").read_text())
    assert table[f"{CHECKOUT}@{NEW_SHA}"] == {"version": "v99.0.0", "runs": "node24"}
    assert f"{CHECKOUT}@3d3c42e5aac5ba805825da76410c181273ba90b1" not in table


def test_check_only_reports_and_fails_when_a_pin_would_move(
    template: Path, registries: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {path: path.read_bytes() for path in template.rglob("*") if path.is_file()}
    assert refresh_pins.main(["--check"]) == 1
    assert "PyPI ruff 0.17.6 -> 99.0.0" in capsys.readouterr().out
    assert {path: path.read_bytes() for path in template.rglob("*") if path.is_file()} == before
