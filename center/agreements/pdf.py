"""Render agreements and visa invitation letters to PDF: pure functions of plain data.

The contexts are dictionaries of strings, numbers, lists and dictionaries that
`center.agreements.services` builds from the models; nothing here reads the database or the
request. Templates live in ``templates/agreements/pdf/`` and are rendered by a Jinja
environment of their own with autoescaping on, so every value, whoever typed it, reaches the
document as text. The HTML is laid out by `center.core.pdf`, in a worker process with a time
and memory limit whose URL fetcher loads nothing but ``center/static/pdf/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from center.core.pdf import STATIC_DIR, PdfRenderError, render_pdf, render_pdf_batch

__all__ = ["PdfRenderError", "agreement_html", "letter_html", "logo_for", "render_agreement_pdf",
           "render_documents", "render_letter_pdf", "render_many", "render_sets"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "agreements" / "pdf"
#: Seconds and megabytes one document may take; a typical agreement needs about 0.3 s.
TIMEOUT = 60
MEMORY_MB = 1024
#: Where bundled tenant logos live: ``logos/<tenant slug>.svg`` or ``.png``.
LOGO_DIR = STATIC_DIR / "logos"


def format_amount(minor: int | None, currency: str) -> str:
    """Write minor units as an amount in English, e.g. “€60,000.00”."""
    if minor is None:
        return "—"
    amount = Decimal(minor).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale="en_GB")


def format_day(value: str | None) -> str:
    """Write an ISO date (or date-time) as “1 March 2027”."""
    if not value:
        return "—"
    return format_date(dt.date.fromisoformat(value[:10]), "d MMMM y", locale="en_GB")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_amount
    env.filters["date"] = format_day
    return env


_env = _environment()


def agreement_html(context: dict[str, Any]) -> str:
    """Return the HTML of an agreement (for tests and previews)."""
    return _env.get_template("agreement.html").render(**context)


def letter_html(context: dict[str, Any]) -> str:
    """Return the HTML of a visa invitation letter."""
    return _env.get_template("letter.html").render(**context)


def render_agreement_pdf(context: dict[str, Any]) -> bytes:
    """Render an agreement to PDF bytes."""
    return render_pdf(agreement_html(context), timeout=TIMEOUT, memory_mb=MEMORY_MB)


def render_letter_pdf(context: dict[str, Any]) -> bytes:
    """Render a visa invitation letter to PDF bytes."""
    return render_pdf(letter_html(context), timeout=TIMEOUT, memory_mb=MEMORY_MB)


def render_documents(agreement: dict[str, Any], letters: Sequence[dict[str, Any]]
                     ) -> tuple[bytes, list[bytes]]:
    """Render an agreement and its letters in parallel; return (agreement PDF, letter PDFs)."""
    html = [agreement_html(agreement)] + [letter_html(c) for c in letters]
    pdfs = render_pdf_batch(html, timeout=TIMEOUT, memory_mb=MEMORY_MB)
    return pdfs[0], pdfs[1:]


def render_sets(sets: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]
                ) -> list[tuple[bytes, list[bytes]]]:
    """Render several (agreement, letters) sets in one parallel batch, in input order."""
    html: list[str] = []
    for agreement, letters in sets:
        html += [agreement_html(agreement)] + [letter_html(c) for c in letters]
    pdfs = iter(render_pdf_batch(html, timeout=TIMEOUT, memory_mb=MEMORY_MB))
    return [(next(pdfs), [next(pdfs) for _ in letters]) for _agreement, letters in sets]


def render_many(contexts: Sequence[dict[str, Any]]) -> list[bytes]:
    """Render several agreements on every PDF worker at once, in input order."""
    return render_pdf_batch([agreement_html(c) for c in contexts], timeout=TIMEOUT,
                            memory_mb=MEMORY_MB)


def logo_for(slug: str) -> str | None:
    """Return the bundled logo of tenant ``slug`` relative to the PDF assets, if there is one."""
    if not slug.replace("-", "").isalnum():
        return None
    for suffix in (".svg", ".png"):
        path = LOGO_DIR / f"{slug}{suffix}"
        if path.is_file():
            return f"logos/{slug}{suffix}"
    return None
