"""Post-award project management: the reporting plan, reports, tranches and close-out.

**What a project is.** A *project* is an active proposal together with the agreement version
its administrator countersigned. At countersignature (the proposal workflow's ``activate``
transition) `center.projects.services.open_project` creates one `Project` row for the
proposal (``projects.proposal_id`` is unique) pointing at that agreement; the row holds what
the post-award life hangs on:

- ``ProjectDonor``: each funding donor's commitment (minor units, the project's currency),
  taken from the donors' commitments (`center.reviews.funded_split.committed_by_donor`),
  which the agreement's donor shares state;
- ``ReportingPeriod``: the reporting schedule, one row per report the agreement asks for
  (quarterly technical reports, annual financial reports, the interim report of the
  reporting clause, the final report), each with its due date in the center's zone and the
  reminders sent against it;
- ``Report`` (at most one per period, created when the team starts writing): the report's
  text sections, progress against the work-plan tasks, attachments, comments, its state
  (`ReportStatus`) and a frozen ``ReportVersion`` per submission;
- ``Tranche``: the agreement's payment schedule per donor, each released by the acceptance
  of one period's report (or by countersignature), with its state (`TrancheStatus`).

The proposal's status stays the source of truth for "active" and "closed": ``Project.status``
follows it and is set only by `center.projects.services` (close-out fires the proposal
workflow's ``close``). Other post-award packages (amendments, effort, monitoring) hang their
rows on ``projects.id`` and add a section to the project page through `PROJECT_SECTIONS`
(templates included on ``projects/show.html``, each given ``project``) and a close-out
condition through `center.projects.closeout.register_check`.
"""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("projects", __name__)

NAV = [("projects.index", _l("Projects"),
        (Role.admin, Role.officer, Role.applicant, Role.reviewer))]
#: Sections of a project's page, in order: this package's and the effort, amendments and
#: monitoring packages' (each renders nothing for a user who may not open its pages; it
#: receives ``project`` and ``access``, see `center.projects.views.show`).
PROJECT_SECTIONS: list[str] = [
    "projects/_section_reports.html",
    "projects/_section_tranches.html",
    "effort/_project_section.html",
    "amendments/_project_section.html",
    "monitoring/_project_section.html",
    "projects/_section_closeout.html",
]
PROPOSAL_PANELS = ["projects/_proposal_panel.html"]
DASHBOARD_PANELS = {
    Role.officer: ["projects/_dashboard_officer.html"],
    Role.admin: ["projects/_dashboard_officer.html"],
    Role.applicant: ["projects/_dashboard_applicant.html"],
}

from center.projects import cli, closeout, views  # noqa: E402,F401  (routes, commands, guards)
