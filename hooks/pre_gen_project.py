"""Refuse bad answers before cookiecutter writes anything.

The answers reach this script as JSON (``tojson``) inside a raw string and are parsed with
``json.loads``: an answer is only ever data, never code.
"""

import json
import keyword
import re
import sys

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
# Letters, digits and underscores keep the SDK's CONDUCTOR_WORKER_<TASK>_* variables usable from a shell.
CONDUCTOR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
RESERVED_PACKAGES = {"conductor", "conductor_worker_kit", "tests", "test", "src"}
# The example worker's module and function are named after the task: these names are already taken there.
RESERVED_TASK_NAMES = {"defaults", "Order", "OrderTotals", "LineItem", "parse_order", "totals", "dataclass", "Decimal"}
RESERVED_TASK_NAMES |= {"worker_task", "typed_io", "InvalidInput", "THREAD_COUNT", "POLL_INTERVAL_MILLIS", "WORKERS"}
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")


def _text(answers: dict, field: str, max_len: int) -> str | None:
    value = answers.get(field)
    if not isinstance(value, str) or not value.strip():
        return f"{field}: must not be empty"
    if CONTROL.search(value):
        return f"{field}: must be a single line without control characters"
    if len(value) > max_len:
        return f"{field}: must be at most {max_len} characters"
    return None


def _pattern(answers: dict, field: str, pattern: re.Pattern, rule: str, max_len: int) -> str | None:
    value = answers.get(field)
    if not isinstance(value, str) or not pattern.match(value):
        return f"{field}: {rule} (got {json.dumps(value)})"
    if len(value) > max_len:
        return f"{field}: must be at most {max_len} characters (got {len(value)})"
    return None


def _package_not_reserved(answers: dict) -> str | None:
    package = answers.get("package_name")
    if not isinstance(package, str) or not PACKAGE.match(package):
        return None  # the pattern check reports it
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        return f"package_name: must not be a Python keyword (got {json.dumps(package)})"
    if package in sys.stdlib_module_names or package in RESERVED_PACKAGES:
        return f"package_name: must not shadow the module {json.dumps(package)}"
    return None


def _task_is_a_python_name(answers: dict) -> str | None:
    task = answers.get("task_definition_name")
    if not isinstance(task, str) or not CONDUCTOR_NAME.match(task):
        return None  # the pattern check reports it
    if keyword.iskeyword(task) or keyword.issoftkeyword(task):
        return f"task_definition_name: must not be a Python keyword, it names a function (got {json.dumps(task)})"
    if task in RESERVED_TASK_NAMES or task.upper() in RESERVED_TASK_NAMES:
        return f"task_definition_name: {json.dumps(task)} is a name the example worker's module already uses"
    return None


def validate(answers: dict) -> list[str]:
    """One message per bad answer, each naming the field and the rule it breaks, in prompt order."""
    errors = [
        _text(answers, "project_name", 80),
        _pattern(
            answers, "project_slug", SLUG, "must be lowercase letters and digits in words joined by single hyphens", 64
        ),
        _pattern(
            answers, "package_name", PACKAGE, "must be a lowercase Python identifier (letters, digits, underscores)", 64
        ),
        _package_not_reserved(answers),
        _pattern(
            answers,
            "task_definition_name",
            CONDUCTOR_NAME,
            "must start with a letter and hold only letters, digits and underscores",
            64,
        ),
        _task_is_a_python_name(answers),
        _pattern(
            answers,
            "workflow_name",
            CONDUCTOR_NAME,
            "must start with a letter and hold only letters, digits and underscores",
            64,
        ),
        _text(answers, "description", 200),
        _pattern(answers, "owner_email", EMAIL, "must look like name@example.com", 254),
    ]
    if answers.get("python_version") not in PYTHON_VERSIONS:
        errors.append(f"python_version: must be one of {', '.join(PYTHON_VERSIONS)}")
    for flag in ("kubernetes", "metrics"):
        if not isinstance(answers.get(flag), bool):
            errors.append(f"{flag}: must be yes or no")
    return [error for error in errors if error]


def main() -> int:
    errors = validate(json.loads(ANSWERS_JSON))
    if errors:
        # The first error only: a bad slug would otherwise repeat in every answer derived from it.
        print(f"ERROR: {errors[0]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
