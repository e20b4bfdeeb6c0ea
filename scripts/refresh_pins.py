"""Re-resolve every pin the template owns against its registry, write the new ones, and say what could not be checked.

    scripts/refresh-pins            # write the newest versions, relock, print before -> after
    scripts/refresh-pins --check    # only print what would change; exit 1 if anything would

What it asks, and whom:
  * PyPI (pip index versions): the exact pins of the generated pyproject.toml (runtime, dev tools, build
    backend), conductor-python and python-dotenv in cookiecutter.json, and the `test` group of the
    template's own pyproject.toml; then its uv.lock and templates/uv-lock/ are re-resolved.
  * Maven Central (the artifact's maven-metadata.xml): org.conductoross:conductor-server, whose version is
    also the tag of the conductoross/conductor image the generated compose.yaml runs.
  * The Go module proxy (go list -m, go get -tool): github.com/rhysd/actionlint in the generated tools/go.mod.
  * GitHub (git ls-remote, action.yml at the release's commit): each action's newest release, its commit
    SHA and the Node runtime it declares, into every workflow and scripts/action_runtimes.json; and
    docker-library/python's versions.json for the Python image tags. Where GitHub does not answer (a
    machine that reaches package registries only), these are listed under "could not check".
  * Debian (apt-cache policy, on a machine of the image's Debian release): the packages the generated
    Dockerfile pins (tini).
A pin whose newest version is a new major is written like any other: the pull request's CI is the gate.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
PROJECT = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}"
COOKIECUTTER_JSON = TEMPLATE_ROOT / "cookiecutter.json"
GENERATED_PYPROJECT = PROJECT / "pyproject.toml"
DOCKERFILE = PROJECT / "Dockerfile"
TEMPLATE_PYPROJECT = TEMPLATE_ROOT / "pyproject.toml"  # the template's own tools: its `test` group
ACTION_RUNTIMES = TEMPLATE_ROOT / "scripts" / "action_runtimes.json"
GO_TOOLS = PROJECT / "tools"
WORKFLOW_DIRS = (TEMPLATE_ROOT / ".github" / "workflows", PROJECT / ".github" / "workflows")
MAVEN_METADATA = "https://repo1.maven.org/maven2/org/conductoross/conductor-server/maven-metadata.xml"
PYTHON_IMAGE_VERSIONS = "https://raw.githubusercontent.com/docker-library/python/master/versions.json"
RAW_ACTION_YML = "https://raw.githubusercontent.com/{repo}/{sha}/{name}"
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.+!-]*)$")
USES = re.compile(r"uses: (?P<repo>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v[\d.]+)")
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
TIMEOUT = 20


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def pin(self, what: str, before: str, after: str | None) -> bool:
        """Record one pin; True when it moves."""
        if after is None:
            return False
        if after == before:
            self.unchanged.append(f"{what} {before}")
            return False
        self.changed.append(f"{what} {before} -> {after}")
        return True


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# ---------------------------------------------------------------------------------------------- registries


def pypi_newest(name: str) -> str | None:
    """The newest final release on PyPI, through pip (the registry's ordinary client)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "--disable-pip-version-check", name],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    match = re.match(rf"^{re.escape(name)} \(([^)]+)\)", result.stdout, re.IGNORECASE)
    return match.group(1) if match else None


def maven_newest() -> str | None:
    with urllib.request.urlopen(MAVEN_METADATA, timeout=TIMEOUT) as response:
        match = re.search(r"<release>([^<]+)</release>", response.read().decode())
    return match.group(1) if match else None


def go_newest(module: str) -> str | None:
    if shutil.which("go") is None:
        return None
    result = subprocess.run(
        ["go", "list", "-m", "-versions", module], capture_output=True, text=True, check=False, timeout=120
    )
    versions = [v for v in result.stdout.split()[1:] if RELEASE_TAG.match(v)]
    return max(versions, key=version_key) if versions else None


def github_newest_release(repo: str) -> tuple[str, str]:
    """(tag, commit SHA) of the newest vX.Y.Z tag, annotated tags peeled."""
    result = subprocess.run(
        ["git", "ls-remote", "--tags", f"https://github.com/{repo}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if result.returncode != 0:
        raise LookupError((result.stderr.strip().splitlines() or [f"git ls-remote exited {result.returncode}"])[-1])
    commits: dict[str, str] = {}
    for line in result.stdout.splitlines():
        sha, ref = line.split("\t")
        tag = ref.removeprefix("refs/tags/")
        peeled = tag.endswith("^{}")
        tag = tag.removesuffix("^{}")
        if RELEASE_TAG.match(tag) and (peeled or tag not in commits):
            commits[tag] = sha
    newest = max(commits, key=version_key)
    return newest, commits[newest]


def python_image_versions() -> dict[str, dict[str, object]]:
    """docker-library/python's versions.json: the newest patch release and the variants of each Python line."""
    with urllib.request.urlopen(PYTHON_IMAGE_VERSIONS, timeout=TIMEOUT) as response:
        versions: dict[str, dict[str, object]] = json.loads(response.read())
    return versions


def debian_candidate(package: str) -> str | None:
    """The version apt would install here (this machine's Debian release, as the image's base is bookworm)."""
    if shutil.which("apt-cache") is None:
        return None
    result = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, check=False, timeout=60)
    match = re.search(r"Candidate: (\S+)", result.stdout)
    return match.group(1) if match and match.group(1) != "(none)" else None


def action_runtime(repo: str, sha: str) -> str:
    """`runs.using` of the action.yml (or action.yaml) at that commit."""
    for name in ("action.yml", "action.yaml"):
        try:
            with urllib.request.urlopen(RAW_ACTION_YML.format(repo=repo, sha=sha, name=name), timeout=TIMEOUT) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                continue
            raise
        match = re.search(r"^\s+using:\s*['\"]?([\w-]+)", text, re.MULTILINE)
        if match:
            return match.group(1)
    raise LookupError(f"{repo}@{sha}: no action.yml with runs.using")


# ------------------------------------------------------------------------------------------------ the pins


def refresh_pypi(report: Report, write: bool) -> None:
    # The generated pyproject.toml is a template (not TOML yet): its quoted `name==version` strings are the
    # pins, as in the template's own (its `test` group).
    requirements = [
        found
        for path in (GENERATED_PYPROJECT, TEMPLATE_PYPROJECT)
        for found in re.findall(r'"([A-Za-z0-9][\w.-]*==[^"{}]+)"', path.read_text())
    ]
    cookiecutter = json.loads(COOKIECUTTER_JSON.read_text())
    pins = {m["name"]: m["version"] for m in map(EXACT_PIN.match, requirements) if m}
    pins["conductor-python"] = cookiecutter["_conductor_python_version"]
    pins["python-dotenv"] = cookiecutter["_python_dotenv_version"]
    newest: dict[str, str] = {}
    for name, version in sorted(pins.items()):
        found = pypi_newest(name)
        if found is None:
            report.unchecked.append(f"PyPI {name}: pip index versions gave no answer")
        elif report.pin(f"PyPI {name}", version, found):
            newest[name] = found
    if not write or not newest:
        return
    for path in (GENERATED_PYPROJECT, TEMPLATE_PYPROJECT):
        text = path.read_text()
        for name, version in newest.items():
            text = re.sub(rf'(?m)(^|")({re.escape(name)})==[^"\s]+', rf"\g<1>\g<2>=={version}", text)
        path.write_text(text)
    text = COOKIECUTTER_JSON.read_text()
    for key, name in (("_conductor_python_version", "conductor-python"), ("_python_dotenv_version", "python-dotenv")):
        if name in newest:
            text = re.sub(rf'("{key}": )"[^"]+"', rf'\g<1>"{newest[name]}"', text)
    COOKIECUTTER_JSON.write_text(text)


def refresh_conductor_server(report: Report, write: bool) -> None:
    current = json.loads(COOKIECUTTER_JSON.read_text())["_conductor_server_version"]
    report.unchecked.append(
        "Docker Hub conductoross/conductor: its tag follows the server's Maven release; Docker Hub is not "
        "asked (not every machine reaches it): the generated CI's e2e job pulls it"
    )
    try:
        newest = maven_newest()
    except (OSError, urllib.error.URLError) as error:
        report.unchecked.append(f"Maven Central conductor-server: {error}")
        return
    if report.pin("Maven Central org.conductoross:conductor-server", current, newest) and write and newest:
        text = COOKIECUTTER_JSON.read_text()
        old, new = f'"_conductor_server_version": "{current}"', f'"_conductor_server_version": "{newest}"'
        COOKIECUTTER_JSON.write_text(text.replace(old, new))


def refresh_actionlint(report: Report, write: bool) -> None:
    """The generated tools/go.mod (actionlint from rhysd/actionlint), as `go get -tool` would move it."""
    pinned = re.search(r"github.com/rhysd/actionlint (v[\d.]+)", (GO_TOOLS / "go.mod").read_text())
    current = pinned.group(1) if pinned else "unknown"
    newest = go_newest("github.com/rhysd/actionlint")
    if newest is None:
        report.unchecked.append("Go module proxy github.com/rhysd/actionlint: no `go` on PATH or no answer")
    elif report.pin("Go github.com/rhysd/actionlint", current, newest) and write:
        for command in (
            ["go", "get", "-tool", f"github.com/rhysd/actionlint/cmd/actionlint@{newest}"],
            ["go", "mod", "tidy"],
        ):
            subprocess.run(command, cwd=GO_TOOLS, check=True, timeout=600)


def refresh_actions(report: Report, write: bool) -> None:
    table = json.loads(ACTION_RUNTIMES.read_text())
    used = {
        (m["repo"], m["sha"], m["version"])
        for directory in WORKFLOW_DIRS
        for path in directory.glob("*.yml")
        for m in USES.finditer(path.read_text())
    }
    for repo, sha, version in sorted(used):
        try:
            tag, newest_sha = github_newest_release(repo)
            runtime = action_runtime(repo, newest_sha)
        except (OSError, subprocess.SubprocessError, urllib.error.URLError, LookupError, ValueError) as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            report.unchecked.append(
                f"GitHub {repo}: newest release and its runtime ({reason}); "
                f"the table keeps {version} = {table.get(f'{repo}@{sha}', {}).get('runs', 'unknown')}"
            )
            continue
        if not report.pin(f"action {repo}", f"{version} ({sha[:7]})", f"{tag} ({newest_sha[:7]})") or not write:
            continue
        table.pop(f"{repo}@{sha}", None)
        table[f"{repo}@{newest_sha}"] = {"version": tag, "runs": runtime}
        for directory in WORKFLOW_DIRS:
            for path in directory.glob("*.yml"):
                path.write_text(path.read_text().replace(f"{repo}@{sha} # {version}", f"{repo}@{newest_sha} # {tag}"))
    if write:
        ACTION_RUNTIMES.write_text(json.dumps(dict(sorted(table.items())), indent=2) + "\n")


def refresh_python_images(report: Report, write: bool) -> None:
    cookiecutter = json.loads(COOKIECUTTER_JSON.read_text())
    tags: dict[str, str] = cookiecutter["_python_image_tags"]
    try:
        upstream = python_image_versions()
    except (OSError, urllib.error.URLError, ValueError) as error:
        report.unchecked.append(
            f"docker-library/python versions.json (the python image tags {', '.join(sorted(tags.values()))}): {error}"
        )
        return
    text = COOKIECUTTER_JSON.read_text()
    for minor, tag in tags.items():
        variant = tag.split("-", 1)[1]
        entry = upstream.get(minor, {})
        if variant.removeprefix("slim-") not in " ".join(entry.get("variants", [])):
            report.unchecked.append(f"python:{tag}: docker-library/python no longer builds {variant} for {minor}")
            continue
        newest = f"{entry['version']}-{variant}"
        if report.pin(f"image python ({minor})", tag, newest) and write:
            text = text.replace(f'"{minor}": "{tag}"', f'"{minor}": "{newest}"')
    if write:
        COOKIECUTTER_JSON.write_text(text)


def refresh_debian_packages(report: Report, write: bool) -> None:
    """The Debian packages the generated Dockerfile pins (`name=version`): apt's candidate on this machine,
    when it runs the image's Debian release (the base image's suffix, e.g. -slim-bookworm)."""
    text = DOCKERFILE.read_text()
    release = re.search(r"-slim-(\w+)", COOKIECUTTER_JSON.read_text())
    here = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    installs = " ".join(re.findall(r"apt-get install([^&]*)", text))
    for name, version in re.findall(r"(?<!-)\b([a-z0-9][a-z0-9.+-]*)=(\d[\w.+~:-]*)", installs):
        if not release or f"VERSION_CODENAME={release.group(1)}" not in here:
            report.unchecked.append(
                f"Debian {name}={version}: this machine does not run Debian {release and release.group(1)}"
            )
            continue
        newest = debian_candidate(name)
        if newest is None:
            report.unchecked.append(f"Debian {name}: apt-cache policy gave no candidate (run apt-get update)")
        elif report.pin(f"Debian {name}", version, newest) and write:
            text = text.replace(f"{name}={version}", f"{name}={newest}")
    if write:
        DOCKERFILE.write_text(text)


def relock(report: Report) -> None:
    own_lock = (TEMPLATE_ROOT / "uv.lock").read_text()
    subprocess.run([sys.executable, "-m", "uv", "lock", "--quiet"], cwd=TEMPLATE_ROOT, check=True)
    if (TEMPLATE_ROOT / "uv.lock").read_text() != own_lock:
        report.changed.append("uv.lock (the template's own tools): re-resolved")
    before = {path.name: path.read_text() for path in (TEMPLATE_ROOT / "templates" / "uv-lock").glob("*.lock")}
    subprocess.run([sys.executable, "-m", "scripts.lock", "--upgrade"], cwd=TEMPLATE_ROOT, check=True)
    for path in sorted((TEMPLATE_ROOT / "templates" / "uv-lock").glob("*.lock")):
        if before.get(path.name) != path.read_text():
            report.changed.append(f"templates/uv-lock/{path.name}: re-resolved")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if a pin would move")
    parser.add_argument("--no-lock", action="store_true", help="leave templates/uv-lock/ as it is")
    options = parser.parse_args(argv)
    write = not options.check
    report = Report()
    refresh_pypi(report, write)
    refresh_conductor_server(report, write)
    refresh_actionlint(report, write)
    refresh_actions(report, write)
    refresh_python_images(report, write)
    refresh_debian_packages(report, write)
    if write and not options.no_lock:
        relock(report)
    for title, lines in (
        ("moved", report.changed),
        ("current", report.unchanged),
        ("could not check", report.unchecked),
    ):
        print(f"{title}:")
        print("\n".join(f"  {line}" for line in lines) or "  (none)")
    return 1 if options.check and report.changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
