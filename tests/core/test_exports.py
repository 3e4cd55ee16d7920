"""Every export goes through one helper: UTF-8 with a BOM, formulas defused, numbers kept."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from flask import Flask

from center.core.exports import csv_response, csv_text, escape_cell, money_cell, xlsx_bytes


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_text_a_spreadsheet_would_run_is_prefixed_with_a_quote(text: str) -> None:
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [
    ("Genomic surveillance", "Genomic surveillance"), ("a=b", "a=b"), ("", ""),
    (None, ""), (-5, -5), (1.5, 1.5), (Decimal("-1500.50"), Decimal("-1500.50")),
    (True, "yes"), (False, "no"),
])
def test_other_text_and_numbers_stay_as_they_are(value, cell) -> None:
    assert escape_cell(value) == cell


def test_the_csv_starts_with_a_bom_and_reads_back_the_same_rows() -> None:
    text = csv_text(["title", "amount (EUR)"], [["=cmd|' /C calc'!A0", Decimal("-1500.50")],
                                                 ["Ряд, \"кавычки\"", 7]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["title", "amount (EUR)"], ["'=cmd|' /C calc'!A0", "-1500.50"],
                    ["Ряд, \"кавычки\"", "7"]]


def test_the_response_is_a_utf8_csv_download(app: Flask) -> None:
    with app.test_request_context():
        response = csv_response("panel-call-3.csv", ["a"], [["é"]])
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="panel-call-3.csv"'
    assert response.get_data() == "\ufeffa\r\né\r\n".encode()


def test_amounts_go_out_as_major_units_of_their_currency() -> None:
    assert money_cell(150050, "EUR") == Decimal("1500.50")
    assert money_cell(1500, "KRW") == Decimal(1500)
    assert money_cell(None, "EUR") is None


def test_the_xlsx_keeps_text_exactly_as_text_and_numbers_as_numbers() -> None:
    data = xlsx_bytes(["title", "amount (EUR)", "note"],
                      [["=HYPERLINK(\"http://evil.example\")", Decimal("1500.50"), None],
                       ["http://example.org", 7, "0012"]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == ["title", "amount (EUR)", "note"]
    formula, amount, empty = sheet[2]
    assert (formula.value, formula.data_type) == ("=HYPERLINK(\"http://evil.example\")", "s")
    assert (amount.value, amount.data_type) == (1500.5, "n") and empty.value is None
    assert [c.value for c in sheet[3]] == ["http://example.org", 7, "0012"]
    assert sheet[3][0].hyperlink is None
    assert xlsx_bytes(["a"], [[1]]) == xlsx_bytes(["a"], [[1]])
