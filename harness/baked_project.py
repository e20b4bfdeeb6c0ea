"""Bake the template with given answers and drive the result like a user would."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

from harness.waiting import wait_until

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
DEFAULTS: dict[str, Any] = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text())
# The conductor-python a baked project gets: its pinned version by default; "latest" (the newest on
# PyPI) or a version such as "2.1.0" for the canary run that checks the runtime against SDK updates.
SDK_VERSION = os.environ.get("TEMPLATE_SDK_VERSION", "").strip()


PYTHONS_FROM_DEBIAN = Path(os.environ.get("CWT_PYTHON_DIR", "/opt/conductor-worker-template/python"))


def python_for(version: str) -> str:
    """An interpreter of the project's Python version: this one, one of pyenv's, one on PATH, or one unpacked
    from Debian's packages by scripts/test."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        str(path)
        for path in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python"), reverse=True)
        if re.fullmatch(rf"{re.escape(version)}\.\d+", path.parents[1].name)
    ]
    candidates += [found for found in [shutil.which(f"python{version}")] if found]
    # One that scripts/lib/python-from-debian.sh unpacked (a version the machine's Debian and pyenv lack).
    unpacked = PYTHONS_FROM_DEBIAN.glob(f"{version}.*/usr/bin/python{version}")
    candidates += [str(path) for path in sorted(unpacked, reverse=True)]
    for candidate in candidates:
        # pyenv shims on PATH exist for versions that are not active; only a running interpreter counts.
        if subprocess.run([candidate, "--version"], capture_output=True, check=False).returncode == 0:
            return candidate
    raise RuntimeError(f"no Python {version} interpreter found (pyenv or PATH); the bake needs one")


def bake(output_dir: Path, **answers: Any) -> "BakedProject":
    """The template rendered with `answers` over its defaults; the user's ~/.cookiecutterrc is not read."""
    path = Path(
        cookiecutter(
            str(TEMPLATE_ROOT), no_input=True, default_config=True, output_dir=str(output_dir), extra_context=answers
        )
    )
    recorded = json.loads((path / ".cookiecutter.json").read_text())["cookiecutter"]
    return BakedProject(path=path, answers=recorded)


def bake_for_server(output_dir: Path, api_url: str, *, register: bool = True, **answers: Any) -> "BakedProject":
    """A baked and installed project whose commands talk to `api_url`, its definitions registered there."""
    project = bake(output_dir, **answers)
    project.env = {"CONDUCTOR_SERVER_URL": api_url}
    project.install()
    if register:
        registered = project.cli("register")
        assert registered.returncode == 0, registered.stdout + registered.stderr
    return project


