"""Scaffold -> local Conductor server -> register -> worker -> run-workflow, as a user would run them."""

import subprocess
import sys
import tempfile
from pathlib import Path

from harness.baked_project import TEMPLATE_ROOT, WorkerProcess, python_for
from harness.conductor_server import ConductorServer


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True, check=False)
    print((result.stdout + result.stderr).rstrip(), flush=True)
    if result.returncode != 0 and command[-1] != "run-workflow":
        raise SystemExit(f"failed: {' '.join(command)}")
    return result


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="conductor-worker-demo-"))
    output.mkdir(parents=True, exist_ok=True)
    step(f"Scaffold a worker project into {output}")
    run([sys.executable, "-m", "cookiecutter", "--no-input", "-f", "-o", str(output), str(TEMPLATE_ROOT)], cwd=output)
    project = next(path for path in output.iterdir() if (path / "pyproject.toml").is_file())
    package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
    python = str(project / ".venv" / "bin" / "python")

    step("Install it (make install) and run its checks (make check)")
    version = (project / ".python-version").read_text().strip() if (project / ".python-version").is_file() else "3.12"
    run(["make", "install", f"PYTHON={python_for(version)}"], cwd=project)
    run(["make", "check"], cwd=project)

    step("Start a local Conductor server (the real OSS server jar; first run downloads it)")
    with ConductorServer() as server:
        print(f"Conductor at {server.api_url}")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "CONDUCTOR_SERVER_URL": server.api_url,
            "WORKER_METRICS_PORT": "",
            "WORKER_HEALTH_DIR": str(project / ".health"),
        }
        step("Register the task definition and the workflow")
        run([python, "-m", package, "register"], cwd=project, env=env)

        step("Start the worker")
        log_path = project / "worker.log"
        with log_path.open("wb") as log:
            worker = WorkerProcess(
                subprocess.Popen(
                    [python, "-m", package, "worker"], cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT
                ),
                log_path,
            )
        try:
            step("Run the example workflow")
            result = run([python, "-m", package, "run-workflow", "--timeout", "60"], cwd=project, env=env)
            step("Check the setup (doctor)")
            run([python, "-m", package, "doctor"], cwd=project, env=env)
        finally:
            step("Stop the worker (SIGTERM: drain, then exit)")
            print(f"worker exited with {worker.stop()}; its log: {log_path}")
    status = "COMPLETED" if result.returncode == 0 else "NOT COMPLETED"
    print(f"\nThe example workflow {status}. Your project: {project}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
