"""The generated Dockerfile, .dockerignore and compose.yaml, checked without a Docker daemon: hadolint,
Compose v2's own loader (`config`), and the compose-spec JSON schema, for every option combination."""

import fnmatch
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.baked_project import DEFAULTS, BakedProject, bake
from harness.docker_engine import compose_binary

BIN = Path(sys.executable).parent
OPTIONS = [{"kubernetes": k, "metrics": m} for k, m in itertools.product([True, False], repeat=2)]
PYTHON_VERSIONS = DEFAULTS["python_version"]


def option_id(options: dict[str, bool]) -> str:
    return "-".join(f"{name}={'on' if value else 'off'}" for name, value in options.items())


@pytest.fixture(scope="module")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BakedProject]:
    root = tmp_path_factory.mktemp("container-files")
    baked = {option_id(options): bake(root / option_id(options), **options) for options in OPTIONS}
    for version in PYTHON_VERSIONS:
        baked[f"python={version}"] = bake(root / f"python{version}", python_version=version)
    return baked


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def compose_config(project: BakedProject) -> dict[str, Any]:
    result = run([str(compose_binary()), "config", "--format", "json"], project.path)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.mark.parametrize("key", [option_id(o) for o in OPTIONS] + [f"python={v}" for v in PYTHON_VERSIONS])
def test_dockerfile_is_hadolint_clean(bakes: dict[str, BakedProject], key: str) -> None:
    result = run([str(BIN / "hadolint"), "--format", "json", "Dockerfile"], bakes[key].path)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], findings  # not even info or style findings
    assert result.returncode == 0


@pytest.mark.parametrize("version", PYTHON_VERSIONS)
def test_dockerfile_base_is_a_literal_from_that_a_build_argument_overrides(
    bakes: dict[str, BakedProject], version: str
) -> None:
    """Dependabot's docker updater reads only literal `FROM image:tag` lines; `FROM ${ARG}` is invisible to it."""
    text = (bakes[f"python={version}"].path / "Dockerfile").read_text()
    tag = DEFAULTS["_python_image_tags"][version]
    assert tag.startswith(f"{version}.") and tag.endswith("-slim-bookworm")
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.MULTILINE)
    assert froms == [
        (f"{DEFAULTS['_python_image']}:{tag}", "python-base"),
        ("${PYTHON_IMAGE}", "builder"),
        ("${PYTHON_IMAGE}", ""),
    ]
    # Declared before the first FROM (so FROM lines can use it); by default it names the literal stage.
    assert text.index("ARG PYTHON_IMAGE=python-base\n") < text.index("\nFROM ")


@pytest.mark.parametrize("options", OPTIONS, ids=option_id)
def test_dockerfile_runtime_contract(bakes: dict[str, BakedProject], options: dict[str, bool]) -> None:
    project = bakes[option_id(options)]
    text = (project.path / "Dockerfile").read_text()
    package = project.package
    # tini (Debian's, pinned) is PID 1: it forwards SIGTERM and reaps orphans.
    assert f'ENTRYPOINT ["tini", "-s", "--", "python", "-m", "{package}"]' in text
    assert re.search(r"apt-get install -y --no-install-recommends tini=[\d.]+-\S+ ", text)
    assert 'CMD ["worker"]' in text
    assert f'CMD ["python", "-m", "{package}", "health"]' in text  # HEALTHCHECK, exec form
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert "PYTHONUNBUFFERED=1" in text
    # uv (the version and SHA-256 hashes uv.lock pins, from PyPI) installs from the lock, without the dev group.
    uv_install = "/opt/uv/bin/pip install --no-cache-dir --require-hashes --no-deps -r uv-requirement.txt"
    assert "python locked_version.py --requirement uv > uv-requirement.txt" in text and uv_install in text
    assert text.count("uv sync --locked --no-dev") == 2
    assert "pip install" not in text.replace(uv_install, "")
    # No secret may be a build argument or baked into the environment.
    assert not re.search(r"^(ARG|ENV)\b.*(AUTH|SECRET|TOKEN|PASSWORD|KEY)", text, re.MULTILINE | re.IGNORECASE)
    assert ("EXPOSE 9100" in text) == options["metrics"]


