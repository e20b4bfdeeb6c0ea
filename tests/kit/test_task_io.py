"""Typed I/O: raw JSON parsed into dataclasses (bad input named, terminally), and their JSON Schema."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pytest
from conductor_worker_kit.errors import InvalidInput
from conductor_worker_kit.task_io import agrees, json_schema, parse_input


@dataclass(frozen=True)
class Address:
    city: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Order:
    order_id: str
    count: int
    price: Decimal
    address: Address
    mode: Literal["fast", "slow"] = "slow"
    weight: float = 0.0
    gift: bool = False
    note: str | None = None
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)
    anything: Any = None


GOOD: dict[str, Any] = {"order_id": "o-1", "count": 2, "price": "1.50", "address": {"city": "Oslo"}}


def test_good_input_parses_with_defaults() -> None:
    order = parse_input(Order, **GOOD, weight=3, tags=["a"], extra={"k": 1}, mode=None)
    assert order == Order("o-1", 2, Decimal("1.50"), Address("Oslo"), "slow", 3.0, False, None, ("a",), {"k": 1})
    assert isinstance(order.weight, float)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"order_id": None}, "order_id is required"),
        ({"count": "2"}, "count must be an integer"),
        ({"count": True}, "count must be an integer"),
        ({"price": "abc"}, "price must be a number"),
        ({"price": "NaN"}, "price must be a number"),
        ({"address": "Oslo"}, "address must be an object"),
        ({"address": {}}, "address.city is required"),
        ({"address": {"city": "Oslo", "lines": [1]}}, "address.lines[0] must be a string"),
        ({"mode": "slowest"}, "mode must be one of 'fast', 'slow'"),
        ({"gift": "yes"}, "gift must be true or false"),
        ({"tags": "a"}, "tags must be a list"),
        ({"extra": {"k": "v"}}, "extra.k must be an integer"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_input(Order, **{**GOOD, **change})
    assert str(raised.value) == reason


def test_schema_says_what_the_parser_takes() -> None:
    schema = json_schema(Order)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["required"] == ["order_id", "count", "price", "address"]
    properties = schema["properties"]
    assert properties["count"] == {"type": "integer"}
    assert properties["price"] == {"type": ["number", "string"]}
    assert properties["address"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "lines": {"type": "array", "items": {"type": "string"}}},
        "required": ["city"],
    }
    assert properties["mode"] == {"enum": ["fast", "slow"]}
    assert properties["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert properties["extra"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert properties["anything"] == {}


def test_unsupported_types_are_refused() -> None:
    @dataclass
    class Bad:
        when: complex

    with pytest.raises(TypeError, match="unsupported type"):
        json_schema(Bad)


def test_agreement_ignores_documentation_but_not_shape() -> None:
    generated = json_schema(Address)
    documented = {
        **generated,
        "description": "where to ship",
        "properties": {"city": {"type": "string", "minLength": 1}, "lines": generated["properties"]["lines"]},
    }
    assert agrees(generated, documented)
    assert not agrees(generated, {**generated, "required": []})
    assert not agrees(generated, {**generated, "properties": {"city": {"type": "integer"}}})
    # Code that also takes null agrees with a schema that does not mention it; Any agrees with all.
    assert agrees({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "string"})
    assert agrees({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": ["string", "null"]})
    assert agrees({}, {"type": "integer"})
    assert agrees({"enum": ["a", "b"]}, {"type": "string", "enum": ["b", "a"]})
