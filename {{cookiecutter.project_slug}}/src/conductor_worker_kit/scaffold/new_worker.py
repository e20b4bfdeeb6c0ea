"""`new-worker NAME`: a new worker in one command.

It writes the worker module (typed input and result dataclasses, input parsed at the boundary), its
task definition (the retry and timeout defaults, with inputSchema and outputSchema), a unit test, and
adds the function to `WORKERS`. `--workflow WF` appends the task to a workflow; `--from-server` starts
from the definition the server already has. Every check runs before anything is written: a refused
name leaves the tree exactly as it was.
"""

import ast
import json
import keyword
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..commands.definitions import (
    INPUT_SUFFIX,
    TASK_DEFAULTS_FILE,
    TASK_FIELDS,
    TASKS_DIR,
    WORKFLOWS_DIR,
    definition_files,
    stored_form,
)
from .schemas import json_text

PACKAGE = __package__ or ""
PACKAGE_DIR = Path(__file__).parent
WORKERS_DIR = PACKAGE_DIR / "workers"
PROJECT_DIR = PACKAGE_DIR.parents[1]
UNIT_TESTS_DIR = PROJECT_DIR / "tests" / "workers"
SCALED_OBJECT = PROJECT_DIR / "k8s" / "scaledobject.yaml"

NAME_RULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
LINE_LENGTH = 120
# Names a generated worker module imports or defines itself: a worker must not shadow them.
RESERVED = {"dataclass", "asdict", "Any", "Literal", "worker_task", "parse_input", "typed_io", "WORKERS"}
RESERVED |= {"THREAD_COUNT", "POLL_INTERVAL_MILLIS", "InvalidInput"}
# Audit fields the server keeps about a definition; they are not part of it.
AUDIT_FIELDS = {"createTime", "updateTime", "createdBy", "updatedBy", "ownerApp"}


class Refused(Exception):
    """One line naming the rule a request broke; nothing has been written."""


# --- the worker's fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A constructor call in generated code, e.g. `Address(city="example")`."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Field:
    name: str
    annotation: str
    example: Any  # a value that parses: JSON for inputs, Python (with Call) for results
    required: bool = True


@dataclass
class Shape:
    """A dataclass to generate: its fields, and the nested dataclasses they use."""

    class_name: str
    fields: list[Field]
    nested: list["Shape"] = field(default_factory=list)


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _check_identifier(name: str, where: str) -> None:
    # `request` and `result` are the generated function's own variables.
    if not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED | {"request", "result"}:
        raise Refused(f"{where} {name!r} is not usable as a Python field name (an identifier, not a keyword)")


