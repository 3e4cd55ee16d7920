"""Draw a dashboard `Figure` as inline SVG with pygal, on the server.

No script goes with the chart (pygal's tooltip script would come from a CDN), the fonts
are those the PDFs use, so Hangul and Cyrillic show, and the colours keep at least 4.5:1
against the white background. The numbers themselves are also printed as a table beside
each chart (templates/dashboard/_figure.html); the SVG is decoration for sighted readers.
"""

from __future__ import annotations

import functools
import html
import math
import re
import sys
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import pygal
from babel import Locale
from babel.numbers import format_compact_decimal, format_decimal
from markupsafe import Markup
from pygal.style import Style

from center.core.money import _locale, format_money, precision
from center.dashboard.figures import Figure

FONTS = '"Noto Sans", "NanumGothic", "Noto Sans CJK KR", "DejaVu Sans", sans-serif'
#: Dark, distinguishable colours (each at least 4.5:1 on white).
COLOURS = ("#1f4e8c", "#a34700", "#2e6b1f", "#9c1c3a", "#5b3f99", "#0f6b6b", "#6b5200",
           "#4d4d4d", "#8a2f8a", "#1c5e8f", "#7a3b00", "#3d5c1f", "#7f1d1d", "#35407a",
           "#555555", "#0b4f4f")
FONT_SIZE = 13
STYLE = Style(background="white", plot_background="white", foreground="#1a1a1a",
              foreground_strong="#000000", foreground_subtle="#595959", opacity="1",
              opacity_hover="1", colors=COLOURS, font_family=FONTS, label_font_size=FONT_SIZE,
              major_label_font_size=FONT_SIZE, legend_font_size=FONT_SIZE, value_font_size=12,
              no_data_font_size=16)
WIDTH = 720
#: Longer row labels (call titles) are cut here; the table beside the chart has them whole.
LABEL_LENGTH = 48
#: pygal writes its configuration as an inline script even without its tooltip script, and
#: its CSS as an inline <style>: the content security policy refuses both (no inline script
#: or style), so they are cut from the chart and the CSS is served as a file instead
#: (center/static/css/charts.css, written by `stylesheet`).
_INLINE = re.compile(r"<(script|style)\b[^>]*>.*?</\1>|<(script|style)\b[^>]*/>"
                     r'| style="[^"]*"', re.DOTALL)
_CHART_ID = re.compile(r"#chart-[0-9a-f-]{36}")
_ROOT_ID = re.compile(r'id="chart-[0-9a-f-]{36}"')
STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "css" / "charts.css"


def _formatter(unit: str, locale: Locale):  # noqa: ANN202
    if unit == "money":
        return lambda value: format_compact_decimal(value or 0, locale=locale,
                                                    fraction_digits=1)
    if unit == "percent":
        return lambda value: f"{format_decimal(value or 0, locale=locale)} %"
    return lambda value: format_decimal(value or 0, locale=locale)


def _wide(text: str) -> int:
    """How many of ``text``'s characters are drawn a full em wide (Hangul, CJK)."""
    return sum(1 for char in text if unicodedata.east_asian_width(char) in "WF")


def _ticks(spec: _Chart, rows: list, plotted: tuple[int, ...]) -> list[float] | None:
    """Whole-number ticks for counts (pygal would step by 0.2), 0-100 for percentages."""
    if spec.unit == "percent":
        return list(range(0, 101, 20))
    if spec.unit != "count":
        return None
    per_row = [sum(values[i] for i in plotted) if spec.stacked
               else max((values[i] for i in plotted), default=0) for _label, values in rows]
    top = int(max(per_row, default=0)) or 1
    step = max(1, math.ceil(top / 8))
    return list(range(0, top + step, step))


