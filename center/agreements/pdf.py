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

A document is written in the center's legal language (``context["document"]["locale"]``),
never in the language of whoever prints it: the templates' fixed text goes through ``_``,
``gettext`` and ``ngettext`` here, which read that language's catalogue, and amounts and dates
are written in it too. When ``context["document"]["bilingual"]`` is set, ``_`` and
``ngettext`` print each heading and fixed sentence in the legal language with English under
it (``inline=True``: beside it); ``gettext`` prints the legal language alone, for text that
stands next to a bilingual label. Text that people typed is printed as typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from babel.support import NullTranslations, Translations
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from center.agreements.clauses import N_, PART_TITLES, part_of
from center.core.pdf import STATIC_DIR, PdfRenderError, render_pdf, render_pdf_documents

__all__ = ["PdfRenderError", "agreement_parts_html", "install_language", "letter_html", "logo_for",
           "render_agreement_pdf", "render_documents", "render_letter_pdf", "render_many",
           "render_sets"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "agreements" / "pdf"
CATALOGUES = Path(__file__).resolve().parents[1] / "translations"
#: The languages a document can be written in, and the locale its figures are written in.
DOCUMENT_LOCALES = {"en": "en_GB", "ko": "ko_KR", "ru": "ru_RU"}
#: What a context without a ``document`` entry (one stored before there was a choice) says.
ENGLISH = {"locale": "en", "bilingual": False}
#: Seconds and megabytes one document (or part of one) may take; a part of a typical
#: agreement needs about 0.4 s.
TIMEOUT = 60
MEMORY_MB = 1024
#: The annexes at the end of Part II, as the contents list them.
ANNEXES: tuple[dict[str, str], ...] = (
    {"id": "annex-budget", "title": N_("Annex A. Budget lines")},
    {"id": "annex-trips", "title": N_("Annex B. Travel plan")},
    {"id": "annex-team", "title": N_("Annex C. Project team")},
)
#: Where bundled tenant logos live: ``logos/<tenant slug>.svg`` or ``.png``.
LOGO_DIR = STATIC_DIR / "logos"


def format_amount(minor: int | None, currency: str, language: str = "en") -> str:
    """Write minor units as an amount in ``language``, e.g. “€60,000.00”, “60 000,00 €”."""
    if minor is None:
        return "—"
    amount = Decimal(minor).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=DOCUMENT_LOCALES.get(language, "en_GB"))


def format_day(value: str | None, language: str = "en") -> str:
    """Write an ISO date (or date-time) as “1 March 2027”, “1 марта 2027 г.”, “2027년 3월 1일”."""
    if not value:
        return "—"
    return format_date(dt.date.fromisoformat(value[:10]), "long",
                       locale=DOCUMENT_LOCALES.get(language, "en_GB"))


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English is the source: no catalogue needed)."""
    if language not in DOCUMENT_LOCALES or language == "en":
        return NullTranslations()
    return Translations.load(str(CATALOGUES), [language])


def _document(ctx: Context | Mapping[str, Any]) -> Mapping[str, Any]:
    return ctx.get("document") or ENGLISH


class Written(str):
    """A date or amount written in the document's language that remembers how English
    writes it, for the English copy of a bilingual sentence."""

    english: str

    def __new__(cls, local: str, english: str) -> Written:
        written = super().__new__(cls, local)
        written.english = english
        return written


def _in_english(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "english", value) for key, value in values.items()}


def _fill(text: str, values: Mapping[str, Any]) -> Markup:
    # Markup's % escapes each value that is not markup already (a macro's output is).
    return Markup.escape(text) % dict(values) if values else Markup.escape(text)


def _side_by_side(document: Mapping[str, Any], local: Markup, english: Markup,
                  inline: bool) -> Markup:
    if not document.get("bilingual") or document.get("locale", "en") == "en" or local == english:
        return local
    kind = "bi bi--inline" if inline else "bi"
    return Markup('<span class="{kind}"><span class="bi__local" lang="{lang}">{local}</span>'
                  '<span class="bi__en" lang="en">{english}</span></span>').format(
        kind=kind, lang=document["locale"], local=local, english=english)


class _Translated(Markup):
    """A message in the document's language that remembers its English, for when it is
    itself a value in a bilingual sentence."""

    english: Markup


@pass_context
def _legal(ctx: Context, message: str, **values: Any) -> Markup:
    """``message`` in the document's language alone."""
    translated = _Translated(_fill(translations(_document(ctx)["locale"]).gettext(message),
                                   values))
    translated.english = _fill(message, _in_english(values))
    return translated


