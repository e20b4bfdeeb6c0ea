# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""`new-worker NAME`: a new worker in one command.

It writes the worker module (typed input and result dataclasses, input parsed at the boundary), its
task definition (name, keys, inputSchema and outputSchema; retries and timeouts come from the task
defaults), a unit test, and adds the function to `WORKERS` (and, with the Kubernetes files, a
queue-depth trigger). `--workflow WF` appends the task to a workflow; `--from-server` starts from the
definition the server already has. Every check runs before anything is written: a refused name
leaves the tree exactly as it was.

New files are the templates beside this module (`templates/*.tmpl`) filled in by `render`; existing
files get small edits that are checked before anything is written (`WORKERS` through `ast`, JSON as
JSON). Everything is found through the `Project` of the checkout, never a path of the kit's own.
"""

import ast
import importlib
import json
import keyword
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..commands.definitions import INPUT_SUFFIX, TASK_FIELDS, definition_files, stored_form
from ..project import Project
from ..task_io import agrees, io_types
from .schemas import json_text, schema_def

Fetch = Callable[[str], dict[str, Any] | None]  # task name -> the server's definition, or None

TEMPLATES = Path(__file__).parent / "templates"
NAME_RULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
LINE_LENGTH = 120  # the project's ruff line-length: generated code is laid out as `ruff format` would
# Names a generated worker module binds: a task (its function) or an input field must not shadow them.
WORKER_MODULE_NAMES = {"dataclass", "asdict", "Any", "Literal", "worker_task", "parse_input", "typed_io"}
WORKER_MODULE_NAMES |= {"InvalidInput", "THREAD_COUNT", "POLL_INTERVAL_MILLIS", "WORKERS"}
# Names its unit test binds besides: the task's function, imported there, must not be shadowed either.
UNIT_TEST_NAMES = {"asyncio", "pytest", "Task", "TaskResultStatus", "Worker", "run", "run_through_sdk"}
UNIT_TEST_NAMES |= {"TASK_NAME", "EXAMPLE_INPUT", "EXAMPLE_OUTPUT", "BAD_INPUT"}
# Audit fields the server keeps about a definition; they are not part of it.
AUDIT_FIELDS = {"createTime", "updateTime", "createdBy", "updatedBy", "ownerApp"}
# A value of the wrong type for each simple field type, and how parse_input names the type wanted.
WRONG_VALUES = {
    "str": (7, "a string"),
    "int": ("x", "an integer"),
    "float": ("x", "a number"),
    "bool": ("x", "true or false"),
}
TODO_DESCRIPTION = "TODO: say what this task does."


# `--long-running`: the runner sends a heartbeat at 80 % of responseTimeoutSeconds, so the server keeps
# the task alive however long it runs; an attempt still ends at timeoutSeconds. Heartbeats under ~10 s
# of timeout can come late on a loaded machine (README, Long-running tasks).
LEASE_EXTENSION_LINE = "lease_extend_enabled=True,  # heartbeats keep the task alive past responseTimeoutSeconds"
LONG_RUNNING_DEFINITION = {"responseTimeoutSeconds": 60, "timeoutSeconds": 3600}


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
    if not name.isidentifier() or keyword.iskeyword(name) or name in WORKER_MODULE_NAMES | {"request", "result"}:
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


# --- templates, filled in as `ruff format` would lay them out -------------------------------------

PLACEHOLDER = re.compile(r"\$(\w+)")


class Raw(str):
    """Code written as it is inside a Python value, not as a string literal (e.g. `request.text`)."""


@dataclass(frozen=True)
class Items:
    """Code between brackets the template writes, e.g. `def f($parameters)`: on the line if it fits,
    else one item per line with a trailing comma."""

    items: list[str]


@dataclass(frozen=True)
class Docstring:
    """A docstring's text, wrapped to fit where the template puts it."""

    text: str


