"""Shape the generated project from the answers: drop files of options left off, record the answers."""

import json
import shutil
import sys
from pathlib import Path

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

# Which paths exist only with which option. The one place that decides this: add a row, not an `if`.
FILES_BY_OPTION: dict[str, list[str]] = {
    # Without Kubernetes, deploy.yml still registers; scripts/launch.sh is then a documented stub.
    "kubernetes": ["k8s", "tests/test_autoscaling.py"],
}


def paths_to_remove(answers: dict) -> list[str]:
    return [path for option, paths in FILES_BY_OPTION.items() if not answers.get(option) for path in paths]


def remove(project: Path, relative: str) -> None:
    target = project / relative
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()


def recorded_answers(answers: dict) -> dict:
    """The answers a later `cookiecutter --replay-file` needs; cookiecutter's own bookkeeping left out."""
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def next_steps(answers: dict) -> str:
    """The README's Quickstart, in the same order."""
    slug = answers["project_slug"]
    return "\n".join(
        [
            f"Created {slug}. Next steps (the README's Quickstart):",
            f"  cd {slug}",
            "  make install                      # .venv from uv.lock; only Python needed",
            "  make check                        # uv.lock up to date, linters, mypy, unit tests",
            "  docker compose up -d conductor    # a local Conductor server on http://localhost:8080",
            "  make register                     # upload the task definition and the workflow",
            "  make worker                       # poll and execute tasks; Ctrl-C drains and stops",
            "  make run-workflow                 # in another shell: prints COMPLETED and the output",
        ]
    )


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    project = Path.cwd()
    for relative in paths_to_remove(answers):
        remove(project, relative)
    (project / ".cookiecutter.json").write_text(
        json.dumps({"cookiecutter": recorded_answers(answers)}, indent=2, sort_keys=True) + "\n"
    )
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
