"""Close-out: what must hold before a project closes, the closing, the summary PDF.

A project closes through the proposal workflow's ``close`` transition (administrators),
fired from the project's page or the proposal's. Its guard asks every close-out check:
the final report accepted and every tranche paid or cancelled with a reason here; other
packages add theirs with `register_check` (equipment handed over, open change requests),
each returning its problems in words. Closing sets the project's status in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from center.core import audit, clock
from center.core.pdf import render_pdf
from center.projects import services
from center.projects.models import (
    SETTLED_TRANCHES,
    Project,
    ProjectStatus,
    ReportKind,
)
from center.proposals import workflow
from center.tenants.models import Tenant

Check = Callable[[Project], list[str]]
_CHECKS: list[Check] = []


def register_check(check: Check) -> Check:
    """Add a close-out condition: ``check(project)`` returns what still stands in the way."""
    _CHECKS.append(check)
    return check


@register_check
def final_report_accepted(project: Project) -> list[str]:
    finals = [p for p in project.periods if p.kind == ReportKind.final]
    if not finals or all(p.is_done for p in finals):
        return []
    return [_("The final report is not accepted yet.")]


@register_check
def tranches_settled(project: Project) -> list[str]:
    open_ = [t for t in project.tranches if t.status not in SETTLED_TRANCHES]
    if not open_:
        return []
    return [_("Tranche %(n)s of %(donor)s is %(state)s: record its payment or cancel it with a "
              "reason.", n=t.number, donor=t.donor.name, state=t.status_label) for t in open_]


def problems(project: Project) -> list[str]:
    """Everything that keeps ``project`` from closing now (empty: it may close)."""
    if project.status != ProjectStatus.active:
        return [_("The project is closed.")]
    return [p for check in _CHECKS for p in check(project)]


@workflow.guard("close")
def _closeout_done(proposal: Any, by: Any, context: dict[str, Any]) -> list[str]:
    """The close-out is complete: final report accepted, every tranche settled."""
    project = services.project_of(proposal)
    # A proposal activated before projects existed has no schedule to close out.
    return [] if project is None else problems(project)


@workflow.effect("close")
def _close_project(proposal: Any, by: Any, context: dict[str, Any]) -> None:
    project = services.project_of(proposal)
    if project is None:
        return
    project.status = ProjectStatus.closed
    project.closed_at = clock.now()
    project.closed_by_id = getattr(by, "id", None)
    figures = services.figures(project)
    audit.record("project.closed", project, actor=by, from_state=ProjectStatus.active,
                 to_state=ProjectStatus.closed, committed=figures.committed,
                 paid=figures.paid, cancelled=figures.cancelled)


# --- the summary for the donors ------------------------------------------------------------

def summary_context(project: Project, tenant: Tenant) -> dict[str, Any]:
    """The plain facts the summary prints: from the tranches, the reports and the agreement."""
    return {"project": project, "tenant": tenant, "figures": services.figures(project),
            "donors": services.donor_figures(project), "periods": project.periods,
            "tranches": project.tranches, "agreement": project.agreement,
            "generated_on": services.today(tenant), "problems": problems(project)
            if project.status == ProjectStatus.active else []}


def render_summary(project: Project, tenant: Tenant) -> bytes:
    """The project summary PDF for the donors, in the center's legal language like the
    agreement, whoever prints it."""
    language = tenant.legal_language or "en"
    with force_locale(language):
        html = render_template("projects/pdf/summary.html", lang=language,
                               **summary_context(project, tenant))
    return render_pdf(html)