def shape_from_schema(schema: dict[str, Any], class_name: str, keys: list[str], where: str) -> Shape:
    """The dataclass for an object schema (or, without one, for a list of keys typed Any)."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else None
    if properties is None:
        return Shape(class_name, [Field(key, "Any", "example", required=False) for key in keys])
    required = set(schema.get("required") or [])
    shape = Shape(class_name, [])
    for name, sub in properties.items():
        _check_identifier(name, where)
        annotation, example = _type_from_schema(sub if isinstance(sub, dict) else {}, class_name + camel(name), shape)
        if name not in required and not annotation.endswith("| None") and annotation != "Any":
            annotation += " | None"
        shape.fields.append(Field(name, annotation, example, required=name in required))
    # A dataclass lists fields without defaults first.
    shape.fields.sort(key=lambda item: not item.required)
    return shape


def _type_from_schema(schema: dict[str, Any], class_name: str, owner: Shape) -> tuple[str, Any]:
    """(annotation, example) for one property; what cannot be expressed exactly becomes Any."""
    simple = {"string": ("str", "example"), "integer": ("int", 1), "number": ("float", 1.5), "boolean": ("bool", True)}
    kind = schema.get("type")
    options = schema.get("anyOf")
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        inner = {**schema, "type": next(k for k in kind if k != "null")}
        annotation, example = _type_from_schema(inner, class_name, owner)
        return (annotation if annotation == "Any" else f"{annotation} | None"), example
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        inner = next(option for option in options if option != {"type": "null"})
        annotation, example = _type_from_schema(inner, class_name, owner)
        return (annotation if annotation == "Any" else f"{annotation} | None"), example
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return f"Literal[{', '.join(json.dumps(v) for v in enum)}]", enum[0]
    if kind in simple:
        return simple[kind]
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict) or not items:
            return "list[Any]", []
        annotation, example = _type_from_schema(items, class_name + "Item", owner)
        return f"list[{annotation}]", [example]
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(schema.get("properties"), dict):
            nested = shape_from_schema(schema, class_name, [], f"a field of {class_name}")
            owner.nested.append(nested)
            return class_name, {item.name: item.example for item in nested.fields if item.required}
        if isinstance(extra, dict) and extra:
            annotation, _ = _type_from_schema(extra, class_name + "Value", owner)
            return f"dict[str, {annotation}]", {}
        return "dict[str, Any]", {}
    return "Any", "example"


def all_shapes(shape: Shape) -> list[Shape]:
    """Nested dataclasses first: a class must be defined before a field uses it."""
    return [inner for nested in shape.nested for inner in all_shapes(nested)] + [shape]


# --- rendering code that ruff format leaves as it is ---------------------------------------------


class Raw(str):
    """Source text emitted as it is, not as a string literal (e.g. `request.text`)."""


def literal(value: Any, indent: int = 0, start: int | None = None, tail: int = 0) -> str:
    """Python source for a value: on one line if it fits, else one element per line (trailing comma).

    `start` is the column the value starts at (default: `indent`); `tail` counts what follows it.
    """
    flat = _flat(value)
    items = value.arguments if isinstance(value, Call) else value
    fits = (indent if start is None else start) + len(flat) + tail <= LINE_LENGTH
    if fits or not isinstance(value, (dict, list, Call)):
        return flat
    if not items:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        lines = [
            f"{pad}{json.dumps(k)}: {literal(v, indent + 4, indent + 6 + len(json.dumps(k)), 1)},"
            for k, v in value.items()
        ]
        return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"
    if isinstance(value, list):
        lines = [f"{pad}{literal(v, indent + 4, None, 1)}," for v in value]
        return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"
    lines = [f"{pad}{k}={literal(v, indent + 4, indent + 5 + len(k), 1)}," for k, v in value.arguments.items()]
    return f"{value.name}(\n" + "\n".join(lines) + "\n" + " " * indent + ")"


def _flat(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Call):
        return f"{value.name}({', '.join(f'{k}={_flat(v)}' for k, v in value.arguments.items())})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def call_or_lines(head: str, arguments: list[str], tail: str, indent: int = 0) -> str:
    """`head(a, b)tail` on one line if it fits, else one argument per line with a trailing comma."""
    flat = f"{head}({', '.join(arguments)}){tail}"
    if indent + len(flat) <= LINE_LENGTH or not arguments:
        return " " * indent + flat
    lines = "".join(" " * (indent + 4) + f"{argument},\n" for argument in arguments)
    return " " * indent + f"{head}(\n" + lines + " " * indent + f"){tail}"


def import_line(module: str, name: str) -> str:
    flat = f"from {module} import {name}"
    return flat if len(flat) <= LINE_LENGTH else f"from {module} import (\n    {name},\n)"


def docstring(text: str, indent: int) -> str:
    pad = " " * indent
    if indent + len(text) + 6 <= LINE_LENGTH:
        return f'{pad}"""{text}"""'
    lines = textwrap.wrap(text, LINE_LENGTH - indent - 3)
    return f'{pad}"""' + f"\n{pad}".join(lines) + f'\n{pad}"""'


def _python_example(annotation: str, example: Any, shapes: dict[str, Shape]) -> Any:
    """A JSON example as the Python value the parsed dataclass holds (nested dataclasses as calls)."""
    base = annotation.removesuffix(" | None")
    if base in shapes and isinstance(example, dict):
        fields = shapes[base].fields
        return Call(base, {f.name: _python_example(f.annotation, f.example, shapes) for f in fields if f.required})
    if base.startswith("list[") and isinstance(example, list):
        return [_python_example(base[5:-1], item, shapes) for item in example]
    return example


def _as_output(value: Any, shapes: dict[str, Shape]) -> Any:
    """What the SDK sends for a value: dataclasses as dicts of all their fields."""
    if isinstance(value, Call):
        return {f.name: _as_output(value.arguments.get(f.name), shapes) for f in shapes[value.name].fields}
    if isinstance(value, list):
        return [_as_output(item, shapes) for item in value]
    return value


def render_class(shape: Shape, doc: str) -> str:
    lines = ["@dataclass(frozen=True)", f"class {shape.class_name}:", f'    """{doc}"""']
    if shape.fields:
        lines.append("")
    for item in shape.fields:
        lines.append(f"    {item.name}: {item.annotation}{'' if item.required else ' = None'}")
    return "\n".join(lines) + "\n"


@dataclass
class Plan:
    """Everything one `new-worker` run writes: new files, and changed existing files."""

    name: str
    asynchronous: bool
    description: str
    input_shape: Shape
    output_shape: Shape
    definition: dict[str, Any]
    files: dict[Path, str] = field(default_factory=dict)

    @property
    def class_name(self) -> str:
        return camel(self.name)


def input_example(plan: Plan) -> dict[str, Any]:
    return {item.name: item.example for item in plan.input_shape.fields if item.required}


def result_call(plan: Plan) -> tuple[Call, dict[str, Any]]:
    """The placeholder result (echoing inputs of the same name and type) and the output it gives."""
    shapes = {shape.class_name: shape for shape in all_shapes(plan.input_shape) + all_shapes(plan.output_shape)}
    inputs = {item.name: item for item in plan.input_shape.fields if item.required}
    arguments: dict[str, Any] = {}
    output: dict[str, Any] = {}
    for item in plan.output_shape.fields:
        source = inputs.get(item.name)
        if source is not None and source.annotation == item.annotation:
            arguments[item.name], output[item.name] = Raw(f"request.{item.name}"), source.example
        elif item.required:
            arguments[item.name] = _python_example(item.annotation, item.example, shapes)
            output[item.name] = _as_output(arguments[item.name], shapes)
        else:
            arguments[item.name], output[item.name] = None, None
    return Call(f"{plan.class_name}Result", arguments), output


WORKER_COMMENT = """
# The parameters take raw JSON values and parse_input checks them against the input dataclass, so
# bad input fails terminally (InvalidInput, naming the field) instead of being retried. The SDK
# passes `object | None` through untouched (a lone `object` parameter would get the whole Task).
# The dataclasses, not this signature, are the typed I/O: `make schemas` writes them into the
# task definition as inputSchema and outputSchema."""

