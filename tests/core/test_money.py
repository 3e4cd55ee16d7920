"""Money is read in the user's language with fixed rules and never silently multiplied."""

from __future__ import annotations

import pytest
from babel.numbers import format_currency
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import DataRequired, InputRequired, Optional

from center.core import money
from center.core.audit import detail_text
from center.core.fields import MoneyField
from center.core.money import AmountError, amount_text, parse_amount

LOCALES = ["en", "ko", "ru", "de"]
CURRENCIES = ["EUR", "USD", "KRW", "JPY", "RUB", "KZT", "GBP", "CHF"]
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(("locale", "text", "currency", "minor"), [
    ("ru", "1 500,50", "EUR", 150050),
    ("ru", "1500,50", "EUR", 150050),
    ("ru", f"1{NNBSP}500,50", "EUR", 150050),
    ("ru", f"1{NBSP}500,50", "EUR", 150050),
    ("ru", f"150{NBSP}050,00{NBSP}€", "EUR", 15005000),
    ("en", "1,500.50", "EUR", 150050),
    ("en", "€1,500.50", "EUR", 150050),
    ("en", "1 500.50", "EUR", 150050),
    ("en", "1500.5", "EUR", 150050),
    ("en", "0.05", "EUR", 5),
    ("en", "  42  ", "EUR", 4200),
    ("en", "1,000,000", "EUR", 100000000),
    ("ko", "1,500.50", "EUR", 150050),
    ("ko", "1,500", "KRW", 1500),
    ("ko", "₩1,500", "KRW", 1500),
    ("en", "1,500", "JPY", 1500),
    ("en", "１,５００", "JPY", 1500),
    ("de", "1.500,50", "EUR", 150050),
    ("de", "1.500", "EUR", 150000),
    ("de", f"1.500,50{NBSP}€", "EUR", 150050),
    ("en", "CHF 1,500.50", "CHF", 150050),
    ("en", "1000000000000", "EUR", 10**14),
    ("en", "", "EUR", None),
    ("en", "   ", "EUR", None),
])
def test_an_amount_is_read_in_the_users_locale(app: Flask, locale, text, currency, minor):
    with app.test_request_context():
        assert parse_amount(text, currency, locale) == minor


@pytest.mark.parametrize(("locale", "text", "currency", "message"), [
    ("ru", "1,500", "EUR", f"could mean 1{NBSP}500,00 or 1,50"),
    ("en", "1.500", "EUR", "could mean 1,500.00 or 1.50"),
    ("ko", "1.500", "EUR", "could mean"),
    ("en", "1.500", "KRW", "KRW amounts have no decimals"),
    ("en", "1,500.5", "KRW", "KRW amounts have no decimals."),
    ("en", "1500.5", "JPY", "JPY amounts have no decimals."),
    ("en", "1000.505", "EUR", "at most 2 decimals"),
    ("ru", "1500.50", "EUR", "“,” marks the decimals"),
    ("ru", "1.500,50", "EUR", "“,” marks the decimals"),
    ("de", "1,500.50", "EUR", "“,” marks the decimals and comes once, at the end"),
    ("en", "1,50", "EUR", "Group the digits by threes"),
    ("en", "15,00,000", "EUR", "Group the digits by threes"),
    ("en", "1,5000.00", "EUR", "Group the digits by threes"),
    ("en", "1..5", "EUR", "one mark between digits"),
    ("en", "Infinity", "EUR", "in digits"),
    ("en", "-Infinity", "EUR", "in digits"),
    ("en", "NaN", "EUR", "in digits"),
    ("en", "1e5", "EUR", "in digits"),
    ("en", "1E+5", "EUR", "in digits"),
    ("en", "0x10", "EUR", "in digits"),
    ("en", "$100", "EUR", "in digits"),
    ("en", ".5", "EUR", "in digits"),
    ("en", "5.", "EUR", "in digits"),
    ("en", "+5", "EUR", "in digits"),
    ("en", "-5", "EUR", "zero or more"),
    ("en", "−5", "EUR", "zero or more"),
    ("en", "1000000000000.01", "EUR", "Enter at most €1,000,000,000,000.00."),
    ("en", "9" * 40, "EUR", "Enter at most"),
    ("en", "1" + "0" * 100, "EUR", "Enter at most"),
])
def test_an_ambiguous_or_impossible_amount_is_refused_saying_how_to_write_it(
        app: Flask, locale, text, currency, message):
    with app.test_request_context(), pytest.raises(AmountError) as refused:
        parse_amount(text, currency, locale)
    assert message in str(refused.value)


