"""Form fields shared by every module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import StopValidation

from center.core import identifiers, money


def tenant_currency() -> str:
    """The currency of the tenant in scope, for fields declared before a tenant is known."""
    return g.tenant.currency


class MoneyField(StringField):
    """An amount typed in the interface language; ``.data`` is integer minor units or None.

    Renders ``type="text" inputmode="decimal"`` (never ``type=number``, which browsers read
    in their own locale) with the amount written the way `money.parse_amount` reads it back.
    A typed amount that cannot be read stays in the input with the reason next to it. A
    required amount takes ``DataRequired`` (``InputRequired`` where zero is allowed: blank
    input counts as none); an optional one ``Optional``.
    """

    def __init__(self, label: Any = None, validators: Any = None, *,
                 currency: str | Callable[[], str] = tenant_currency,
                 allow_zero: bool = False, allow_negative: bool = False,
                 **kwargs: Any) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off",
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self._currency = currency
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        self.parse_error: str | None = None

    @property
    def currency(self) -> str:
        return self._currency() if callable(self._currency) else self._currency

    def process_data(self, value: Any) -> None:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"MoneyField data is minor units (int), not {value!r}")
        self.data = value

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.parse_error = None
        if not valuelist:
            return
        self.data = None
        if not str(valuelist[0]).strip():
            self.raw_data = []  # blank is no input: InputRequired and Optional see it so
            return
        try:
            self.data = money.parse_amount(str(valuelist[0]), self.currency,
                                           allow_negative=self.allow_negative)
        except money.AmountError as exc:
            self.parse_error = str(exc)

    def pre_validate(self, form: Any) -> None:
        if self.parse_error:
            raise StopValidation(self.parse_error)
        if self.data == 0 and not self.allow_zero:
            raise StopValidation(_("Enter an amount above zero."))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else money.amount_text(self.data, self.currency)


class IdentifierField(StringField):
    """An optional research identifier (`center.core.identifiers`): ``.data`` is its canonical
    form, or "" when left blank. A typed value that is not one stays in the input with the
    reason next to it."""

    def __init__(self, label: Any = None, validators: Any = None, *,
                 parse: Callable[[str], str], **kwargs: Any) -> None:
        render_kw = {"autocomplete": "off", "spellcheck": "false",
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self._parse = parse
        self._typed = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self._typed = str(valuelist[0]).strip() if valuelist else ""
        self.data = self._typed

    def pre_validate(self, form: Any) -> None:
        if not self._typed:
            self.data = self.data or ""
            return
        try:
            self.data = self._parse(self._typed)
        except identifiers.InvalidIdentifier as exc:
            self.data = self._typed
            raise StopValidation(str(exc)) from exc


def OrcidField(label: Any = None, validators: Any = None, **kwargs: Any) -> IdentifierField:  # noqa: N802
    return IdentifierField(label, validators, parse=identifiers.parse_orcid,
                           render_kw={"placeholder": "0000-0000-0000-0000"}, **kwargs)


def RorField(label: Any = None, validators: Any = None, **kwargs: Any) -> IdentifierField:  # noqa: N802
    kwargs.setdefault("description", _l(
        "Its Research Organization Registry id, if it has one: it tells this institute apart "
        "from any of a similar name."))
    return IdentifierField(label, validators, parse=identifiers.parse_ror,
                           render_kw={"placeholder": "0xxxxxx00"}, **kwargs)
