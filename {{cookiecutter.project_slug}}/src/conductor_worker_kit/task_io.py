# Part of conductor_worker_kit, the runtime every project made from this template shares: it is updated
# with the template (`cruft update`), never edited in place. Yours are src/<package>/workers and definitions.
"""Typed task I/O: a worker's input and result dataclasses are the one source of truth.

- `parse_input(InputType, **raw)` turns the task's raw JSON input into the input dataclass, or raises
  InvalidInput naming the field, so bad input fails terminally instead of being retried.
- `json_schema(Type)` describes the same dataclass as JSON Schema (draft-07): the `inputSchema` and
  `outputSchema` of the task definition (`make schemas` writes them; a test keeps them in step).
- `@typed_io(input=..., output=...)` records on a worker function which dataclasses those are.

Supported field types: str, int, float, bool, Decimal, Literal[...], list[T], tuple[T, ...],
dict[str, T], nested dataclasses, `T | None`, and Any / object (anything goes, not checked).
A field with a default is optional; a null value takes the default (a workflow passes an input
it was not given as null).
"""

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union

from .errors import InvalidInput

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
NULL = {"type": "null"}

# Typed as Any: a TypeVar would need PEP 695 syntax on 3.12+ (ruff) that 3.11 cannot parse.
Function = Callable[..., Any]

_SIMPLE: dict[Any, tuple[str | list[str], str]] = {
    str: ("string", "a string"),
    int: ("integer", "an integer"),
    float: ("number", "a number"),
    bool: ("boolean", "true or false"),
    # Money and other exact numbers: a JSON number or a string such as "12.50".
    Decimal: (["number", "string"], "a number"),
}


def typed_io(*, input: type[Any], output: type[Any]) -> Callable[[Function], Function]:
    """Record the input and result dataclasses of a worker function (for its JSON Schemas)."""

    def record(function: Function) -> Function:
        function.typed_input = input  # type: ignore[attr-defined]
        function.typed_output = output  # type: ignore[attr-defined]
        return function

    return record


def io_types(function: Callable[..., Any]) -> tuple[type[Any], type[Any]] | None:
    """The (input, output) dataclasses recorded by @typed_io, or None."""
    input_type, output_type = getattr(function, "typed_input", None), getattr(function, "typed_output", None)
    return None if input_type is None or output_type is None else (input_type, output_type)


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint)


def _non_none(hint: Any) -> Any:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if len(args) != 1:
        raise TypeError(f"unsupported union {hint}: only `T | None`")
    return args[0]


def _hints(cls: type[Any]) -> dict[str, Any]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls} is not a dataclass")
    return typing.get_type_hints(cls)


def _has_default(field: "dataclasses.Field[Any]") -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _default(field: "dataclasses.Field[Any]") -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


# --- parsing --------------------------------------------------------------------------------------


def parse_input(cls: type[Any], /, **raw: object) -> Any:
    """The input dataclass built from raw JSON values, or InvalidInput naming the first bad field.

    Annotate the result: `request: MyInput = parse_input(MyInput, name=name)`.
    """
    return _parse_object(cls, raw, "")


def _parse_object(cls: type[Any], raw: Mapping[str, object], where: str) -> Any:
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name = f"{where}{field.name}"
        value = raw.get(field.name)
        if value is None and _has_default(field):
            values[field.name] = _default(field)
        elif value is None and not _is_optional(hints[field.name]):
            raise InvalidInput(f"{name} is required")
        else:
            values[field.name] = _parse(hints[field.name], value, name)
    return cls(**values)


