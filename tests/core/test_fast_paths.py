"""The shortcuts a tip takes on its way to the disk give the same answers as the long way.

Each shortcut here skips work only for the common case (a flat JSON body, an amount seen
before, a value that surely passes a column's check, an alert already encoded) and must
refuse, store and send exactly what the long way does. The insert tests take
``database_url`` and so run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import pytest
from limelight import edge
from limelight.db import Encoded, _columns, _passes, in_transaction, insert_rows
from limelight.models import OverlayAlert
from limelight.money import Money, MoneyError
from limelight.overlays.outbox import OutboxAlert, dumps
from tortoise.exceptions import ValidationError
from tortoise.fields import CharField, IntField
from tortoise.validators import MaxValueValidator, MinValueValidator, RegexValidator

# -- Money.parse ----------------------------------------------------------------------------------


def test_parse_of_a_repeated_amount_is_the_same_value_and_refusals_still_raise() -> None:
    first = Money.parse("5.00", "usd")
    assert first == Money.parse("5.00", "usd") == Money(500, "USD")
    assert Money.parse("5.00", "USD", iso_only=True) == first
    for _ in range(2):  # a refusal is never kept as an answer
        with pytest.raises(MoneyError):
            Money.parse("5.000", "USD")
        with pytest.raises(MoneyError):
            Money.parse("100", "BITS", iso_only=True)
    assert Money.parse("100", "BITS") == Money(100, "BITS")  # not mixed up with iso_only
    # numbers from code are read by value, never taken for text seen before
    assert Money.parse(5, "USD") == Money(500, "USD")
    assert Money.parse(Decimal("5"), "USD") == Money(500, "USD")
    with pytest.raises(MoneyError):
        Money.parse(True, "USD")  # type: ignore[arg-type]


# -- edge.loads -----------------------------------------------------------------------------------


def test_loads_takes_a_flat_object_and_still_refuses_what_nests_too_deep() -> None:
    assert edge.loads(b'{"id": "a", "amount": "5.00", "n": 3, "ok": true}')["n"] == 3
    deep = b'{"a": ' + b"[" * (edge.MAX_DEPTH + 1) + b"]" * (edge.MAX_DEPTH + 1) + b"}"
    with pytest.raises(edge.EdgeError, match="nested deeper"):
        edge.loads(deep)
    just_right = b"[" * edge.MAX_DEPTH + b"]" * edge.MAX_DEPTH
    assert edge.loads(just_right) == json.loads(just_right)


# -- insert_rows ----------------------------------------------------------------------------------


class Colour(Enum):
    RED = "red"


def test_a_column_quick_check_passes_only_what_the_field_accepts() -> None:
    """``passes`` may say no to a good value (the field's own check then decides) but never
    yes to one the field refuses."""
    text = CharField(max_length=3, null=True)
    required = CharField(max_length=3)
    number = IntField(validators=[MinValueValidator(0), MaxValueValidator(10)])
    pattern = CharField(max_length=9, validators=[RegexValidator("^a", 0)])
    values = ["", "abc", "abcd", None, 5, b"ab", Colour.RED, -1, 0, 10, 11, True, 1.5, "7"]
    for field in (text, required, number, pattern):
        field.model_field_name = "f"
        passes = _passes(field)
        for value in values:
            if passes(value):
                field.validate(value)  # must not raise
    assert _passes(text)("abc") and _passes(text)(None) and not _passes(text)("abcd")
    assert not _passes(required)(None)
    assert _passes(number)(10) and not _passes(number)(11) and not _passes(number)(True)
    assert not _passes(pattern)("abc")  # a validator it does not know: the field decides
    overlay = next(c for c in _columns(OverlayAlert) if c.name == "overlay")
    assert overlay.validated and overlay.passes("x" * 80) and not overlay.passes("x" * 81)


def _row(overlay: str = "alerts", **extra: object) -> dict[str, object]:
    return {
        "overlay": overlay,
        "kind": "tip",
        "data": {"name": "Zoë", "amount": "5.00"},
        "variation": {"text": "hi </script>", "size": 2},
        "duration_ms": 6000,
        "created_at": datetime.now(UTC),
        "event_id": None,
        **extra,
    }


async def test_insert_rows_refuses_a_bad_value_and_stores_encoded_json_as_given(db) -> None:
    async with in_transaction() as conn:
        with pytest.raises(ValidationError, match="overlay"):
            await insert_rows(conn, OverlayAlert, [_row(overlay="x" * 81)])
    data = {"name": "Zoë \u2028", "amount": "5.00"}
    variation = {"text": "hi", "size": 2}
    async with in_transaction() as conn:
        ids = await insert_rows(
            conn,
            OverlayAlert,
            [
                _row(data=Encoded(dumps(data)), variation=Encoded(dumps(variation))),
                _row(data=data, variation=None),
            ],
        )
    encoded, plain = [await OverlayAlert.get(id=i) for i in ids]
    assert (encoded.data, encoded.variation) == (data, variation)
    assert (plain.data, plain.variation) == (data, None)


# -- the alert's wire text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "variation", "replay_of", "test"),
    [
        (
            {"name": 'Zoë "x" \u2028 </script>', "amount": "5.00"},
            {"volume": 1.0, "size": 2},
            None,
            False,
        ),
        ({}, {}, 7, True),
        ({"n": [1, 2.5, None, True]}, {"text": "\\ \n \t"}, None, False),
    ],
)
def test_an_alert_built_around_its_encoded_parts_reads_as_the_encoder_writes_it(
    data: dict[str, object], variation: dict[str, object], replay_of: int | None, test: bool
) -> None:
    alert = OutboxAlert(
        123,
        "alerts\u00e9",
        "tip",
        data,
        variation,
        6000,
        datetime(2026, 12, 2, 14, 0, 0, 123456, tzinfo=UTC),
        test=test,
        replay_of=replay_of,
        data_json=dumps(data),
        variation_json=dumps(variation),
    )
    assert alert.wire_text() == dumps(alert.to_wire())
    plain = OutboxAlert(1, "alerts", "tip", data, variation, 10, datetime.now(UTC))
    assert plain.wire_text() == dumps(plain.to_wire())
