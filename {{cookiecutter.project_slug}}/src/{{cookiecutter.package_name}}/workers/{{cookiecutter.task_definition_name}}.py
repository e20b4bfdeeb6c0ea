"""The example worker, to replace with your own: it totals an order's line items. Input is parsed at
the boundary (bad input fails terminally), then pure arithmetic."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from conductor.client.worker.worker_task import worker_task
from conductor_worker_kit import InvalidInput, typed_io

from .defaults import POLL_INTERVAL_MILLIS, THREAD_COUNT

CENT = Decimal("0.01")
DEFAULT_CURRENCY = "USD"
MAX_ITEMS = 1000


@dataclass(frozen=True)
class LineItem:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Order:
    order_id: str
    items: tuple[LineItem, ...]
    currency: str = DEFAULT_CURRENCY
    tax_rate: Decimal = Decimal(0)


@dataclass(frozen=True)
class OrderTotals:
    order_id: str
    currency: str
    item_count: int
    subtotal: str
    tax: str
    total: str


def _decimal(value: object, where: str) -> Decimal:
    # bool is an int in Python; in JSON it is a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidInput(f"{where} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{where} must be a number") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"{where} must be a finite number >= 0")
    return number


def _line_item(raw: object, index: int) -> LineItem:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object")
    sku, quantity = raw.get("sku"), raw.get("quantity")
    if not isinstance(sku, str) or not sku.strip():
        raise InvalidInput(f"{where}.sku must be a non-empty string")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"{where}.quantity must be an integer >= 1")
    return LineItem(sku=sku, quantity=quantity, unit_price=_decimal(raw.get("unit_price"), f"{where}.unit_price"))


def parse_order(order_id: object, items: object, currency: object, tax_rate: object) -> Order:
    """Turn the task's raw JSON input into a typed request, or raise InvalidInput naming the field.

    A workflow passes an input it was not given as null: optional fields then take their defaults.
    """
    currency = DEFAULT_CURRENCY if currency is None else currency
    tax_rate = 0 if tax_rate is None else tax_rate
    if not isinstance(order_id, str) or not order_id.strip():
        raise InvalidInput("order_id must be a non-empty string")
    if not isinstance(items, list) or not items:
        raise InvalidInput("items must be a non-empty list")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"items must hold at most {MAX_ITEMS} entries")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("currency must be a three-letter code such as USD")
    rate = _decimal(tax_rate, "tax_rate")
    if rate > 1:
        raise InvalidInput("tax_rate must be a fraction between 0 and 1")
    return Order(
        order_id=order_id,
        items=tuple(_line_item(raw, index) for index, raw in enumerate(items)),
        currency=currency.upper(),
        tax_rate=rate,
    )


def totals(request: Order) -> OrderTotals:
    """Pure arithmetic: the same request always gives the same total (idempotent by construction)."""
    subtotal = sum((item.unit_price * item.quantity for item in request.items), Decimal(0))
    subtotal = subtotal.quantize(CENT, rounding=ROUND_HALF_UP)
    tax = (subtotal * request.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return OrderTotals(
        order_id=request.order_id,
        currency=request.currency,
        item_count=sum(item.quantity for item in request.items),
        subtotal=str(subtotal),
        tax=str(tax),
        total=str(subtotal + tax),
    )


# Parameters are typed `object` on purpose: the SDK passes such values through untouched, so
# parse_order can reject bad input terminally. (Its own dataclass conversion would turn a
# wrong type into a retryable failure.) Money travels as strings so no float rounding creeps in.
# The typed input is Order, the result OrderTotals: @typed_io names them, and the task
# definition's inputSchema and outputSchema are generated from them (`make schemas`).
@worker_task(
    task_definition_name="{{ cookiecutter.task_definition_name }}",
    thread_count=THREAD_COUNT,
    poll_interval_millis=POLL_INTERVAL_MILLIS,
)
@typed_io(input=Order, output=OrderTotals)
def {{ cookiecutter.task_definition_name }}(
    order_id: object = None, items: object = None, currency: object = DEFAULT_CURRENCY, tax_rate: object = 0
) -> OrderTotals:
    """Compute subtotal, tax and total of an order's line items."""
    return totals(parse_order(order_id, items, currency, tax_rate))
