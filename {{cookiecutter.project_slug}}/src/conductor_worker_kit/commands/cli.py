# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""The command line every project gets: `python -m <package> [worker|register|run-workflow|doctor|health|
new-worker|schemas|capture]`, for the package the team's `__main__.py` names."""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from ..config import ConfigError, Settings, check_task_variables, configure_logging, load_env_file, load_settings
from ..project import Project

USAGE_ERROR = 2


def _worker(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..runtime.supervisor import serve

    return serve(settings, project)


def _register(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..conductor_client import ConductorClient
    from .definitions import register, task_definitions

    check_task_variables(os.environ, [task["name"] for task in task_definitions(project)])
    with ConductorClient(settings) as server:
        for line in register(server, project):
            print(line)
    return 0


def _run_workflow(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..conductor_client import ConductorClient
    from . import run_workflow
    from .definitions import example_input, workflow_definitions

    names = [workflow["name"] for workflow in workflow_definitions(project)]
    if args.workflow is None and len(names) != 1:
        print(f"error: choose a workflow with --workflow: {', '.join(names) or 'none defined'}", file=sys.stderr)
        return USAGE_ERROR
    name = args.workflow or names[0]
    workflow_input = json.loads(args.input) if args.input is not None else example_input(project, name)
    deadline = time.monotonic() + args.timeout  # for starting and waiting, retries included
    with ConductorClient(settings) as server:
        workflow_id = run_workflow.start(server, name, workflow_input, args.domain, deadline)
        print(f"started {name}: {workflow_id}", file=sys.stderr)
        result = run_workflow.summary(run_workflow.wait(server, workflow_id, deadline))
    print(json.dumps(result, indent=2))
    return 0 if result["status"] == "COMPLETED" else 1


def _doctor(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from .doctor import run_checks

    failed = 0
    for check in run_checks(settings, project):
        print(check, flush=True)
        failed += not check.ok
    return 1 if failed else 0


def _health(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..runtime.run_state import problems

    found = problems(settings.health_dir, settings.health_max_age_seconds)
    print("; ".join(found) if found else "healthy")
    return 1 if found else 0


def _new_worker(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..scaffold.new_worker import Refused, new_worker

    try:
        if args.from_server:
            from ..conductor_client import ConductorClient

            with ConductorClient(settings) as server:
                fetch = server.task_definition
                lines = new_worker(project, args.name, args.asynchronous, args.workflow, fetch, args.long_running)
        else:
            lines = new_worker(project, args.name, args.asynchronous, args.workflow, long_running=args.long_running)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    for line in lines:
        print(line)
    return 0


def _schemas(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..scaffold.schemas import update

    lines = update(project, check=args.check)
    for line in lines:
        print(line)
    return 1 if any(line.startswith("stale") for line in lines) else 0


def _capture(settings: Settings, project: Project, args: argparse.Namespace) -> int:
    from ..conductor_client import ConductorClient
    from ..runtime.sdk_adapter import served_task_names
    from ..scaffold.capture import capture
    from ..scaffold.new_worker import Refused

    try:
        with ConductorClient(settings) as server:
            served = served_task_names(project)
            lines = capture(project, server.task, args.task_id, served, args.redact, args.max_bytes, args.force)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _json_object(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return text


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds > 0")
    return value


def _byte_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of bytes > 0")
    return int(text)


def parser(package: str) -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog=f"python -m {package}",
        description="The worker and its tools: run it, register its definitions, try the example workflow, "
        "diagnose the setup. Settings come from the environment and .env (see the README).",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("worker", help="poll and execute tasks until SIGTERM/SIGINT (the default)")
    commands.add_parser("register", help="make the server's task and workflow definitions equal the JSON files")
    run = commands.add_parser("run-workflow", help="start the example workflow and wait for its result")
    run.add_argument(
        "--input", type=_json_object, help="workflow input, a JSON object (default: workflows/<name>.input.json)"
    )
    run.add_argument(
        "--timeout",
        type=_positive,
        default=60.0,
        help="seconds to wait for the result, retrying while the server is unreachable (default: 60)",
    )
    run.add_argument("--domain", help="queue the tasks in this domain (taskToDomain {'*': DOMAIN})")
    run.add_argument("--workflow", help="workflow to run (default: the only one in definitions/workflows)")
    commands.add_parser("doctor", help="check server, credentials, definitions, domains and permissions")
    commands.add_parser("health", help="exit 0 if every worker process polled recently (for probes)")
    new = commands.add_parser("new-worker", help="add a worker: module, task definition, unit test, WORKERS entry")
    new.add_argument("name", help="the task name; also the worker's module and function name")
    new.add_argument("--async", dest="asynchronous", action="store_true", help="an `async def` worker")
    new.add_argument("--workflow", help="also append the task to this workflow, fed from its input")
    new.add_argument(
        "--long-running",
        action="store_true",
        help="for work longer than a response timeout: lease extension on, a definition with room for it",
    )
    new.add_argument(
        "--from-server", action="store_true", help="start from the server's definition of NAME (keys, schemas)"
    )
    schemas = commands.add_parser("schemas", help="write each worker's typed I/O into its task definition")
    schemas.add_argument("--check", action="store_true", help="only report stale schemas (exit 1 if any)")
    capture = commands.add_parser("capture", help="turn a finished task on the server into a replayed test case")
    capture.add_argument("task_id", metavar="TASK_ID", help="the task's id (the server's UI and API show it)")
    capture.add_argument(
        "--redact", action="append", default=[], metavar="KEY", help='write "[redacted]" for KEY\'s values (repeatable)'
    )
    capture.add_argument(
        "--max-bytes", type=_byte_count, default=256 * 1024, help="refuse a larger case file (default: 262144)"
    )
    capture.add_argument("--force", action="store_true", help="replace the task's case file if it exists")
    return root


# They write into the project's checkout, so they refuse to run from an installed package alone (an image).
DEVELOPMENT_COMMANDS = {"new-worker", "schemas", "capture"}
COMMANDS = {
    "worker": _worker,
    "register": _register,
    "run-workflow": _run_workflow,
    "doctor": _doctor,
    "health": _health,
    "new-worker": _new_worker,
    "schemas": _schemas,
    "capture": _capture,
}


def main(package: str, argv: Sequence[str] | None = None) -> int:
    """Run the command in `argv` (default: the process's arguments) for the team's package `package`."""
    project = Project(package)
    args = parser(package).parse_args(argv)
    command = args.command or "worker"
    if command in DEVELOPMENT_COMMANDS:
        from ..scaffold.checkout import NotACheckout, checkout_project

        try:
            project = checkout_project(project)
        except NotACheckout as error:
            print(f"error: {command} is {error}", file=sys.stderr)
            return USAGE_ERROR
    load_env_file()
    try:
        settings = load_settings()
        configure_logging()
        return COMMANDS[command](settings, project, args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as error:
        # Imported here: the `worker` command stays free of the HTTP client (a worker process checks the server).
        from ..conductor_client import ServerError

        if not isinstance(error, ServerError):
            raise
        for line in str(error).splitlines():  # e.g. each reason the server refused a definition for
            print(f"error: {line}", file=sys.stderr)
        return 1
