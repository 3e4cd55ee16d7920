"""Money as integer minor units of the tenant's currency: exact, never float.

Typed amounts are read in the interface language with fixed rules, so that nothing is ever
silently multiplied (``1,500.50`` read as 150050):

- only the language's decimal mark (``.`` in English and Korean, ``,`` in Russian and German)
  starts decimals, and at most the currency's number of decimals may follow it (none for
  KRW and JPY);
- only the language's grouping mark, or a space (also U+00A0 and U+202F, which Babel writes),
  groups digits, and always by threes;
- a decimal mark followed by exactly three digits could be the grouping mark of another
  language (``1.500`` in English, ``1,500`` in Russian): it is refused as ambiguous;
- any other mark, sign, exponent, ``Infinity`` or ``NaN`` is refused, and so is more than
  `MAX_MAJOR` major units.

Every refusal is an `AmountError` whose message says how to write the amount.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

#: The largest amount anyone may type, in major units (a trillion euros is not a grant).
MAX_MAJOR = 10**12
#: Text longer than this is not an amount (the longest valid one is about 25 characters).
MAX_TEXT = 60
#: Space-like characters that group digits in every language.
SPACES = frozenset(" \u00a0\u202f\u2009")
_MINUS = "-\u2212"
_SEPARATOR_RUN = re.compile(r"[.,\s\u00a0\u202f\u2009]")


class AmountError(ValueError):
    """A typed amount that cannot be read; the message tells the user how to write it."""


def precision(currency: str) -> int:
    return get_currency_precision(currency)


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-precision(currency))


def share(total: int, percent: Decimal) -> int:
    """Return ``percent`` of ``total`` minor units, rounded half up to a whole minor unit."""
    return int((Decimal(total) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def max_minor(currency: str) -> int:
    return MAX_MAJOR * 10 ** precision(currency)


def _locale(locale: str | Locale | None) -> Locale:
    if locale is None:
        try:
            locale = get_locale()
        except RuntimeError:
            locale = None
    return Locale.parse(str(locale or "en"))


def format_money(minor: int | None, currency: str) -> str:
    """Format minor units for display in the interface language."""
    if minor is None:
        return "—"
    return format_currency(to_decimal(minor, currency), currency, locale=_locale(None))


def amount_text(minor: int, currency: str, locale: str | Locale | None = None) -> str:
    """Write minor units without the currency, the way `parse_amount` reads them back:
    grouped by threes with the language's marks and all the currency's decimals."""
    loc = _locale(locale)
    digits = precision(currency)
    sign, minor = ("-", -minor) if minor < 0 else ("", minor)
    whole, fraction = divmod(minor, 10**digits)
    text = f"{whole:,}".replace(",", get_group_symbol(loc))
    if digits:
        text += get_decimal_symbol(loc) + str(fraction).zfill(digits)
    return sign + text


def _example(currency: str, loc: Locale) -> str:
    return amount_text(150050 * 10 ** max(precision(currency) - 2, 0)
                       if precision(currency) >= 2 else 1500 * 10 ** precision(currency),
                       currency, loc)


def _ascii_digits(text: str) -> str:
    """Turn digits of any script (fullwidth, Arabic-Indic, ...) into ASCII digits."""
    return "".join(str(unicodedata.decimal(ch)) if ch not in "0123456789"
                   and unicodedata.category(ch) == "Nd" else ch for ch in text)


def _strip_currency(text: str, currency: str, loc: Locale) -> str:
    for mark in sorted({currency, get_currency_symbol(currency, loc)}, key=len, reverse=True):
        if text.upper().startswith(mark.upper()):
            return text[len(mark):].strip("".join(SPACES))
        if text.upper().endswith(mark.upper()):
            return text[:-len(mark)].strip("".join(SPACES))
    return text


def parse_amount(text: str | None, currency: str, locale: str | Locale | None = None, *,
                 allow_negative: bool = False) -> int | None:
    """Read an amount typed in ``locale`` (default: the interface language) as minor units
    of ``currency``; return None for empty text. Raise `AmountError` for anything else that
    is not exactly one amount (see the module's rules)."""
    loc = _locale(locale)
    example = _example(currency, loc)
    if text is not None and len(text) > MAX_TEXT:
        raise AmountError(_too_big(currency))
    body = _ascii_digits((text or "").strip("".join(SPACES) + "\t\r\n"))
    if not body:
        return None
    negative = body[0] in _MINUS
    if negative:
        body = body[1:].strip("".join(SPACES))
    body = _strip_currency(body, currency, loc)
    if not negative and body[:1] in _MINUS:
        negative = True
        body = body[1:].strip("".join(SPACES))
    if not body or not body[0].isdigit() or not body[-1].isdigit() or not all(
            ch.isascii() and ch.isdigit() or ch in ".," or ch in SPACES for ch in body):
        raise AmountError(_("Enter the amount in digits, such as %(example)s.",
                            example=example))
    decimal_mark, group_mark = get_decimal_symbol(loc), get_group_symbol(loc)
    groups = set(SPACES) | ({group_mark} if group_mark not in SPACES else set())
    parts = _SEPARATOR_RUN.split(body)
    marks = _SEPARATOR_RUN.findall(body)
    if any(not p for p in parts):
        raise AmountError(_("Use one mark between digits, as in %(example)s.",
                            example=example))
    for mark in marks:
        if mark != decimal_mark and mark not in groups:
            raise AmountError(_("Write the amount as %(example)s: in this language "
                                "“%(decimal)s” marks the decimals.", example=example,
                                decimal=decimal_mark))
    if decimal_mark in marks[:-1]:
        raise AmountError(_("Write the amount as %(example)s: “%(decimal)s” marks the "
                            "decimals and comes once, at the end.", example=example,
                            decimal=decimal_mark))
    digits = precision(currency)
    fraction = ""
    if marks and marks[-1] == decimal_mark:
        fraction = parts.pop()
        marks.pop()
        if len(fraction) == 3 and len(parts[-1]) <= 3:
            # "1.500" in English or "1,500" in Russian is a thousand and a half elsewhere.
            whole = int("".join(parts) + fraction)
            if digits:
                raise AmountError(_(
                    "“%(text)s” could mean %(whole)s or %(decimal)s: write one of these.",
                    text=text.strip(), whole=amount_text(whole * 10**digits, currency, loc),
                    decimal=amount_text(int("".join(parts) + fraction[:digits]), currency,
                                        loc)))
            raise AmountError(_("%(currency)s amounts have no decimals: for a thousand and "
                                "more write %(whole)s.", currency=currency,
                                whole=amount_text(whole, currency, loc)))
        if len(fraction) > digits:
            raise AmountError(ngettext(
                "%(currency)s amounts have at most %(num)d decimal.",
                "%(currency)s amounts have at most %(num)d decimals.",
                digits, currency=currency) if digits else
                _("%(currency)s amounts have no decimals.", currency=currency))
    if len(parts) > 1 and (len(parts[0]) > 3 or any(len(p) != 3 for p in parts[1:])):
        raise AmountError(_("Group the digits by threes, as in %(example)s, or leave the "
                            "grouping out.", example=example))
    whole_digits = "".join(parts).lstrip("0")
    if len(whole_digits) > len(str(MAX_MAJOR)):
        raise AmountError(_too_big(currency))
    minor = int(whole_digits or "0") * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if minor > max_minor(currency):
        raise AmountError(_too_big(currency))
    if negative and minor:
        if not allow_negative:
            raise AmountError(_("Enter an amount of zero or more, without a minus sign."))
        minor = -minor
    return minor


def _too_big(currency: str) -> str:
    return _("Enter at most %(max)s.", max=format_money(max_minor(currency), currency))