@dataclass(frozen=True)
class _Chart:
    """What a chart's drawing depends on, and nothing else: the key of the drawings kept."""

    unit: str
    stacked: bool
    series: tuple[str, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    plotted: tuple[int, ...]
    currency: str
    no_data: str
    locale: str


def svg(figure: Figure, *, currency: str, no_data: str) -> Markup:
    """The chart of ``figure`` as an <svg> element for the page. pygal takes 10-20 ms a
    chart, several times what the page's queries cost, so a drawing is kept for the next
    page that shows the same numbers in the same language (with an id of its own, as two
    charts of one page may draw the same numbers)."""
    drawn = _drawn(_Chart(
        unit=figure.unit, stacked=figure.stacked, series=tuple(map(str, figure.series)),
        rows=tuple((str(label), tuple(values)) for label, values in figure.rows),
        plotted=figure.plotted or tuple(range(len(figure.series))), currency=currency,
        no_data=str(no_data), locale=str(_locale(None))))
    return Markup(_ROOT_ID.sub(f'id="chart-{uuid.uuid4()}"', drawn, count=1))  # noqa: S704


@functools.lru_cache(maxsize=256)
def _drawn(spec: _Chart) -> Markup:
    plotted = spec.plotted
    kind = pygal.HorizontalStackedBar if spec.stacked else pygal.HorizontalBar
    # Horizontal charts draw the first row at the bottom: reverse, to read top-down.
    rows = list(reversed(spec.rows))
    labels = [label[:LABEL_LENGTH] for label, _values in rows]
    legends = [spec.series[i] for i in plotted]
    columns = 2 if max(map(len, legends)) > 18 else 3
    bars = max(1, len(rows)) * (1 if spec.stacked else len(plotted))
    show_legend = len(plotted) > 1 or spec.unit == "money"
    legend_height = 26 * math.ceil(len(legends) / columns) if show_legend else 0
    # pygal sizes the label margin as if every character were narrow; Hangul is not.
    extra = int(max((_wide(label) for label in labels), default=0) * FONT_SIZE * 0.45)
    chart = kind(style=STYLE, width=WIDTH, height=90 + 34 * bars + legend_height,
                 js=[], disable_xml_declaration=True, legend_at_bottom=True,
                 legend_at_bottom_columns=columns, truncate_label=-1, truncate_legend=-1,
                 show_legend=show_legend,
                 value_formatter=_formatter(spec.unit, Locale.parse(spec.locale)),
                 no_data_text=spec.no_data, margin=12, margin_left=12 + extra,
                 margin_bottom=30, print_values=False, show_y_guides=False,
                 show_x_guides=True, explicit_size=True, y_labels=_ticks(spec, rows, plotted))
    chart.x_labels = labels
    scale = 10 ** precision(spec.currency) if spec.unit == "money" else 1
    for index in plotted:
        chart.add(spec.series[index], [values[index] / scale for _label, values in rows])
    drawn = _INLINE.sub("", chart.render(is_unicode=True))
    return Markup(drawn)  # noqa: S704 (pygal's XML writer escapes the labels)


def cell(figure: Figure, value: float, currency: str) -> str:
    """One number of the table beside the chart, written for the reader's language."""
    if figure.unit == "money":
        return format_money(int(value), currency)
    return format_decimal(value, locale=_locale(None))


def stylesheet() -> str:
    """The CSS pygal would put inside each chart, for every colour, as one stylesheet for
    every `.pygal-chart` on a page; the tooltips (drawn by pygal's script) stay hidden."""
    chart = pygal.HorizontalStackedBar(style=STYLE, js=[], disable_xml_declaration=True)
    for index in range(len(COLOURS)):
        chart.add(str(index), [1])
    blocks = re.findall(r"<style[^>]*>(.*?)</style>", chart.render(is_unicode=True), re.DOTALL)
    css = _CHART_ID.sub(".pygal-chart", html.unescape("".join(blocks)))
    return ("/* Written by `python -m center.dashboard.charts` from pygal's own CSS and "
            "charts.STYLE: do not edit. */\n" + css.replace("}", "}\n")
            + ".pygal-chart .tooltip{display:none}\n")


if __name__ == "__main__":  # python -m center.dashboard.charts: write the stylesheet
    STYLESHEET.write_text(stylesheet(), encoding="utf-8")
    sys.stdout.write(f"wrote {STYLESHEET}\n")