@dataclass
class BakedProject:
    path: Path
    answers: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    @property
    def task_name(self) -> str:
        return str(self.answers["task_definition_name"])

    @property
    def workflow_name(self) -> str:
        return str(self.answers["workflow_name"])

    @property
    def bin(self) -> Path:
        return self.path / ".venv" / "bin"

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*") if p.is_file() and ".venv" not in p.parts)

    def install(self, extras: bool = True, dev: bool = True) -> "BakedProject":
        """A virtualenv with the locked dependencies, as `make install` makes it: `uv sync --locked
        --all-extras`; with `extras` False, as the image without build arguments: no optional group;
        with `dev` False, without the development tools, as the image has it (`--no-dev`).

        The test suite's own uv (the version uv.lock pins) stands in for the one `make install` bootstraps.
        """
        if not (self.bin / "python").exists():
            python = python_for(self.answers["python_version"])
            optional = (["--all-extras"] if extras else []) + ([] if dev else ["--no-dev"])
            self._check([sys.executable, "-m", "uv", "sync", "--locked", "--quiet", *optional, "--python", python])
            if SDK_VERSION:
                # The canary: the newest (or a given) conductor-python instead of the locked one.
                requirement = "conductor-python" if SDK_VERSION == "latest" else f"conductor-python=={SDK_VERSION}"
                uv = [sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(self.bin / "python")]
                self._check([*uv, "-U", requirement])
        return self

    def add_worker(self, module: str, source: str, function: str) -> None:
        """Add a worker the way the project's README says: a module in `workers/`, listed in WORKERS."""
        workers = self.path / "src" / self.package / "workers"
        (workers / f"{module}.py").write_text(source)
        listing = workers / "__init__.py"
        text = listing.read_text()
        text, count = re.subn(r"(\nWORKERS = \[\n)", rf"\nfrom .{module} import {function}\n\1    {function},\n", text)
        assert count == 1, f"no `WORKERS = [` list in {listing}"
        listing.write_text(text)

    def _check(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=self.path, capture_output=True, text=True, check=False, **kwargs)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a user's shell would give: no leftovers of ours, a private health dir."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "WORKER_", "PYTEST_"))}
        return {
            **base,
            "WORKER_HEALTH_DIR": str(self.path / ".health"),
            "WORKER_METRICS_PORT": "",
            **self.env,
            **(extra or {}),
        }

    def run(
        self, *command: str, env: Mapping[str, str] | None = None, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        executable = str(self.bin / command[0]) if (self.bin / command[0]).exists() else command[0]
        result = subprocess.run(
            [executable, *command[1:]],
            cwd=self.path,
            capture_output=True,
            text=True,
            env=self.environment(env),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return self.run("python", "-m", self.package, *args, env=env, timeout=timeout, check=check)

    def start_worker(self, env: Mapping[str, str] | None = None, log_name: str = "worker.log") -> "WorkerProcess":
        log_path = self.path / log_name
        log = log_path.open("ab")
        process = subprocess.Popen(
            [str(self.bin / "python"), "-m", self.package, "worker"],
            cwd=self.path,
            env=self.environment(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return WorkerProcess(process, log_path)

    def start_polling_worker(
        self, started: list["WorkerProcess"], log_name: str, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> "WorkerProcess":
        """A worker started, added to `started` (the e2e `workers` fixture stops it and prints its log), and
        polling by the time this returns."""
        process = self.start_worker(env=env, log_name=log_name)
        started.append(process)
        self.wait_until_polling(env, timeout=timeout)
        return process

    @contextlib.contextmanager
    def serving(
        self, env: Mapping[str, str] | None = None, log_name: str = "worker.log", register: bool = True
    ) -> Iterator["WorkerProcess"]:
        """A worker started and polling (definitions registered first, unless `register` is False).

        On leaving, the worker is stopped and its log printed (pytest shows it with a failure); after a
        block that passed, it must also have drained and exited 0. A failure inside the block is the
        one reported: stopping the worker never hides it."""
        if register:
            registered = self.cli("register", env=env)
            assert registered.returncode == 0, registered.stdout + registered.stderr
        process = self.start_worker(env=env, log_name=log_name)
        try:
            self.wait_until_polling(env)
            yield process
        except BaseException:
            process.stop()
            print(f"===== {log_name} =====\n{process.log()}")
            raise
        stopped = process.stop()
        print(f"===== {log_name} =====\n{process.log()}")
        assert stopped == 0, f"the worker did not drain and exit 0 (status {stopped}):\n{process.log()}"

    def wait_until_polling(self, env: Mapping[str, str] | None = None, timeout: float = 60) -> None:
        """Block until `health` passes: every worker process of the project has polled."""
        last: list[str] = []

        def healthy() -> bool:
            result = self.cli("health", env=env)
            last[:] = [result.stdout + result.stderr]
            return result.returncode == 0

        wait_until(healthy, timeout, "`health` never passed (not every worker process polled)", lambda: last[0])


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_processes(self) -> list[int]:
        """PIDs of its worker processes: the command's own children. Whatever helper process the SDK may
        start is a child of a worker process, so it is not counted here."""
        return _children(self.process.pid)

    def descendants(self) -> list[int]:
        """PIDs of every process below the worker (its spawned worker, logger and metrics processes)."""
        return _descendants(self.process.pid)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _children(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in children.split()]


def _descendants(pid: int) -> list[int]:
    pids = _children(pid)
    return pids + [grandchild for child in pids for grandchild in _descendants(child)]


def left_behind(pids: list[int], timeout: float = 5.0) -> list[str]:
    """Those of `pids` still running after `timeout` (zombies count as gone), as "pid command line".

    The wait covers multiprocessing's resource tracker, which exits when it sees its parent's pipe close.
    """
    deadline = time.monotonic() + timeout
    while True:
        running = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if state != "Z":
                running.append(f"{pid} {command.strip()}")
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)
