"""Money as integer minor units plus an ISO 4217 code.

Floats never hold money in Limelight: providers send decimal strings ("5.00"), we parse them
with :class:`decimal.Decimal` and keep integers from there on, so totals add up exactly and a
refund reverses exactly what it granted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# Active ISO 4217 codes. Most have two decimal places; the exceptions are listed below.
_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF
XPF YER ZAR ZMW ZWG
""".split()
_EXPONENT_EXCEPTIONS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}
CURRENCIES: dict[str, int] = {code: _EXPONENT_EXCEPTIONS.get(code, 2) for code in _CODES}
#: The ISO 4217 codes: the only currencies money from outside may be in.
ISO_CURRENCIES = frozenset(CURRENCIES)

#: Bits are Twitch's currency for cheers: a whole number, never split.
BITS = "BITS"
CURRENCIES[BITS] = 0

#: A decimal amount as text: ASCII digits, at most one dot with digits after it.
_AMOUNT = re.compile(r"-?[0-9]+(?:\.([0-9]+))?")

#: Upper bound on a single amount in major units; anything above is a typo or an attack.
MAX_MAJOR_AMOUNT = Decimal("1000000")


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted; the message says why."""


def exponent(currency: str) -> int:
    """Decimal places of ``currency``; raises :class:`MoneyError` for unknown codes."""
    try:
        return CURRENCIES[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code)") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: ``Money(1250, "EUR")`` is 12.50 EUR."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(f"minor units must be an integer, got {self.minor!r}")
        exponent(self.currency)

    @classmethod
    def parse(cls, amount: str | int | Decimal, currency: str, *, iso_only: bool = False) -> Money:
        """Parse a decimal string in major units ("5.00") as providers send it.

        Strict, because a lax reader turned ``"5_00"`` into 500.00, a fullwidth five (U+FF15)
        into 5 and ``"1E+2"`` into 100: a string is ASCII digits with at most one dot and at
        most the currency's decimals (``"5"``, ``"5.5"``, ``"5.00"``; not ``"5.000"`` for
        USD, ``".5"``, ``"5."``, ``"+5"``, ``" 5"``, ``"1e2"``), with an optional leading
        ``-``. Integers and :class:`~decimal.Decimal` values (from code, not from text) are
        taken by value. Refuses NaN, infinities and absurd amounts. ``iso_only`` refuses
        :data:`BITS`: money from outside is in an ISO 4217 currency (bits come as cheers).
        Zero and negative amounts are allowed here; callers that need a positive amount
        (a tip) use :meth:`parse_positive`.

        Text is parsed once per distinct amount and currency (a bounded cache: a value is
        immutable, and a stream's tips repeat a handful of amounts); a refusal is not kept.
        """
        if cls is Money and amount.__class__ is str and currency.__class__ is str:
            return _parse_text(amount, currency, iso_only)
        return cls._parse(amount, currency, iso_only=iso_only)

    @classmethod
    def _parse(cls, amount: str | int | Decimal, currency: str, *, iso_only: bool) -> Money:
        """:meth:`parse` itself, without the cache."""
        if not isinstance(currency, str):
            raise MoneyError("currency must be a string such as 'USD'")
        code = currency.upper()
        if iso_only and code not in ISO_CURRENCIES:
            if code == BITS:
                raise MoneyError("BITS is not a currency for money (bits arrive as cheers)")
            raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code)")
        exp = exponent(code)
        if isinstance(amount, bool) or isinstance(amount, float):
            raise MoneyError("amount must be a decimal string such as '5.00', not a float")
        if isinstance(amount, str):
            match = _AMOUNT.fullmatch(amount) if len(amount) <= 40 else None
            if match is None:
                raise MoneyError(
                    f"amount {amount[:40]!r} is not a number written as a plain decimal "
                    "such as '5.00' (ASCII digits, at most one dot)"
                )
            if len(match.group(1) or "") > exp:
                raise MoneyError(f"amount {amount!r} has more than {exp} decimal places for {code}")
            value = Decimal(amount)
        elif isinstance(amount, int | Decimal):
            value = Decimal(amount)
        else:
            raise MoneyError("amount must be a decimal string such as '5.00'")
        if not value.is_finite():
            raise MoneyError(f"amount {amount!r} is not a finite number")
        if abs(value) > MAX_MAJOR_AMOUNT:
            raise MoneyError(f"amount {amount!r} is larger than {MAX_MAJOR_AMOUNT}")
        scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"amount {amount!r} has more than {exp} decimal places for {code}")
        return cls(int(scaled), code)

    @classmethod
    def parse_positive(
        cls, amount: str | int | Decimal, currency: str, *, iso_only: bool = False
    ) -> Money:
        """:meth:`parse`, for amounts that must be greater than zero (a tip, a refund)."""
        money = cls.parse(amount, currency, iso_only=iso_only)
        if money.minor <= 0:
            raise MoneyError(f"amount {amount!r} must be greater than zero")
        return money

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def to_wire(self) -> str:
        """The major-unit decimal string used on the wire: ``Money(500, "USD")`` -> ``"5.00"``."""
        exp = exponent(self.currency)
        return f"{self.decimal:.{exp}f}"

    def __str__(self) -> str:
        return f"{self.to_wire()} {self.currency}"

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise MoneyError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return self + (-other)

    def convert(self, currency: str, rate: Decimal | str) -> Money:
        """Convert at ``rate`` (units of ``currency`` per unit of ours), rounding half-even."""
        target_exp = exponent(currency)
        value = (self.decimal * Decimal(str(rate))).scaleb(target_exp)
        return Money(int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), currency)


@functools.lru_cache(maxsize=1024)
def _parse_text(amount: str, currency: str, iso_only: bool) -> Money:
    """:meth:`Money.parse` of an amount and a currency given as text, kept for reuse."""
    return Money._parse(amount, currency, iso_only=iso_only)


#: The locale amounts are shown in when the streamer sets none (``[server] locale``).
DEFAULT_LOCALE = "en_US"


@functools.lru_cache(maxsize=4096)
def format_money(money: Money, locale: str = DEFAULT_LOCALE) -> str:
    """How an amount reads on every surface (alerts, chat, boards, dashboard): ``$5.00``,
    ``5,00 €`` in ``de_DE``, ``100 bits``. The one formatter, so a tip never shows as
    ``$5.00`` on stream and ``5.00 USD`` in chat.

    Formatting goes through Babel (CLDR data), loaded on first use to keep start-up fast.
    Results are cached: Babel takes ~15 µs a call, and a money event is formatted on the
    group-commit writer's path (its alert), which every concurrent delivery waits on.
    """
    if money.currency == BITS:
        count = f"{money.minor:,}" if locale.startswith("en") else str(money.minor)
        return f"{count} bit" + ("" if abs(money.minor) == 1 else "s")
    from babel.core import UnknownLocaleError
    from babel.numbers import format_currency

    try:
        return str(format_currency(money.decimal, money.currency, locale=locale))
    except (UnknownLocaleError, ValueError):
        return str(format_currency(money.decimal, money.currency, locale=DEFAULT_LOCALE))
