"""`new-worker`, `schemas` and `capture` are development commands: they write into the project's checkout. Installed
from the built wheel alone (as in the image), they refuse with one line, exit 2, and write nothing."""

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_from_an_installed_wheel_alone_they_refuse_and_write_nothing(baker: Any, tmp_path: Path) -> None:
    project = baker().install()
    uv = [sys.executable, "-m", "uv"]

    def run(*command: str, cwd: Path = project.path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run(*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"))
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    requirements = tmp_path / "requirements.txt"
    run(*uv, "export", "--locked", "--no-dev", "--no-emit-project", "--no-hashes", "-o", str(requirements))
    venv = tmp_path / "image-venv"
    run(*uv, "venv", "--python", str(project.bin / "python"), str(venv))
    run(*uv, "pip", "install", "--python", str(venv / "bin" / "python"), "-r", str(requirements), str(wheel))
    elsewhere = tmp_path / "app"  # like the image's WORKDIR: no checkout anywhere above it
    elsewhere.mkdir()
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    installed = snapshot(site_packages)
    commands = (
        ["new-worker", "send_receipt"],
        ["new-worker", "send_receipt", "--async"],
        ["schemas"],
        ["capture", "t-1"],
    )
    for command in commands:
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-m", project.package, *command],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(
            f"error: {command[0]} is a development command: run it in the project's checkout"
        ), result.stderr
        assert result.stdout == ""
    assert list(elsewhere.iterdir()) == []
    assert snapshot(site_packages) == installed
    # From the checkout the same command works.
    assert project.cli("new-worker", "send_receipt").returncode == 0
