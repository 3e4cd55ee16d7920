"""Render an amendment to PDF: a pure function of plain data, like the agreement.

The context is built by `center.amendments.services.amendment_context`; the template lives
in ``templates/amendments/pdf/`` and shares the agreement's letterhead, styles and safe
renderer (`center.core.pdf`, whose fetcher loads nothing but ``center/static/pdf/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from center.agreements.pdf import ENGLISH, MEMORY_MB, TIMEOUT, install_language
from center.core.pdf import render_pdf

ROOT = Path(__file__).resolve().parents[2] / "templates"

_env = Environment(
    loader=FileSystemLoader([str(ROOT / "amendments" / "pdf"), str(ROOT / "agreements" / "pdf")]),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
install_language(_env)


def amendment_html(context: dict[str, Any]) -> str:
    """The amendment's HTML, in the language ``context["document"]`` names."""
    return _env.get_template("amendment.html").render(**{"document": ENGLISH, **context})


def render_amendment_pdf(context: dict[str, Any]) -> bytes:
    """Render an amendment to PDF bytes."""
    return render_pdf(amendment_html(context), timeout=TIMEOUT, memory_mb=MEMORY_MB)