@pass_context
def _bilingual(ctx: Context, message: str, inline: bool = False, **values: Any) -> Markup:
    """``message`` in the document's language, with English under (or beside) it if bilingual."""
    document = _document(ctx)
    local = _fill(translations(document["locale"]).gettext(message), values)
    return _side_by_side(document, local, _fill(message, _in_english(values)), inline)


@pass_context
def _plural(ctx: Context, singular: str, plural: str, num: int, inline: bool = False,
            **values: Any) -> Markup:
    """The plural form for ``num`` in the document's language, bilingual like ``_``."""
    document = _document(ctx)
    values = {"num": num, **values}
    local = _fill(translations(document["locale"]).ngettext(singular, plural, num), values)
    return _side_by_side(document, local,
                         _fill(singular if num == 1 else plural, _in_english(values)), inline)


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: anything but letters, digits and spaces escaped."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


@pass_context
def _page_style(ctx: Context) -> Markup:
    """The running footer ("Part I · Page 2 of 5") in the document's language, as a
    ``<style>`` block overriding the English of ``base.css`` and ``agreement.css``."""
    language = _document(ctx)["locale"]
    if language == "en":
        return Markup("")
    catalogue = translations(language)
    footer = []
    for piece in re.split(r"(%\(page\)s|%\(pages\)s)", catalogue.gettext(N_(
            "Page %(page)s of %(pages)s"))):
        if piece in ("%(page)s", "%(pages)s"):
            footer.append(f"counter({piece[2:-2]})")
        elif piece:
            footer.append(css_string(piece))
    part_one, part_two = catalogue.gettext(N_("Part I")), catalogue.gettext(N_("Part II"))
    style = (
        f"<style>\n@page {{ @bottom-right {{ content: string(doc-part) {' '.join(footer)}; }} }}\n"
        f"body.part-1 {{ string-set: doc-part {css_string(f'{part_one} · ')}; }}\n"
        f"body.part-2 {{ string-set: doc-part {css_string(f'{part_two} · ')}; }}\n"
        f'nav.toc li.toc-elsewhere::after {{ content: leader(". . . . ") {css_string(part_two)}; }}'
        "\n</style>")
    # Safe: every translated piece went through css_string, which escapes all but letters,
    # digits and spaces, so no catalogue entry can close the style element.
    return Markup(style)  # noqa: S704


@pass_context
def _money(ctx: Context, minor: int | None, currency: str) -> Written:
    return Written(format_amount(minor, currency, _document(ctx)["locale"]),
                   format_amount(minor, currency))


@pass_context
def _day(ctx: Context, value: str | None) -> Written:
    return Written(format_day(value, _document(ctx)["locale"]), format_day(value))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_language(env)
    return env


def install_language(env: Environment) -> None:
    """Give ``env`` the translating functions and the ``money`` and ``date`` filters that
    write in the document's language (see the module's docstring)."""
    env.filters["money"] = _money
    env.filters["date"] = _day
    env.globals.update(_=_bilingual, gettext=_legal, ngettext=_plural, page_style=_page_style)


_env = _environment()


def agreement_parts_html(context: dict[str, Any]) -> list[str]:
    """Return the HTML of the agreement's two parts, articles numbered across both."""
    articles = [{**clause, "no": number} for number, clause in enumerate(context["clauses"], 1)]
    parts = ([a for a in articles if part_of(a["key"]) == 1],
             [a for a in articles if part_of(a["key"]) == 2])
    template = _env.get_template("agreement.html")
    context = {"document": ENGLISH, **context}
    return [template.render(**context, part=number, articles=parts[number - 1],
                            other=parts[2 - number], part_titles=PART_TITLES,
                            annexes=ANNEXES)
            for number in (1, 2)]


def letter_html(context: dict[str, Any]) -> str:
    """Return the HTML of a visa invitation letter."""
    return _env.get_template("letter.html").render(**{"document": ENGLISH, **context})


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