ASYNC_COMMENT = """
# An async worker returns a dict: the SDK's async runner would wrap a dataclass in {"result": ...}."""


def worker_source(plan: Plan) -> str:
    name, cls = plan.name, plan.class_name
    annotations = " ".join(f.annotation for shape in (plan.input_shape, plan.output_shape) for f in shape.fields)
    if plan.asynchronous:
        annotations += " Any"  # it returns dict[str, Any]
    typing_names = [n for n in ("Any", "Literal") if re.search(rf"\b{n}\b", annotations)]
    imports = [f"from dataclasses import {'asdict, ' if plan.asynchronous else ''}dataclass"]
    if typing_names:
        imports.append(f"from typing import {', '.join(typing_names)}")
    classes = [render_class(shape, f"Part of {cls}Input.") for shape in all_shapes(plan.input_shape)[:-1]]
    classes += [render_class(plan.input_shape, "The task's input: its definition's inputSchema.")]
    classes += [render_class(shape, f"Part of {cls}Result.") for shape in all_shapes(plan.output_shape)[:-1]]
    classes += [render_class(plan.output_shape, "The task's result: its definition's outputSchema.")]
    parameters = [f"{item.name}: object | None = None" for item in plan.input_shape.fields]
    keywords = [f"{item.name}={item.name}" for item in plan.input_shape.fields]
    call, _ = result_call(plan)
    definition = "async def" if plan.asynchronous else "def"
    returns = "dict[str, Any]" if plan.asynchronous else f"{cls}Result"
    return "\n".join(
        [
            f'"""The {name} worker."""',
            "",
            *imports,
            "",
            "from conductor.client.worker.worker_task import worker_task",
            "",
            "from .defaults import POLL_INTERVAL_MILLIS, THREAD_COUNT",
            "from .typed_io import parse_input, typed_io",
            "",
            "",
            "\n\n".join(classes),
            WORKER_COMMENT + (ASYNC_COMMENT if plan.asynchronous else ""),
            "@worker_task(",
            f'    task_definition_name="{name}",',
            "    thread_count=THREAD_COUNT,",
            "    poll_interval_millis=POLL_INTERVAL_MILLIS,",
            ")",
            call_or_lines("@typed_io", [f"input={cls}Input", f"output={cls}Result"], ""),
            call_or_lines(f"{definition} {name}", parameters, f" -> {returns}:"),
            docstring(plan.description, 4),
            call_or_lines(f"request: {cls}Input = parse_input", [f"{cls}Input", *keywords], "", indent=4),
            *([] if "request." in _flat(call) else ["    _ = request  # TODO: build the result from it"]),
            "    # TODO: the work. Raise InvalidInput (from .errors) for input that can never succeed; let other",
            "    # errors raise so the server retries. The same input must give the same result (tasks can rerun).",
            *(
                [f"    result = {literal(call, 4, 13)}", "    return asdict(result)"]
                if plan.asynchronous
                else [f"    return {literal(call, 4, 11)}"]
            ),
            "",
        ]
    )