def _parse(hint: Any, value: object, where: str) -> Any:
    if hint is Any or hint is object:
        return value
    if _is_optional(hint):
        return None if value is None else _parse(_non_none(hint), value, where)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(arg, bool) for arg in args):
            raise InvalidInput(f"{where} must be one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise InvalidInput(f"{where} must be a list")
        item = args[0] if args else Any
        items = [_parse(item, entry, f"{where}[{index}]") for index, entry in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"{where} must be an object")
        item = args[1] if len(args) == 2 else Any
        return {key: _parse(item, entry, f"{where}.{key}") for key, entry in value.items()}
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise InvalidInput(f"{where} must be an object")
        return _parse_object(hint, value, f"{where}.")  # type: ignore[arg-type]
    if hint in _SIMPLE:
        return _parse_simple(hint, value, where)
    raise TypeError(f"{where}: unsupported type {hint}")


def _parse_simple(hint: Any, value: object, where: str) -> Any:
    message = f"{where} must be {_SIMPLE[hint][1]}"
    # bool is an int in Python; in JSON it is a mistake.
    if isinstance(value, bool) and hint is not bool:
        raise InvalidInput(message)
    if hint is float and isinstance(value, int):
        return float(value)
    if hint is Decimal and isinstance(value, (int, float, str)):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidInput(message) from None
        if not number.is_finite():
            raise InvalidInput(message)
        return number
    if not isinstance(value, hint):
        raise InvalidInput(message)
    return value


# --- JSON Schema ----------------------------------------------------------------------------------


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """The draft-07 JSON Schema of a dataclass (an object with its fields as properties)."""
    return {"$schema": SCHEMA_DIALECT, **_object_schema(cls)}


def _object_schema(cls: type[Any]) -> dict[str, Any]:
    hints = _hints(cls)
    properties = {field.name: _schema(hints[field.name]) for field in dataclasses.fields(cls)}
    required = [
        field.name
        for field in dataclasses.fields(cls)
        if not _has_default(field) and not _is_optional(hints[field.name])
    ]
    schema = {"type": "object", "properties": properties}
    return {**schema, "required": required} if required else schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return schema if schema == {} else {"anyOf": [schema, NULL]}


def _schema(hint: Any) -> dict[str, Any]:
    if hint is Any or hint is object:
        return {}
    if _is_optional(hint):
        return _nullable(_schema(_non_none(hint)))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple):
        item = args[0] if args else Any
        return {"type": "array", "items": _schema(item)} if item not in (Any, object) else {"type": "array"}
    if origin is dict or hint is dict:
        item = args[1] if len(args) == 2 else Any
        if item in (Any, object):
            return {"type": "object"}
        return {"type": "object", "additionalProperties": _schema(item)}
    if dataclasses.is_dataclass(hint):
        return _object_schema(hint)  # type: ignore[arg-type]
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint][0]}
    raise TypeError(f"unsupported type {hint}: see conductor_worker_kit/task_io.py for the supported ones")


# Keywords that say what a value may be. Others (description, title, format, examples, ...) document
# it: a definition may carry them, and they never make code and JSON disagree.
SHAPE_KEYWORDS = {"type", "properties", "required", "items", "additionalProperties", "enum", "anyOf"}


def agrees(generated: dict[str, Any], stored: object) -> bool:
    """True when a stored schema says the same as the generated one (documentation keywords aside).

    A generated `{}` (a field typed Any or object) agrees with anything: the code does not check it;
    so does code that also takes null (`T | None`) where the stored schema does not say so.
    """
    if not isinstance(stored, dict):
        return False
    stored = _null_as_any_of(stored)
    if not generated:
        return True
    if generated.get("anyOf", [None])[-1] == NULL and "anyOf" not in stored:
        return agrees(generated["anyOf"][0], stored)
    shape = {key: value for key, value in stored.items() if key in SHAPE_KEYWORDS}
    if "enum" in generated:  # the choices say it all; a `type` next to them adds nothing
        shape.pop("type", None)
    if generated.keys() - {"$schema"} != shape.keys():
        return False
    return all(_same(key, generated[key], value) for key, value in shape.items())


def _same(keyword: str, generated: Any, stored: Any) -> bool:
    if keyword == "properties":
        return (
            isinstance(stored, dict)
            and generated.keys() == stored.keys()
            and all(agrees(generated[name], stored[name]) for name in generated)
        )
    if keyword == "anyOf":
        return (
            isinstance(stored, list)
            and len(stored) == len(generated)
            and all(agrees(g, s) for g, s in zip(generated, stored, strict=True))
        )
    if isinstance(generated, dict):  # items, additionalProperties
        return agrees(generated, stored)
    if keyword in ("required", "type", "enum") and isinstance(generated, list) and isinstance(stored, list):
        return sorted(map(repr, generated)) == sorted(map(repr, stored))  # order says nothing here
    return bool(generated == stored)


def _null_as_any_of(schema: dict[str, Any]) -> dict[str, Any]:
    """`{"type": ["string", "null"]}` written the way json_schema writes it: anyOf with null."""
    kind = schema.get("type")
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        other = next(k for k in kind if k != "null")
        return {"anyOf": [{**schema, "type": other}, NULL]}
    return schema