def render(template: str, **values: object) -> str:
    """`templates/<template>` with each `$name` replaced by its value, which is one of:

    - None: the line is left out (and so is a blank line that this would double, or leave at the end);
    - a str: code as it is, its later lines indented like the template line;
    - Items or a Docstring (see each);
    - any other value (dict, list, tuple, Call, str inside them): a Python literal, on one line if it
      fits, else one element per line.
    """
    lines: list[str] = []
    after_left_out = False
    for line in (TEMPLATES / template).read_text().splitlines():
        if any(values[name] is None for name in PLACEHOLDER.findall(line)):
            after_left_out = True
        elif not line and after_left_out and (not lines or not lines[-1]):
            continue
        else:
            after_left_out = False
            lines.append(_filled(line, values))
    while after_left_out and lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _filled(line: str, values: Mapping[str, object]) -> str:
    """One template line with its placeholders replaced, left to right (each laid out for its column)."""
    indent = len(line) - len(line.lstrip())
    done, rest = "", line
    while match := PLACEHOLDER.search(rest):
        done, rest = done + rest[: match.start()], rest[match.end() :]
        column = len(done.rsplit("\n", 1)[-1])
        tail = len(PLACEHOLDER.sub(lambda later: _flat_text(values[later[1]]), rest))
        done += _laid_out(values[match[1]], indent, column, tail)
    return done + rest


def _flat_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Items):
        return ", ".join(value.items)
    if isinstance(value, Docstring):
        return f'"""{value.text}"""'
    return _flat(value)


def _laid_out(value: object, indent: int, column: int, tail: int) -> str:
    """`value` as code that starts at `column` of a line indented by `indent`, with `tail` characters after it."""
    if isinstance(value, str):
        first, *later = value.removesuffix("\n").split("\n")
        return "\n".join([first, *(" " * indent + line if line else line for line in later)])
    if isinstance(value, Items):
        flat = ", ".join(value.items)
        if column + len(flat) + tail <= LINE_LENGTH or not value.items:
            return flat
        return "\n" + "".join(f"{' ' * (indent + 4)}{item},\n" for item in value.items) + " " * indent
    if isinstance(value, Docstring):
        return _docstring(value.text, indent)
    return literal(value, indent, column, tail)


def _docstring(text: str, indent: int) -> str:
    # As ruff format does: a quote at either end would merge with the triple quotes, so a space parts them.
    text = (" " if text.startswith('"') else "") + text + (" " if text.endswith('"') else "")
    if indent + len(text) + 6 <= LINE_LENGTH:
        return f'"""{text}"""'
    pad = "\n" + " " * indent
    return '"""' + pad.join(textwrap.wrap(text, LINE_LENGTH - indent - 3)) + pad + '"""'


def literal(value: Any, indent: int = 0, start: int | None = None, tail: int = 0) -> str:
    """Python source for a value: on one line if it fits, else one element per line (trailing comma).

    `start` is the column the value starts at (default: `indent`); `tail` counts what follows it.
    """
    flat = _flat(value)
    fits = (indent if start is None else start) + len(flat) + tail <= LINE_LENGTH
    elements = value.arguments if isinstance(value, Call) else value
    if fits or not isinstance(value, (dict, list, tuple, Call)) or not elements:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        keys = {k: json.dumps(k) for k in value}
        lines = [f"{pad}{keys[k]}: {literal(v, indent + 4, indent + 6 + len(keys[k]), 1)}," for k, v in value.items()]
        opening, closing = "{", "}"
    elif isinstance(value, Call):
        lines = [f"{pad}{k}={literal(v, indent + 4, indent + 5 + len(k), 1)}," for k, v in value.arguments.items()]
        opening, closing = f"{value.name}(", ")"
    else:
        lines = [f"{pad}{literal(v, indent + 4, None, 1)}," for v in value]
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    return opening + "\n" + "\n".join(lines) + "\n" + " " * indent + closing


def _flat(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Call):
        return f"{value.name}({', '.join(f'{k}={_flat(v)}' for k, v in value.arguments.items())})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_flat(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def import_line(module: str, name: str) -> str:
    flat = f"from {module} import {name}"
    return flat if len(flat) <= LINE_LENGTH else f"from {module} import (\n    {name},\n)"