def test_source(plan: Plan) -> str:
    name = plan.name
    _, output = result_call(plan)
    required = [item for item in plan.input_shape.fields if item.required]
    simple = {
        "str": (7, "a string"),
        "int": ("x", "an integer"),
        "float": ("x", "a number"),
        "bool": ("x", "true or false"),
    }
    wrong = next((item for item in required if item.annotation in simple), None)
    run = "run" if plan.asynchronous else "run_through_sdk"
    head = [docstring(f"The {name} worker: its example input, and bad input failing terminally.", 0), ""]
    head += ["import asyncio"] if plan.asynchronous else []
    head += ["from typing import Any", ""]
    head += ["import pytest"] if required and plan.asynchronous else []
    if not plan.asynchronous:
        head += [
            "from conductor.client.http.models.task import Task",
            "from conductor.client.http.models.task_result_status import TaskResultStatus",
            "from conductor.client.worker.worker import Worker",
        ]
    if head[-1] == "":
        head.pop()
    head += [""]
    head += [import_line(f"{PACKAGE}.workers.errors", "InvalidInput")] if required and plan.asynchronous else []
    head += [import_line(f"{PACKAGE}.workers.{name}", name), ""]
    head += [f"TASK_NAME = {json.dumps(name)}"] if not plan.asynchronous else []
    head += [f"EXAMPLE_INPUT: dict[str, Any] = {literal(input_example(plan), 0, 32)}"]
    head += [f"EXAMPLE_OUTPUT: dict[str, Any] = {literal(output, 0, 33)}"]
    head += [f"REQUIRED = {json.dumps(required[0].name)}"] if required else []
    head += [f"WRONG_TYPE = {json.dumps(wrong.name)}"] if wrong else []
    tests = []
    if plan.asynchronous:
        tests.append(f"def run(input_data: dict[str, Any]) -> Any:\n    return asyncio.run({name}(**input_data))\n")
        tests.append(
            "def test_example_input_gives_the_example_output() -> None:\n"
            "    assert run(EXAMPLE_INPUT) == EXAMPLE_OUTPUT\n"
        )
    else:
        tests.append(
            "def run_through_sdk(input_data: dict[str, Any]) -> Any:\n"
            '    """Execute the worker the way a worker process does, without a server."""\n'
            f"    worker = Worker(TASK_NAME, {name})\n"
            '    return worker.execute(Task(task_id="t-1", workflow_instance_id="wf-1", input_data=input_data))\n'
        )
        tests.append(
            "def test_example_input_gives_the_example_output() -> None:\n"
            "    result = run_through_sdk(EXAMPLE_INPUT)\n"
            "    assert result.status == TaskResultStatus.COMPLETED\n"
            "    assert result.output_data == EXAMPLE_OUTPUT\n"
        )
    for reason, bad_input, test_name in (
        ('f"{REQUIRED} is required"', "{}", "test_missing_input_fails_terminally"),
        (
            'f"{WRONG_TYPE} must be ' + simple[wrong.annotation][1] + '"' if wrong else "",
            "{**EXAMPLE_INPUT, WRONG_TYPE: " + _flat(simple[wrong.annotation][0] if wrong else None) + "}",
            "test_wrong_type_fails_terminally",
        ),
    ):
        if (test_name.startswith("test_missing") and not required) or (
            test_name.startswith("test_wrong") and not wrong
        ):
            continue
        if plan.asynchronous:
            tests.append(
                f"def {test_name}() -> None:\n"
                f"    with pytest.raises(InvalidInput, match={reason}):\n"
                f"        run({bad_input})\n"
            )
        else:
            tests.append(
                f"def {test_name}() -> None:\n"
                f"    result = {run}({bad_input})\n"
                "    assert result.status == TaskResultStatus.FAILED_WITH_TERMINAL_ERROR\n"
                f"    assert result.reason_for_incompletion == {reason}\n"
            )
    return "\n".join(head) + "\n\n\n" + "\n\n".join(tests)