def test_a_negative_amount_is_read_only_where_allowed(app: Flask) -> None:
    with app.test_request_context():
        assert parse_amount("-1,500.50", "EUR", "en", allow_negative=True) == -150050
        assert parse_amount("-€1,500.50", "EUR", "en", allow_negative=True) == -150050
        assert parse_amount("-0", "EUR", "en") == 0


amounts = st.sampled_from(CURRENCIES).flatmap(
    lambda c: st.tuples(st.just(c), st.integers(0, money.max_minor(c))))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(LOCALES), amounts)
def test_formatting_then_parsing_gives_back_the_same_minor_units(app: Flask, locale, amount):
    currency, minor = amount
    with app.test_request_context():
        assert parse_amount(amount_text(minor, currency, locale), currency, locale) == minor
        shown = format_currency(money.to_decimal(minor, currency), currency, locale=locale)
        assert parse_amount(shown, currency, locale) == minor


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(LOCALES), st.sampled_from(CURRENCIES),
       st.one_of(st.text(), st.text(alphabet="0123456789.,-−+ eE€$₩\u00a0\u202f", max_size=30)))
def test_parsing_arbitrary_text_gives_an_amount_or_the_fields_message(
        app: Flask, locale, currency, text):
    with app.test_request_context():
        try:
            minor = parse_amount(text, currency, locale)
        except AmountError as refused:
            assert str(refused)
        else:
            assert minor is None or 0 <= minor <= money.max_minor(currency)


# --- the field -------------------------------------------------------------------------

class _Form(Form):
    amount = MoneyField("Amount", currency="EUR", validators=[DataRequired("Enter it.")])
    share = MoneyField("Share", currency="KRW", allow_zero=True, validators=[Optional()])


def test_the_field_gives_minor_units_and_renders_a_text_input_in_the_locale(app: Flask):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        form = _Form(MultiDict({"amount": "1 500,50", "share": "0"}))
        assert form.validate(), form.errors
        assert (form.amount.data, form.share.data) == (150050, 0)
        shown = _Form(data={"amount": 150050, "share": 1500})
        html = str(shown.amount())
        assert 'type="text"' in html and 'inputmode="decimal"' in html
        assert 'type="number"' not in html
        assert f'value="1{NBSP}500,50"' in html
        assert _Form(MultiDict({"amount": shown.amount._value()})).amount.data == 150050


@pytest.mark.parametrize("typed", ["Infinity", "NaN", "1e308", "9" * 60, "-1", "0", "1.500"])
def test_the_field_refuses_bad_input_next_to_it_and_keeps_what_was_typed(app: Flask, typed):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = _Form(MultiDict({"amount": typed}))
        assert not form.validate()
        assert form.amount.data is None or form.amount.data == 0
        assert len(form.amount.errors) == 1 and form.amount.errors[0] != "Enter it."
        assert f'value="{typed}"' in form.amount()


def test_the_field_says_required_when_empty(app: Flask) -> None:
    with app.test_request_context():
        form = _Form(MultiDict({"amount": " "}))
        assert not form.validate() and form.amount.errors == ["Enter it."]


def test_a_required_field_that_allows_zero_refuses_blank_but_takes_zero(app: Flask) -> None:
    class ZeroForm(Form):
        cost = MoneyField("Cost", currency="EUR", allow_zero=True,
                          validators=[InputRequired("Enter the cost.")])

    with app.test_request_context():
        blank = ZeroForm(MultiDict({"cost": "   "}))
        assert not blank.validate() and blank.cost.errors == ["Enter the cost."]
        zero = ZeroForm(MultiDict({"cost": "0"}))
        assert zero.validate() and zero.cost.data == 0


def test_the_field_accepts_only_minor_units_from_code(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(TypeError):
        _Form(data={"amount": "1500.50"})


def test_the_audit_trail_shows_amounts_with_their_currency(app: Flask) -> None:
    details = {"amount": 150050, "split": {"ESA": 100000, "Gone": None}, "currency": "EUR"}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert detail_text("amount", 150050, details) == "€1,500.50"
        assert detail_text("split", details["split"], details) == "ESA: €1,000.00, Gone: —"
        assert detail_text("amount", 150050, {"amount": 150050}) == "150050"
        assert detail_text("title", "=cmd", details) == "=cmd"