# --- what the new files say ----------------------------------------------------------------------


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
    long_running: bool = False  # lease extension on, and a definition with room for a long attempt

    @property
    def class_name(self) -> str:
        return camel(self.name)


def input_example(plan: Plan) -> dict[str, Any]:
    return {item.name: item.example for item in plan.input_shape.fields if item.required}


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


def bad_inputs(plan: Plan) -> list[tuple[dict[str, Any], str]]:
    """The unit test's table of input that parse_input refuses: each required field left out, each field
    of a simple type given a wrong one; with the reason the task fails with."""
    example = input_example(plan)
    rows = []
    for item in plan.input_shape.fields:
        if item.required and not item.annotation.endswith("| None"):  # a nullable field takes a null
            rows.append(({k: v for k, v in example.items() if k != item.name}, f"{item.name} is required"))
    for item in plan.input_shape.fields:
        wrong = WRONG_VALUES.get(item.annotation.removesuffix(" | None"))
        if wrong is not None:
            rows.append(({**example, item.name: wrong[0]}, f"{item.name} must be {wrong[1]}"))
    return rows


def dataclass_sources(plan: Plan) -> str:
    """The input and result dataclasses, each after the nested ones its fields use."""
    cls = plan.class_name
    documented = [(shape, f"Part of {cls}Input.") for shape in all_shapes(plan.input_shape)[:-1]]
    documented += [(plan.input_shape, "The task's input: its definition's inputSchema.")]
    documented += [(shape, f"Part of {cls}Result.") for shape in all_shapes(plan.output_shape)[:-1]]
    documented += [(plan.output_shape, "The task's result: its definition's outputSchema.")]
    classes = []
    for shape, doc in documented:
        fields = [f"{item.name}: {item.annotation}{'' if item.required else ' = None'}" for item in shape.fields]
        values = {"class_name": shape.class_name, "doc": doc, "fields": "\n".join(fields) or None}
        classes.append(render("dataclass.py.tmpl", **values))
    return "\n\n".join(classes)


def _typing_names(plan: Plan) -> str | None:
    """What the worker module imports from `typing`: the names its annotations use."""
    shapes = all_shapes(plan.input_shape) + all_shapes(plan.output_shape)
    annotations = " ".join(item.annotation for shape in shapes for item in shape.fields)
    if plan.asynchronous:
        annotations += " Any"  # it returns dict[str, Any]
    return ", ".join(name for name in ("Any", "Literal") if re.search(rf"\b{name}\b", annotations)) or None


def worker_source(plan: Plan) -> str:
    cls, fields = plan.class_name, plan.input_shape.fields
    call, _ = result_call(plan)
    return render(
        "worker_async.py.tmpl" if plan.asynchronous else "worker.py.tmpl",
        name=plan.name,
        typing_names=_typing_names(plan),
        dataclasses=dataclass_sources(plan),
        io_types=Items([f"input={cls}Input", f"output={cls}Result"]),
        parameters=Items([f"{item.name}: object | None = None" for item in fields]),
        result_class=f"{cls}Result",
        lease_extension=LEASE_EXTENSION_LINE if plan.long_running else None,
        docstring=Docstring(plan.description),
        input_class=f"{cls}Input",
        parse_arguments=Items([f"{cls}Input", *(f"{item.name}={item.name}" for item in fields)]),
        # Ruff refuses a variable assigned and never read; the placeholder result may not read it.
        unused_request=None if "request." in _flat(call) else "_ = request  # TODO: build the result from it",
        result=call,
    )


def unit_test_source(project: Project, plan: Plan) -> str:
    _, output = result_call(plan)
    rows = bad_inputs(plan)
    variant = "_async" if plan.asynchronous else ""
    return render(
        f"unit_test{variant}.py.tmpl",
        name=plan.name,
        import_pytest="import pytest" if rows else None,
        import_invalid_input="from conductor_worker_kit import InvalidInput" if rows else None,
        import_worker=import_line(f"{project.package}.workers.{plan.name}", plan.name),
        example_input=input_example(plan),
        example_output=output,
        bad_input_test=render(f"bad_input_test{variant}.py.tmpl", bad_input=rows) if rows else None,
    )


