"""Render agreements and visa invitation letters to PDF: pure functions of plain data.

The contexts are dictionaries of strings, numbers, lists and dictionaries that
`center.agreements.services` builds from the models; nothing here reads the database or the
request. Templates live in ``templates/agreements/pdf/`` and are rendered by a Jinja
environment of their own with autoescaping on, so every value, whoever typed it, reaches the
document as text. The HTML is laid out by `center.core.pdf`, in a worker process with a time
and memory limit whose URL fetcher loads nothing but ``center/static/pdf/``.

An agreement is printed in two parts, each paged on its own (`clauses.PART_TWO_FROM`): Part I,
the cover, the contents and the special conditions of the project; Part II, the general
conditions, the signatures and the annexes. The two parts are laid out at the same time on
two workers and joined, which nearly halves the time an administrator waits for an agreement.
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

from center.agreements.clauses import PART_TITLES, part_of
from center.core.pdf import STATIC_DIR, PdfRenderError, render_pdf, render_pdf_documents

__all__ = ["PdfRenderError", "agreement_parts_html", "letter_html", "logo_for",
           "render_agreement_pdf", "render_documents", "render_letter_pdf", "render_many",
           "render_sets"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "agreements" / "pdf"
#: Seconds and megabytes one document (or part of one) may take; a part of a typical
#: agreement needs about 0.4 s.
TIMEOUT = 60
MEMORY_MB = 1024
#: The annexes at the end of Part II, as the contents list them.
ANNEXES: tuple[dict[str, str], ...] = (
    {"id": "annex-budget", "title": "Annex A. Budget lines"},
    {"id": "annex-trips", "title": "Annex B. Travel plan"},
    {"id": "annex-team", "title": "Annex C. Project team"},
)
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


def agreement_parts_html(context: dict[str, Any]) -> list[str]:
    """Return the HTML of the agreement's two parts, articles numbered across both."""
    articles = [{**clause, "no": number} for number, clause in enumerate(context["clauses"], 1)]
    parts = ([a for a in articles if part_of(a["key"]) == 1],
             [a for a in articles if part_of(a["key"]) == 2])
    template = _env.get_template("agreement.html")
    return [template.render(**context, part=number, articles=parts[number - 1],
                            other=parts[2 - number], part_titles=PART_TITLES,
                            annexes=ANNEXES)
            for number in (1, 2)]


def letter_html(context: dict[str, Any]) -> str:
    """Return the HTML of a visa invitation letter."""
    return _env.get_template("letter.html").render(**context)


def render_agreement_pdf(context: dict[str, Any]) -> bytes:
    """Render an agreement to PDF bytes."""
    return render_many([context])[0]


def render_letter_pdf(context: dict[str, Any]) -> bytes:
    """Render a visa invitation letter to PDF bytes."""
    return render_pdf(letter_html(context), timeout=TIMEOUT, memory_mb=MEMORY_MB)


def render_documents(agreement: dict[str, Any], letters: Sequence[dict[str, Any]]
                     ) -> tuple[bytes, list[bytes]]:
    """Render an agreement and its letters in parallel; return (agreement PDF, letter PDFs)."""
    return render_sets([(agreement, letters)])[0]


def render_sets(sets: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]
                ) -> list[tuple[bytes, list[bytes]]]:
    """Render several (agreement, letters) sets in one parallel batch, in input order."""
    documents: list[list[str]] = []
    for agreement, letters in sets:
        documents += [agreement_parts_html(agreement)] + [[letter_html(c)] for c in letters]
    pdfs = iter(render_pdf_documents(documents, timeout=TIMEOUT, memory_mb=MEMORY_MB))
    return [(next(pdfs), [next(pdfs) for _ in letters]) for _agreement, letters in sets]


def render_many(contexts: Sequence[dict[str, Any]]) -> list[bytes]:
    """Render several agreements on every PDF worker at once, in input order."""
    return render_pdf_documents([agreement_parts_html(c) for c in contexts], timeout=TIMEOUT,
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
