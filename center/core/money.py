"""Money as integer minor units of the tenant's currency: exact, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from flask_babel import get_locale


def precision(currency: str) -> int:
    return get_currency_precision(currency)


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Convert a decimal amount to minor units; raise ValueError if it has more decimals."""
    try:
        value = Decimal(str(amount).replace(",", "").replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    scaled = value.scaleb(precision(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-precision(currency))


def share(total: int, percent: Decimal) -> int:
    """Return ``percent`` of ``total`` minor units, rounded half up to a whole minor unit."""
    return int((Decimal(total) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(minor: int | None, currency: str) -> str:
    """Format minor units for display in the interface language."""
    if minor is None:
        return "—"
    try:
        locale = get_locale() or "en"
    except RuntimeError:
        locale = "en"
    return format_currency(to_decimal(minor, currency), currency, locale=locale)