# --- checks, then the plan -----------------------------------------------------------------------


def checkout_dir(project: Project) -> Path:
    root = project.checkout_dir
    if root is None:
        raise Refused(f"new-worker writes into a checkout: src/{project.package}/ beside a pyproject.toml")
    return root


def unit_tests_dir(project: Project) -> Path:
    return checkout_dir(project) / "tests" / "workers"


def check_name(project: Project, name: str) -> None:
    """Refuse a name that is no valid task name, a keyword, or already taken; nothing is written."""
    if not NAME_RULE.match(name):
        raise Refused(
            f"{name!r} is not a valid task name: letters, digits and underscores, starting with a letter, "
            "at most 64 characters"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise Refused(f"{name!r} is a Python keyword; the worker module and function are named after the task")
    if name in WORKER_MODULE_NAMES | UNIT_TEST_NAMES:
        raise Refused(f"{name!r} is a name the generated worker module or its unit test uses; choose another task name")
    taken = [
        (project.workers_dir / f"{name}.py", "a module in workers/"),
        (project.tasks_dir / f"{name}.json", "a task definition"),
        (unit_tests_dir(project) / f"test_{name}.py", "a unit test module"),
    ]
    for path, what in taken:
        if path.exists():
            raise Refused(f"{name!r} is taken: {what} exists ({path.relative_to(checkout_dir(project))})")
    if name in {task.get("name") for _, task in definition_files(project.tasks_dir)}:
        raise Refused(f"{name!r} is taken: a task definition in definitions/tasks has that name")
    if name in _names_bound_in(project.workers_dir / "__init__.py"):
        raise Refused(f"{name!r} is taken: workers/__init__.py already binds that name")
    if name in _served_task_names(project):
        raise Refused(f"{name!r} is taken: a worker in WORKERS serves that task")


def _names_bound_in(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            names |= {target.id for target in _targets(node) if isinstance(target, ast.Name)}
    return names


def _served_task_names(project: Project) -> list[str]:
    from ..runtime.sdk_adapter import served_task_names

    try:
        return served_task_names(project)
    except Exception as error:  # the project's own workers do not import: say so, change nothing
        raise Refused(f"cannot read the workers already served ({type(error).__name__}: {error})") from None


def check_imported_from_checkout(project: Project) -> None:
    """The task definition's schemas come from importing the module written: Python must import the
    package from this checkout (the editable install `make install` makes), not from a copy elsewhere."""
    imported = Path(importlib.import_module(f"{project.package}.workers").__file__ or "").resolve().parent
    if imported != project.workers_dir.resolve():
        raise Refused(
            f"python imports {project.package} from {imported.parent}, not from this checkout: "
            "run `make install` here first"
        )


def default_plan(name: str, asynchronous: bool) -> Plan:
    cls = camel(name)
    return Plan(
        name=name,
        asynchronous=asynchronous,
        description=TODO_DESCRIPTION,
        input_shape=Shape(f"{cls}Input", [Field("text", "str", "example")]),
        output_shape=Shape(f"{cls}Result", [Field("text", "str", "example")]),
        # Retries, timeouts and the rest come from definitions/task-defaults.json when registered.
        definition={"name": name, "description": TODO_DESCRIPTION},
    )


def server_plan(project: Project, name: str, asynchronous: bool, fetch: Fetch) -> Plan:
    """The plan for a task the server already defines: its schemas (or keys) become the dataclasses."""
    found = fetch(name)
    if found is None:
        raise Refused(f"the server has no task definition named {name!r}")
    definition = normalised(project, found)
    cls = camel(name)
    shapes = []
    for direction, keys_field, schema_field, suffix in (
        ("input", "inputKeys", "inputSchema", "Input"),
        ("output", "outputKeys", "outputSchema", "Result"),
    ):
        keys = [key for key in definition.get(keys_field) or [] if isinstance(key, str)]
        for key in keys:
            _check_identifier(key, f"{keys_field} entry")
        stored = definition.get(schema_field)
        data = stored.get("data") if isinstance(stored, dict) else None
        schema = data if isinstance(data, dict) and data.get("type", "object") == "object" else {}
        shapes.append(shape_from_schema(schema, f"{cls}{suffix}", keys, f"{direction} field of {name}:"))
        definition[keys_field] = [item.name for item in shapes[-1].fields]
    # The description becomes a docstring: one line of text that cannot end it early or escape.
    description = " ".join(str(definition.get("description") or TODO_DESCRIPTION).split())
    description = description.replace('"""', "'''").replace("\\", "/")
    return Plan(name, asynchronous, description, shapes[0], shapes[1], definition)


def _without_audit(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_audit(v) for k, v in value.items() if k not in AUDIT_FIELDS and v is not None}
    if isinstance(value, list):
        return [_without_audit(v) for v in value]
    return value


def normalised(project: Project, found: dict[str, Any]) -> dict[str, Any]:
    """The server's definition as the repository holds one: the fields whose value is not what the
    task defaults (else the server's own) would give, without the server's bookkeeping."""
    defaults = stored_form(json.loads(project.task_defaults_file.read_text()), TASK_FIELDS)
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


def add_to_workflow(project: Project, plan: Plan, workflow_name: str) -> None:
    """Append the task as a SIMPLE task fed from the workflow's input (example values added too)."""
    paths = {workflow.get("name"): path for path, workflow in definition_files(project.workflows_dir)}
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


def plan_files(project: Project, plan: Plan) -> None:
    plan.files[project.workers_dir / f"{plan.name}.py"] = worker_source(plan)
    plan.files[unit_tests_dir(project) / f"test_{plan.name}.py"] = unit_test_source(project, plan)
    listing = project.workers_dir / "__init__.py"
    plan.files[listing] = add_to_workers_list(listing.read_text(), plan.name, plan.name)
    scaled_object = checkout_dir(project) / "k8s" / "scaledobject.yaml"
    if scaled_object.exists():  # the Kubernetes option: autoscaling follows every task's queue
        plan.files[scaled_object] = add_autoscaling_trigger(scaled_object.read_text(), plan.name)


def definition_with_schemas(project: Project, plan: Plan) -> dict[str, Any]:
    """The task definition, its schemas generated from the worker just written.

    A schema the server already has is kept as it is when it says the same (its descriptions stay).
    """
    importlib.invalidate_caches()  # the module was written after Python listed the folder of workers
    module = importlib.import_module(f"{project.package}.workers.{plan.name}")
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


def write(project: Project, plan: Plan) -> list[Path]:
    """Write the plan's files, then the task definition (it needs the worker module written). Whatever
    goes wrong, every file goes back to what it was. Returns the paths written."""
    task_path = project.tasks_dir / f"{plan.name}.json"
    originals = {path: path.read_bytes() if path.exists() else None for path in [*plan.files, task_path]}
    try:
        for path, text in plan.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        task_path.write_text(_json_text(definition_with_schemas(project, plan)))
    except BaseException:
        for path, original in originals.items():
            if original is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(original)
        raise
    return list(originals)


def new_worker(
    project: Project,
    name: str,
    asynchronous: bool = False,
    workflow: str | None = None,
    fetch: Fetch | None = None,
    long_running: bool = False,
) -> list[str]:
    """Add the worker to the checkout of `project`; `fetch` starts from the server's definition;
    `long_running`: for work longer than a response timeout (lease extension on)."""
    check_name(project, name)
    check_imported_from_checkout(project)
    plan = server_plan(project, name, asynchronous, fetch) if fetch else default_plan(name, asynchronous)
    if long_running:
        plan.long_running = True
        plan.definition = {**plan.definition, **LONG_RUNNING_DEFINITION}
    if workflow is not None:
        add_to_workflow(project, plan, workflow)
    plan_files(project, plan)
    root = checkout_dir(project)
    module = (project.workers_dir / f"{name}.py").relative_to(root)
    return [f"wrote {path.relative_to(root)}" for path in write(project, plan)] + [
        f"next: fill in {module} (`make schemas` after changing its dataclasses), `make check`, `make register`"
    ]
