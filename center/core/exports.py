"""Tables for spreadsheets: one place that writes every export, safe to open in Excel.

A view builds ``headers`` and ``rows`` (lists of plain values) and returns
`csv_response(filename, headers, rows)` or `xlsx_response` with the same table. In CSV, text
that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) is prefixed with ``'``; in XLSX every text is written as a string cell,
which no spreadsheet runs, so it keeps its exact text. Numbers stay numbers in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

import xlsxwriter
from flask import Response

from center.core.money import to_decimal

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Written first, so spreadsheet programs read the file as UTF-8.
BOM = "\ufeff"

Cell = str | int | float | Decimal | bool | None


def escape_cell(value: Cell) -> str | int | float | Decimal:
    """Return ``value`` as it goes into a cell: numbers as they are, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def table_rows(headers: Sequence[str], rows: Iterable[Sequence[Cell]]
               ) -> Iterable[list[str | int | float | Decimal]]:
    """Yield the header row and then each row, every cell escaped."""
    yield [escape_cell(h) for h in headers]
    for row in rows:
        yield [escape_cell(cell) for cell in row]


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The table as CSV text with a BOM (UTF-8 for spreadsheet programs)."""
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out).writerows(table_rows(headers, rows))
    return out.getvalue()


def csv_response(filename: str, headers: Sequence[str],
                 rows: Iterable[Sequence[Cell]]) -> Response:
    """A download of the table as ``filename`` (ASCII, ending in ``.csv``)."""
    return Response(csv_text(headers, rows).encode("utf-8"),
                    mimetype="text/csv", headers={
                        "Content-Disposition": f'attachment; filename="{filename}"',
                        "X-Content-Type-Options": "nosniff"})


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *,
               sheet: str = "Export") -> bytes:
    """The table as an XLSX workbook of one sheet, the header row bold and frozen."""
    out = io.BytesIO()
    # No formula, URL or number is ever guessed from text: write_string stores it as typed.
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    page = book.add_worksheet(sheet[:31])
    for col, header in enumerate(headers):
        page.write_string(0, col, str(header), bold)
    page.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                page.write_string(r, col, "yes" if value else "no")
            elif isinstance(value, int | float | Decimal):
                page.write_number(r, col, float(value))
            else:
                page.write_string(r, col, str(value))
    book.set_properties({"created": dt.datetime(2000, 1, 1)})  # same table, same bytes
    book.close()
    return out.getvalue()


def xlsx_response(filename: str, headers: Sequence[str],
                  rows: Iterable[Sequence[Cell]]) -> Response:
    """A download of the table as ``filename`` (ASCII, ending in ``.xlsx``)."""
    return Response(xlsx_bytes(headers, rows), mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff"})


def money_cell(minor: int | None, currency: str) -> Decimal | None:
    """An amount as a number of major units, for a column headed e.g. ``amount (EUR)``."""
    return None if minor is None else to_decimal(minor, currency)