# --- checks, then the plan -----------------------------------------------------------------------


def check_name(name: str) -> None:
    """Refuse a name that is no valid task name, a keyword, or already taken; nothing is written."""
    if not NAME_RULE.match(name):
        raise Refused(
            f"{name!r} is not a valid task name: letters, digits and underscores, starting with a letter, "
            "at most 64 characters"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise Refused(f"{name!r} is a Python keyword; the worker module and function are named after the task")
    if name in RESERVED:
        raise Refused(f"{name!r} is a name every worker module imports; choose another task name")
    taken = [
        (WORKERS_DIR / f"{name}.py", "a module in workers/"),
        (TASKS_DIR / f"{name}.json", "a task definition"),
        (UNIT_TESTS_DIR / f"test_{name}.py", "a unit test module"),
    ]
    for path, what in taken:
        if path.exists():
            raise Refused(f"{name!r} is taken: {what} exists ({path.relative_to(PROJECT_DIR)})")
    if name in {task.get("name") for task in _task_files().values()}:
        raise Refused(f"{name!r} is taken: a task definition in definitions/tasks has that name")
    if name in _names_bound_in(WORKERS_DIR / "__init__.py"):
        raise Refused(f"{name!r} is taken: workers/__init__.py already binds that name")
    if name in _served_task_names():
        raise Refused(f"{name!r} is taken: a worker in WORKERS serves that task")


def _task_files() -> dict[Path, dict[str, Any]]:
    return dict(definition_files(TASKS_DIR))


def _names_bound_in(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _served_task_names() -> list[str]:
    from ..runtime.sdk_adapter import served_task_names

    try:
        return served_task_names()
    except Exception as error:  # the project's own workers do not import: say so, change nothing
        raise Refused(f"cannot read the workers already served ({type(error).__name__}: {error})") from None


def default_plan(name: str, asynchronous: bool) -> Plan:
    cls = camel(name)
    text = [Field("text", "str", "example")]
    return Plan(
        name=name,
        asynchronous=asynchronous,
        description="TODO: say what this task does.",
        input_shape=Shape(f"{cls}Input", text),
        output_shape=Shape(f"{cls}Result", [Field("text", "str", "example")]),
        # Retries, timeouts and the rest come from definitions/task-defaults.json when registered.
        definition={"name": name, "description": "TODO: say what this task does."},
    )


def server_plan(name: str, asynchronous: bool, fetch: Callable[[str], dict[str, Any] | None]) -> Plan:
    """The plan for a task the server already defines: its schemas (or keys) become the dataclasses."""
    found = fetch(name)
    if found is None:
        raise Refused(f"the server has no task definition named {name!r}")
    definition = normalised(found)
    cls = camel(name)
    shapes = []
    for direction, keys_field, schema_field, suffix in (
        ("input", "inputKeys", "inputSchema", "Input"),
        ("output", "outputKeys", "outputSchema", "Result"),
    ):
        keys = [key for key in definition.get(keys_field) or [] if isinstance(key, str)]
        for key in keys:
            _check_identifier(key, f"{keys_field} entry")
        schema_def_ = definition.get(schema_field)
        data = schema_def_.get("data") if isinstance(schema_def_, dict) else None
        schema = data if isinstance(data, dict) and data.get("type", "object") == "object" else {}
        shapes.append(shape_from_schema(schema, f"{cls}{suffix}", keys, f"{direction} field of {name}:"))
        definition[keys_field] = [item.name for item in shapes[-1].fields]
    description = str(definition.get("description") or "TODO: say what this task does.")
    description = " ".join(description.split()).replace('"""', "'''").replace("\\", "/")
    return Plan(name, asynchronous, description, shapes[0], shapes[1], definition)


def _without_audit(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_audit(v) for k, v in value.items() if k not in AUDIT_FIELDS and v is not None}
    if isinstance(value, list):
        return [_without_audit(v) for v in value]
    return value


def normalised(found: dict[str, Any]) -> dict[str, Any]:
    """The server's definition as the repository holds one: the fields whose value is not what the
    task defaults (else the server's own) would give, without the server's bookkeeping."""
    defaults = stored_form(json.loads(TASK_DEFAULTS_FILE.read_text()), TASK_FIELDS)
    on_server = stored_form({k: v for k, v in found.items() if k in TASK_FIELDS}, TASK_FIELDS)
    kept = [key for key in found if key in TASK_FIELDS and on_server.get(key) != defaults.get(key)]
    kept += [key for key in defaults if key not in found and key not in kept]
    definition = {"name": found["name"]}
    definition |= {key: _without_audit(found.get(key)) for key in kept if key != "name"}
    return definition


# --- edits of existing files ---------------------------------------------------------------------


def add_to_workers_list(source: str, module: str, function: str) -> str:
    """workers/__init__.py with `from .module import function` and the function appended to WORKERS."""
    refusal = Refused(
        "cannot add the worker to workers/__init__.py: it must assign `WORKERS = [...]` once, a list of "
        "imported functions with its closing bracket on a line of its own (or all on one line)"
    )
    try:
        tree = ast.parse(source)
    except SyntaxError:
        raise refusal from None
    assignments = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(isinstance(t, ast.Name) and t.id == "WORKERS" for t in _targets(node))
    ]
    if len(assignments) != 1 or not isinstance(assignments[0].value, ast.List):
        raise refusal
    workers = assignments[0].value
    if not all(isinstance(element, ast.Name) for element in workers.elts):
        raise refusal
    lines = source.splitlines(keepends=True)
    first, last = workers.lineno - 1, (workers.end_lineno or workers.lineno) - 1
    if first == last:
        names = [element.id for element in workers.elts if isinstance(element, ast.Name)] + [function]
        before, after = lines[first][: workers.col_offset], lines[first][workers.end_col_offset :]
        lines[first] = before + "[\n" + "".join(f"    {n},\n" for n in names) + "]" + after
    elif lines[last].strip() == "]":
        lines.insert(last, f"    {function},\n")
    else:
        raise refusal
    # The import goes among the other relative imports, in order (ruff's isort rule).
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1]
    statement = import_line(f".{module}", function) + "\n"
    later = [node for node in imports if (node.module or "").lower() > module.lower()]
    if later:
        lines.insert(later[0].lineno - 1, statement)
    elif imports:
        lines.insert(imports[-1].end_lineno or imports[-1].lineno, statement)
    else:
        lines.insert(workers.lineno - 1, statement + "\n")
    edited = "".join(lines)
    ast.parse(edited)
    return edited


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def add_autoscaling_trigger(text: str, task_name: str) -> str:
    """k8s/scaledobject.yaml with a copy of its first queue-depth trigger, for `task_name`'s queue."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.match(r"^\s*- type: ", line)]
    if not starts or "triggers:" not in "".join(lines[: starts[0]]):
        raise Refused("cannot add an autoscaling trigger: k8s/scaledobject.yaml has no `triggers:` list to copy from")
    first = starts[0]
    indent = len(lines[first]) - len(lines[first].lstrip())

    def end_of(start: int) -> int:
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        return end

    block = "".join(lines[first : end_of(first)])
    copy, count = re.subn(r"taskType=\w+", f"taskType={task_name}", block)
    if count != 1:
        raise Refused("cannot add an autoscaling trigger: the first trigger in k8s/scaledobject.yaml reads no taskType")
    last_end = end_of(starts[-1])
    return "".join(lines[:last_end]) + copy + "".join(lines[last_end:])


def workflow_paths() -> dict[str, Path]:
    paths = {}
    for path in sorted(WORKFLOWS_DIR.glob("*.json")):
        if not path.name.endswith(INPUT_SUFFIX):
            paths[json.loads(path.read_text()).get("name")] = path
    return paths


def add_to_workflow(plan: Plan, workflow_name: str) -> None:
    """Append the task as a SIMPLE task fed from the workflow's input (example values added too)."""
    paths = workflow_paths()
    if workflow_name not in paths:
        known = ", ".join(sorted(str(name) for name in paths)) or "none"
        raise Refused(f"no workflow named {workflow_name!r} in definitions/workflows (known: {known})")
    path = paths[workflow_name]
    workflow = json.loads(path.read_text())
    references = {task.get("taskReferenceName") for task in workflow.get("tasks", [])}
    reference, counter = plan.name, 1
    while reference in references:
        counter += 1
        reference = f"{plan.name}_{counter}"
    fields = plan.input_shape.fields
    workflow.setdefault("tasks", []).append(
        {
            "name": plan.name,
            "taskReferenceName": reference,
            "type": "SIMPLE",
            "inputParameters": {item.name: "${workflow.input." + item.name + "}" for item in fields},
        }
    )
    inputs = workflow.setdefault("inputParameters", [])
    inputs += [item.name for item in fields if item.name not in inputs]
    plan.files[path] = _json_text(workflow)
    example_path = path.with_name(f"{workflow_name}{INPUT_SUFFIX}")
    example = json.loads(example_path.read_text()) if example_path.exists() else {}
    missing = {item.name: item.example for item in fields if item.name not in example}
    if missing:
        plan.files[example_path] = _json_text({**example, **missing})