@pytest.mark.parametrize("options", OPTIONS, ids=option_id)
def test_compose_file_loads_in_compose_v2(bakes: dict[str, BakedProject], options: dict[str, bool]) -> None:
    project = bakes[option_id(options)]
    assert not (project.path / ".env").exists()  # a fresh clone has none, and that must be fine
    result = run([str(compose_binary()), "config", "--quiet"], project.path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("options", OPTIONS, ids=option_id)
def test_compose_file_matches_the_compose_spec_schema(bakes: dict[str, BakedProject], options: dict[str, bool]) -> None:
    project = bakes[option_id(options)]
    result = run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"], project.path
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("options", OPTIONS, ids=option_id)
def test_compose_stack_shape(bakes: dict[str, BakedProject], options: dict[str, bool]) -> None:
    project = bakes[option_id(options)]
    services = compose_config(project)["services"]
    assert set(services) == {"conductor", "register", "worker"}

    conductor = services["conductor"]
    assert conductor["image"] == f"{DEFAULTS['_conductor_image']}:{DEFAULTS['_conductor_server_version']}"
    assert "http://localhost:8080/health" in conductor["healthcheck"]["test"]

    register, worker = services["register"], services["worker"]
    assert register["command"] == ["register"]
    assert register["depends_on"]["conductor"]["condition"] == "service_healthy"
    assert worker["depends_on"]["register"]["condition"] == "service_completed_successfully"
    for service in (register, worker):
        assert service["init"] is True  # an init as PID 1 wherever compose runs the image
        assert service["image"] == f"{project.answers['project_slug']}:latest"
        assert service["environment"]["CONDUCTOR_SERVER_URL"] == "http://conductor:8080/api"
        assert not any(re.search(r"AUTH|SECRET", name) for name in service["environment"])
    raw = yaml.safe_load((project.path / "compose.yaml").read_text())["services"]  # env_file as written
    for name in ("register", "worker"):
        assert raw[name]["env_file"] == [{"path": ".env", "required": False}]
    # Longer than the drain grace (WORKER_SHUTDOWN_GRACE_SECONDS, 25 s by default).
    assert re.fullmatch(r"\d+s", worker["stop_grace_period"]) and int(worker["stop_grace_period"][:-1]) > 25

    published = {port["target"] for port in worker.get("ports", [])}
    assert published == ({9100} if options["metrics"] else set())
    assert ("WORKER_METRICS_PORT" in worker["environment"]) == options["metrics"]
    for service in services.values():
        assert all(port.get("host_ip") == "127.0.0.1" for port in service.get("ports", []))


def test_compose_reads_a_dot_env_when_present_and_the_stack_url_wins(
    bakes: dict[str, BakedProject], tmp_path: Path
) -> None:
    project = bakes[option_id(OPTIONS[0])]
    (project.path / ".env").write_text("CONDUCTOR_SERVER_URL=http://localhost:8080/api\nCONDUCTOR_LOG_LEVEL=DEBUG\n")
    try:
        worker = compose_config(project)["services"]["worker"]
    finally:
        (project.path / ".env").unlink()
    assert worker["environment"]["CONDUCTOR_LOG_LEVEL"] == "DEBUG"
    assert worker["environment"]["CONDUCTOR_SERVER_URL"] == "http://conductor:8080/api"


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes. Enough for plain names and globs."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").removeprefix("**/")
        if fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], glob):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("options", OPTIONS, ids=option_id)
def test_dot_env_is_ignored_by_git_and_docker(bakes: dict[str, BakedProject], options: dict[str, bool]) -> None:
    project = bakes[option_id(options)]
    patterns = [
        line.strip()
        for line in (project.path / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (
        ".env",
        ".env.local",
        ".git",
        ".venv",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "src/pkg/__pycache__",
        "htmlcov",
        ".coverage",
    ):
        assert dockerignore_excludes(patterns, path), f".dockerignore lets {path} into the build context"
    for path in ("src", "pyproject.toml", "uv.lock", "README.md", "scripts/locked_version.py"):
        assert not dockerignore_excludes(patterns, path), f".dockerignore drops {path}, which the build needs"

    repository = project.path
    if not (repository / ".git").exists():
        assert run(["git", "init", "-q"], repository).returncode == 0
    (repository / ".env").write_text("CONDUCTOR_AUTH_SECRET=never-committed\n")
    try:
        assert run(["git", "check-ignore", "-q", ".env"], repository).returncode == 0, ".gitignore misses .env"
    finally:
        (repository / ".env").unlink()
