"""Opt-in mutation testing of the kit's drain, server check and register: does a test fail when the code
is broken on purpose? Not part of CI (`scripts/test`): run it after changing those modules or their tests.

    scripts/mutants                # each mutant against its fast tests: the kit's and the contract test, in one bake
    scripts/mutants --e2e          # then the survivors against the real server's tests (a server each: slow)
    scripts/mutants NAME ...       # just these (fast or e2e)
    scripts/mutants --list         # the mutants and the tests expected to kill them

Each mutant is one named edit of one kit file: a change a careless edit could make. The runner applies
it, runs the tests listed for it (stopping at the first failure) and puts the file back. A mutant whose
tests all pass SURVIVED: either a test is missing, or the mutant changes nothing that matters. The
known survivors are listed in docs/mutation.md, each with its reason; the command exits 1 if any other
survives. Fast mutants are applied to a baked project's copy of the kit (installed editable); e2e
mutants to a copy of the whole template, whose own e2e tests then run.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.baked_project import TEMPLATE_ROOT, BakedProject, bake

KIT = Path("{{cookiecutter.project_slug}}") / "src" / "conductor_worker_kit"
KIT_TESTS = TEMPLATE_ROOT / "tests" / "kit"
CONTRACT = "contract"  # the baked project's tests/test_sdk_contract.py
TEST_SECONDS = 600  # a mutant that makes a test hang is killed by this timeout


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # inside the kit
    before: str  # the text replaced: it must occur exactly once
    after: str
    tests: tuple[str, ...]  # kit test files, CONTRACT, or template e2e test ids (then it is an e2e mutant)

    @property
    def fast_tests(self) -> tuple[str, ...]:
        return tuple(test for test in self.tests if not test.startswith("tests/e2e/"))

    @property
    def e2e_tests(self) -> tuple[str, ...]:
        return tuple(test for test in self.tests if test.startswith("tests/e2e/"))


DRAIN_TESTS = ("test_task_ledger.py", "test_drain.py", CONTRACT)
MUTANTS = (
    # The drain takes no new task: the ledger refuses polls, the SDK skips a paused worker's.
    Mutant("ledger-lets-polls-through-while-draining", "runtime/task_ledger.py",
           "            if self._draining:\n                return False\n", "", DRAIN_TESTS),
    Mutant("sync-client-ignores-the-ledger", "runtime/sdk_adapter.py",
           "            return []\n        tasks = None\n        try:\n            tasks = super()",
           "            pass\n        tasks = None\n        try:\n            tasks = super()", (CONTRACT,)),
    Mutant("async-client-ignores-the-ledger", "runtime/sdk_adapter.py",
           "            return []\n        tasks = None\n        try:\n            tasks = await super()",
           "            pass\n        tasks = None\n        try:\n            tasks = await super()", (CONTRACT,)),
    Mutant("drain-does-not-pause-the-workers", "runtime/worker_process.py",
           "            worker.paused = True", "            pass", (CONTRACT,)),
    Mutant("idle-ignores-polls-in-flight", "runtime/task_ledger.py",
           "return self._polls_in_flight == 0 and not self._held", "return not self._held", DRAIN_TESTS),
    Mutant("next-task-not-held", "runtime/sdk_adapter.py",
           "        ledger.take(_held(next_task))", "        pass", (CONTRACT,)),
    Mutant("lease-heartbeat-releases-the-task", "runtime/sdk_adapter.py",
           "    if not body.extend_lease:", "    if True:", (CONTRACT,)),
    Mutant("drain-keeps-asking-for-next-tasks", "runtime/sdk_adapter.py",
           "    def update_task_v2(self, body: Any, **kwargs: Any) -> Any:\n        if self.ledger.draining:",
           "    def update_task_v2(self, body: Any, **kwargs: Any) -> Any:\n        if False:", (CONTRACT,)),
    Mutant("polls-faster-than-the-beat-still-held", "runtime/sdk_adapter.py",
           'return {**arguments, "timeout": 0}', "return arguments", (CONTRACT,)),
    Mutant("runners-not-stopped-after-the-drain", "runtime/worker_process.py",
           "        for runner in self.sync_runners:\n            runner.stop()\n",
           "", (CONTRACT,)),
    # A lost result makes the worker exit 1, naming the task.
    Mutant("lost-result-not-reported", "runtime/worker_process.py", "        if lost:\n", "        if False:\n",
           ("test_drain.py", "tests/e2e/test_worker_lifecycle.py::"
            "test_a_result_the_server_never_accepts_makes_the_worker_exit_1_naming_the_task")),
    Mutant("update-failure-event-ignored", "runtime/worker_process.py",
           "        self.ledger.lose(event.task_id)", "        pass", ("test_drain.py",)),
    Mutant("ledger-forgets-lost-tasks", "runtime/task_ledger.py",
           "                self._lost.append(task)", "                pass", DRAIN_TESTS),
    Mutant("a-loss-before-the-drain-fails-it", "runtime/worker_process.py",
           "        lost_before = len(self.ledger.lost())", "        lost_before = 0", ("test_drain.py",)),
    Mutant("grace-never-runs-out", "runtime/worker_process.py",
           "if hurried or time.monotonic() >= deadline:", "if hurried:", ("test_drain.py",)),
    # A server that is not Conductor is refused.
    Mutant("any-http-200-is-conductor", "conductor_client.py",
           "if response.status_code == 200 and isinstance(body, dict)",
           "if response.status_code == 200 or isinstance(body, dict)",
           ("test_server_check.py",)),
    Mutant("any-401-is-conductor", "conductor_client.py",
           "if response.status_code in (401, 403) and isinstance(body, dict):",
           "if response.status_code in (401, 403):", ("test_server_check.py",)),
    Mutant("server-check-skips-the-credentials", "conductor_client.py",
           "        server.check_is_conductor()\n        server.token()\n", "        server.check_is_conductor()\n",
           ("test_server_check.py",)),
    Mutant("worker-skips-the-server-check", "runtime/worker_process.py",
           "refused = server_refused(settings, stop)", "refused = None",
           ("test_server_check.py", "test_supervisor_stays_small.py")),
    # register: the files are the truth, a refusal stops it and names the file.
    Mutant("workflow-refusal-in-a-200-ignored", "commands/definitions.py", "    if errors:\n", "    if False:\n",
           ("test_register.py",)),
    Mutant("task-refusal-ignored", "commands/definitions.py",
           '    if response.status_code == 400:\n        raise _refusal(path, f"task definition',
           '    if False:\n        raise _refusal(path, f"task definition', ("test_register.py",)),
    Mutant("workflows-before-tasks", "commands/definitions.py",
           "    for path, task in _task_files(project):\n        yield _upsert_task(server, path, task)\n"
           "    for path, workflow in definition_files(project.workflows_dir):\n"
           "        yield _upsert_workflow(server, path, workflow)\n",
           "    for path, workflow in definition_files(project.workflows_dir):\n"
           "        yield _upsert_workflow(server, path, workflow)\n"
           "    for path, task in _task_files(project):\n        yield _upsert_task(server, path, task)\n",
           ("test_register.py",)),
    Mutant("every-definition-differs", "commands/definitions.py",
           "    return stored_form(known, fields) == stored_form(ours, fields)", "    return False",
           ("test_register.py",)),
    Mutant("existing-task-created-again", "commands/definitions.py",
           '        if existed\n        else server.request("POST"',
           '        if not existed\n        else server.request("POST"',
           ("test_register.py",)),
    Mutant("server-extras-compared", "commands/definitions.py",
           "    known = {name: value for name, value in on_server.items() if name in fields or name in ours}",
           "    known = on_server", ("test_register.py", "tests/e2e/test_register.py")),
    Mutant("empty-values-count", "commands/definitions.py",
           "        if not _is_empty(value):\n            result[name] = value",
           "        result[name] = value", ("test_register.py", "tests/e2e/test_register.py")),
)  # fmt: skip


def survivors_documented() -> set[str]:
    """The mutant names docs/mutation.md lists as known survivors (its lines starting `- \\`name\\``)."""
    path = TEMPLATE_ROOT / "docs" / "mutation.md"
    if not path.is_file():
        return set()
    return {line.split("`")[1] for line in path.read_text().splitlines() if line.startswith("- `")}


class Edit:
    """`mutant` applied to the kit under `root`, put back on leaving."""

    def __init__(self, root: Path, mutant: Mutant) -> None:
        self.path = root / mutant.file
        self.original = self.path.read_text()
        if self.original.count(mutant.before) != 1:
            raise SystemExit(f"{mutant.name}: its text is not in {mutant.file} exactly once: update scripts/mutants.py")
        self.mutated = self.original.replace(mutant.before, mutant.after)

    def __enter__(self) -> None:
        self.path.write_text(self.mutated)

    def __exit__(self, *_: object) -> None:
        self.path.write_text(self.original)


def run_tests(command: list[str], cwd: Path, env: dict[str, str]) -> bool:
    """Whether the tests passed (the mutant survived)."""
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TEST_SECONDS)
    except subprocess.TimeoutExpired:
        return False  # hung: caught, if only by the clock
    return result.returncode == 0


def fast_command(project: BakedProject, tests: tuple[str, ...]) -> list[str]:
    paths = [
        str(project.path / "tests" / "test_sdk_contract.py") if t == CONTRACT else str(KIT_TESTS / t) for t in tests
    ]
    return [str(project.bin / "python"), "-m", "pytest", "-c", str(KIT_TESTS / "pytest.ini"), "-x", "-q", *paths]


def run_fast(mutants: list[Mutant], scratch: Path) -> dict[str, bool]:
    project = bake(scratch / "bake").install()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "WORKER_", "PYTEST_"))},
        "PROJECT_PACKAGE": project.package,
        "PROJECT_TASK": project.task_name,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    kit = project.path / "src" / "conductor_worker_kit"
    results = {}
    for mutant in mutants:
        with Edit(kit, mutant):
            results[mutant.name] = run_tests(fast_command(project, mutant.fast_tests), project.path, env)
        report(mutant, results[mutant.name])
    return results


def run_e2e(mutants: list[Mutant], scratch: Path) -> dict[str, bool]:
    copy = scratch / "template"
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".ruff_cache", ".pytest_cache")
    shutil.copytree(TEMPLATE_ROOT, copy, ignore=ignore)
    results = {}
    for mutant in mutants:
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.e2e_tests]
        with Edit(copy / KIT, mutant):
            results[mutant.name] = run_tests(command, copy, dict(os.environ))
        report(mutant, results[mutant.name])
    return results


def report(mutant: Mutant, survived: bool) -> None:
    print(f"{'SURVIVED' if survived else 'killed  '}  {mutant.name}  ({', '.join(mutant.tests)})", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these mutants")
    parser.add_argument("--e2e", action="store_true", help="the mutants that need the real server's tests")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    by_name = {mutant.name: mutant for mutant in MUTANTS}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        parser.error(f"no mutant named {', '.join(unknown)}")
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name}: {mutant.file}; killed by {', '.join(mutant.tests)}")
        return 0
    chosen = [by_name[name] for name in args.names] or list(MUTANTS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        fast = [mutant for mutant in chosen if mutant.fast_tests]
        results = run_fast(fast, Path(scratch)) if fast else {}
        if args.e2e:  # the real server's tests, for what the fast tests did not kill
            e2e = [mutant for mutant in chosen if mutant.e2e_tests and results.get(mutant.name, True)]
            results |= run_e2e(e2e, Path(scratch)) if e2e else {}
    for mutant in chosen:
        if mutant.name not in results:
            print(f"not run   {mutant.name}: only e2e tests kill it (scripts/mutants --e2e)")
    survivors = {name for name, survived in results.items() if survived}
    known = survivors_documented()
    print(f"\n{len(results) - len(survivors)} killed, {len(survivors)} survived in {time.monotonic() - started:.0f} s")
    for name in sorted(survivors):
        print(f"  {name}: {'listed in docs/mutation.md' if name in known else 'NOT EXPLAINED in docs/mutation.md'}")
    return 1 if survivors - known else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