def _json_text(data: object) -> str:
    return json_text(data) + "\n"


# --- the command ---------------------------------------------------------------------------------


def plan_files(plan: Plan) -> None:
    plan.files[WORKERS_DIR / f"{plan.name}.py"] = worker_source(plan)
    plan.files[UNIT_TESTS_DIR / f"test_{plan.name}.py"] = test_source(plan)
    listing = WORKERS_DIR / "__init__.py"
    plan.files[listing] = add_to_workers_list(listing.read_text(), plan.name, plan.name)
    if SCALED_OBJECT.exists():  # the Kubernetes option: autoscaling follows every task's queue
        plan.files[SCALED_OBJECT] = add_autoscaling_trigger(SCALED_OBJECT.read_text(), plan.name)


def definition_with_schemas(plan: Plan) -> dict[str, Any]:
    """The task definition, its schemas generated from the worker just written.

    A schema the server already has is kept as it is when it says the same (its descriptions stay).
    """
    import importlib

    from .schemas import schema_def
    from ..typed_io import agrees, io_types

    module = importlib.import_module(f"{PACKAGE}.workers.{plan.name}")
    types = io_types(getattr(module, plan.name))
    if types is None:
        raise Refused(f"the generated worker {plan.name} has no @typed_io")
    definition = dict(plan.definition)
    definition["inputKeys"] = [item.name for item in plan.input_shape.fields]
    definition["outputKeys"] = [item.name for item in plan.output_shape.fields]
    for key, direction, cls in (("inputSchema", "input", types[0]), ("outputSchema", "output", types[1])):
        generated = schema_def(plan.name, direction, cls)
        stored = definition.get(key)
        if not (isinstance(stored, dict) and agrees(generated["data"], stored.get("data"))):
            definition[key] = generated
    definition.setdefault("enforceSchema", False)
    return definition


def new_worker(
    name: str,
    asynchronous: bool = False,
    workflow: str | None = None,
    fetch: Callable[[str], dict[str, Any] | None] | None = None,
) -> list[str]:
    """Add the worker; `fetch` (name -> the server's definition or None) starts from the server's."""
    check_name(name)
    plan = server_plan(name, asynchronous, fetch) if fetch else default_plan(name, asynchronous)
    if workflow is not None:
        add_to_workflow(plan, workflow)
    plan_files(plan)
    task_path = TASKS_DIR / f"{name}.json"
    originals = {path: path.read_bytes() if path.exists() else None for path in [*plan.files, task_path]}
    try:
        for path, text in plan.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        task_path.write_text(_json_text(definition_with_schemas(plan)))
    except BaseException:
        # Whatever went wrong, the tree goes back to what it was.
        for path, original in originals.items():
            if original is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(original)
        raise
    root = PROJECT_DIR
    module = (WORKERS_DIR / f"{name}.py").relative_to(root)
    return [f"wrote {path.relative_to(root)}" for path in originals] + [
        f"next: fill in {module} (`make schemas` after changing its dataclasses), `make check`, `make register`"
    ]
