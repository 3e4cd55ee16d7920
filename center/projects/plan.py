"""The reporting plan of a project and which report releases which tranche. Pure: no database.

The agreement's reporting clause (`center.agreements.clauses`, article "Reporting") asks for
an interim scientific and financial report by the end of month ``ceil(duration / 2)`` and a
final one within 60 days after the last month. The center also follows each project with
quarterly technical reports and annual financial reports (`DEFAULTS`), the ISTC/STCU
practice; a quarter or a year that ends on the interim month or on the last month is covered
by that report rather than by one of its own.

Month ``m`` of a project runs from the start date plus ``m - 1`` months to the day before the
start date plus ``m`` months; every date is a day in the center's zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

#: The center's reporting practice on top of the agreement's two reports.
DEFAULTS: dict[str, int] = {
    "technical_every_months": 3,  #: a technical report per quarter
    "technical_due_days": 30,  #: ... due 30 days after the quarter
    "financial_every_months": 12,  #: an annual financial report
    "financial_due_days": 60,
    "final_due_days": 60,  #: the reporting clause: within 60 days after the last month
}


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_span(start: dt.date, first: int, last: int) -> tuple[dt.date, dt.date]:
    """The first and last day of months ``first`` to ``last`` of a project from ``start``."""
    return add_months(start, first - 1), add_months(start, last) - dt.timedelta(days=1)


def interim_month(duration: int) -> int:
    """The month the agreement's interim report is due at the end of (its placeholder)."""
    return max(1, math.ceil(duration / 2))


@dataclass(frozen=True)
class PlannedReport:
    kind: str
    first_month: int
    last_month: int
    starts_on: dt.date
    ends_on: dt.date
    due_on: dt.date


def reporting_plan(start: dt.date, duration: int,
                   settings: dict[str, int] | None = None) -> list[PlannedReport]:
    """Every report a project of ``duration`` months starting on ``start`` owes, by due date."""
    s = {**DEFAULTS, **(settings or {})}
    interim = interim_month(duration) if duration > 1 else None
    plan: list[PlannedReport] = []

    def add(kind: str, first: int, last: int, due_days: int) -> None:
        begins, ends = month_span(start, first, last)
        plan.append(PlannedReport(kind, first, last, begins, ends,
                                  ends + dt.timedelta(days=due_days)))

    every = s["technical_every_months"]
    if every > 0:
        for last in range(every, duration, every):
            if last != interim:
                add("technical", last - every + 1, last, s["technical_due_days"])
    every = s["financial_every_months"]
    if every > 0:
        for last in range(every, duration, every):
            if last != interim:
                add("financial", last - every + 1, last, s["financial_due_days"])
    if interim is not None:
        add("interim", 1, interim, 0)  # due by the end of the month: on its last day
    add("final", 1, duration, s["final_due_days"])
    return sorted(plan, key=lambda r: (r.due_on, r.kind != "final", r.kind))


def releasing_kind(condition: str) -> str | None:
    """Which report's acceptance a tranche's condition names: ``interim``, ``final``,
    ``financial``, ``technical``; None for countersignature (due at once).

    The payment schedule is written by the tenant's administrators in words
    ("On approval of the interim report"); a condition naming no report the portal knows
    waits for the final report, so money never goes out earlier than the agreement allows.
    """
    text = condition.lower()
    if "countersign" in text or "signature" in text or "entry into force" in text:
        return None
    for kind in ("interim", "final", "financial", "technical"):
        if kind in text:
            return kind
    return "final"


def first_of_kind(plan: list[Any], kind: str) -> Any | None:
    """The first planned report of ``kind`` (objects with ``kind``), else None."""
    return next((r for r in plan if r.kind == kind), None)
