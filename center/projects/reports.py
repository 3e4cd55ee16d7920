"""Reports: writing, the report state machine, versions, comments and attachments.

| transition | from | to | who |
| --- | --- | --- | --- |
| ``submit`` | draft, changes_requested | submitted | the project's applicants |
| ``request_changes`` | submitted | changes_requested | officer, donor reviewer; reason |
| ``accept`` | submitted | accepted | officer, a funding donor's reviewer |

Each submission freezes the report's content as the next `ReportVersion` (with its sha256),
like a proposal's versions; accepting releases the tranches tied to the report. Edits and
transitions check the version the user saw (optimistic locking); every change is audited.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.links import external_url
from center.core.notifications import send_email
from center.core.storage import discard_on_rollback
from center.extensions import current_storage
from center.projects import tranches
from center.projects.machine import Machine, StaleTransition, TransitionError
from center.projects.models import (
    ProjectStatus,
    Report,
    ReportAttachment,
    ReportComment,
    ReportingPeriod,
    ReportStatus,
    ReportVersion,
)
from center.projects.services import period_name
from center.proposals.services import UploadRejected
from center.proposals.services import _checked_upload as checked_upload
from center.tenants.models import Membership, Role, Tenant

__all__ = ["UploadRejected"]

R = ReportStatus

#: The text sections of a report, in order: key, label, whether submission needs it.
SECTIONS: tuple[tuple[str, Any, bool], ...] = (
    ("summary", _l("Summary of the period"), True),
    ("results", _l("Results and deliverables"), True),
    ("problems", _l("Problems and deviations from the work plan"), False),
    ("next_steps", _l("Plans for the next period"), False),
)
SECTION_KEYS = tuple(key for key, _label, _needed in SECTIONS)
#: How far each work-plan task got, as the team reports it.
PROGRESS = {"not_started": _l("not started"), "in_progress": _l("in progress"),
            "done": _l("done: deliverable or milestone reached")}
MAX_SECTION = 20_000
MAX_COMMENT = 5_000

machine = Machine("report", _l("report"))
machine.add("submit", {R.draft, R.changes_requested}, R.submitted, {Role.applicant},
            "Submit the report")
machine.add("request_changes", {R.submitted}, R.changes_requested,
            {Role.officer, Role.reviewer}, "Request changes", needs_reason=True)
machine.add("accept", {R.submitted}, R.accepted, {Role.officer, Role.reviewer},
            "Accept the report")


class ReportError(TransitionError):
    """A report change that cannot happen; the message is for the user."""


def fire(report: Report, name: str, **kwargs: Any) -> None:
    machine.fire(report, name, **kwargs)


# --- writing -------------------------------------------------------------------------------

def start_report(period: ReportingPeriod, *, by: User) -> Report:
    """Open the report of ``period`` for writing, listing the work plan's tasks to report on.

    Idempotent: the period's existing report is returned as it is.
    """
    if period.report is not None:
        return period.report
    project = period.project
    if project.status != ProjectStatus.active:
        raise ReportError(_("The project is closed."))
    tasks = sorted(project.proposal.tasks, key=lambda t: (t.start_month, t.id))
    report = Report(project_id=project.id, status=R.draft, created_at=clock.now(),
                    created_by_id=by.id, sections={k: "" for k in SECTION_KEYS},
                    progress=[{"task_id": t.id, "title": t.title,
                               "months": f"{t.start_month}–{t.end_month}",
                               "progress": "not_started", "note": ""} for t in tasks])
    period.report = report
    db.session.flush()
    audit.record("report.started", report, actor=by, project=project.id, period=period.id)
    return report


def save_draft(report: Report, *, by: User, expected_version: int,
               sections: dict[str, str], progress: dict[int, tuple[str, str]]) -> None:
    """Save the team's text and task progress ({task id: (progress, note)}).

    Refused unless the report is being written and nobody saved it since the form was
    loaded (``expected_version``). Effects: the content; an audit event naming what changed.
    """
    if not report.is_editable or report.project.status != ProjectStatus.active:
        raise ReportError(_("The report is %(state)s; it cannot be edited now.",
                            state=report.status_label))
    if report.version != expected_version:
        raise StaleTransition(_("Someone saved this report after you opened it. Your text "
                                "is still in the form: compare and save again."))
    new_sections = {k: (sections.get(k) or "").replace("\r\n", "\n").strip()[:MAX_SECTION]
                    for k in SECTION_KEYS}
    new_progress = []
    for row in report.progress:
        state, note = progress.get(row["task_id"], (row["progress"], row["note"]))
        new_progress.append({**row, "progress": state if state in PROGRESS else "not_started",
                             "note": (note or "").strip()[:1000]})
    changed = [k for k in SECTION_KEYS if new_sections[k] != (report.sections or {}).get(k, "")]
    if new_progress != report.progress:
        changed.append("progress")
    if not changed:
        return
    report.sections = new_sections
    report.progress = new_progress
    audit.record("report.saved", report, actor=by, project=report.project_id, changed=changed)
    _flush()


def add_attachment(report: Report, *, by: User, filename: str, data: bytes
                   ) -> ReportAttachment:
    """Store a file with the report (checked by content like a proposal's attachments)."""
    if not report.is_editable:
        raise ReportError(_("Files can be added only while the report is being written."))
    clean_name, mime, data, _note = checked_upload(filename, data)
    storage = current_storage()
    key = (f"t{report.tenant_id}/projects/{report.project_id}/reports/{report.id}/"
           f"{uuid.uuid4().hex}.{clean_name.rsplit('.', 1)[1]}")
    stored = storage.put(key, data, mime)
    discard_on_rollback(db.session, storage, key)
    attachment = ReportAttachment(filename=clean_name, content_type=mime, size=stored.size,
                                  sha256=stored.sha256, storage_key=stored.key,
                                  uploaded_at=clock.now(), uploaded_by_id=by.id)
    report.attachments.append(attachment)
    audit.record("report.attachment_added", report, actor=by, project=report.project_id,
                 filename=clean_name, sha256=stored.sha256)
    _flush()
    return attachment


def add_comment(report: Report, *, by: User, body: str) -> ReportComment:
    """A reader's comment; every reader of the report sees it."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ReportError(_("Write the comment."))
    comment = ReportComment(author_id=by.id, body=body[:MAX_COMMENT], created_at=clock.now(),
                            version_number=len(report.versions))
    report.comments.append(comment)
    audit.record("report.commented", report, actor=by, project=report.project_id,
                 version=comment.version_number)
    _flush()
    return comment


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleTransition(_("Someone changed this report at the same moment. Reload and "
                                "check.")) from exc


def snapshot(report: Report) -> dict[str, Any]:
    """The content a submission freezes."""
    period = report.period
    return {"period": {"kind": str(period.kind), "number": period.number,
                       "first_month": period.first_month, "last_month": period.last_month,
                       "due_on": period.due_on.isoformat()},
            "sections": dict(report.sections or {}), "progress": list(report.progress or []),
            "attachments": [{"filename": a.filename, "sha256": a.sha256, "size": a.size}
                            for a in report.attachments]}


# --- guards and effects ----------------------------------------------------------------------

@machine.guard("submit")
@machine.guard("request_changes")
@machine.guard("accept")
def _project_active(report: Report, by: Any, context: dict[str, Any]) -> list[str]:
    """The project is active."""
    return [] if report.project.status == ProjectStatus.active else [_("The project is closed.")]


@machine.guard("submit")
def _complete(report: Report, by: Any, context: dict[str, Any]) -> list[str]:
    """Every required section is written."""
    return [_("Write the section “%(section)s”.", section=label)
            for key, label, needed in SECTIONS
            if needed and not (report.sections or {}).get(key, "").strip()]


@machine.effect("submit")
def _freeze(report: Report, by: Any, context: dict[str, Any]) -> None:
    now = clock.now()
    report.submitted_at = now
    report.status_reason = ""
    data = snapshot(report)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False)
                            .encode()).hexdigest()
    report.versions.append(ReportVersion(number=len(report.versions) + 1, submitted_at=now,
                                         submitted_by_id=by.id, snapshot=data, sha256=digest))
    tenant = context.get("tenant")
    if tenant is not None:
        _tell_readers(report, tenant)


@machine.effect("request_changes")
def _changes(report: Report, by: Any, context: dict[str, Any]) -> None:
    report.status_reason = context["reason"]
    report.decided_at = clock.now()
    report.decided_by_id = by.id
    tenant = context.get("tenant")
    if tenant is not None:
        _tell_team(report, tenant, accepted=False)


@machine.effect("accept")
def _accepted(report: Report, by: Any, context: dict[str, Any]) -> None:
    report.decided_at = clock.now()
    report.decided_by_id = by.id
    report.status_reason = ""
    # The period's report is accepted from here on: release what waited for it.
    tranches.release_due([t for t in report.project.tranches if t.period_id == report.period_id],
                         tranches.RELEASED_BY_REPORT)
    tenant = context.get("tenant")
    if tenant is not None:
        _tell_team(report, tenant, accepted=True)


def _url(report: Report, tenant: Tenant) -> str:
    return external_url("projects.report", tenant=tenant.slug, project_id=report.project_id,
                        period_id=report.period_id)


def readers(report: Report) -> list[str]:
    """The officers and the funding donors' reviewers, who read a submitted report."""
    donor_ids = report.project.donor_ids
    return sorted(set(db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id).where(
            (Membership.role == Role.officer)
            | ((Membership.role == Role.reviewer) & Membership.donor_id.in_(donor_ids))))))


def team(project: Any) -> list[str]:
    """The project's applicants: the lead applicant and the accepted co-applicants."""
    proposal = project.proposal
    return sorted({proposal.owner.email} | {c.email for c in proposal.collaborators
                                            if c.accepted_at})


def _tell_readers(report: Report, tenant: Tenant) -> None:
    subject = _l("%(report)s submitted: %(title)s", report=period_name(report.period),
                 title=report.project.title)
    for email in readers(report):
        send_email(email, subject, "report_submitted", tenant_id=tenant.id, report=report,
                   tenant=tenant, url=_url(report, tenant))


def _tell_team(report: Report, tenant: Tenant, *, accepted: bool) -> None:
    name, title = period_name(report.period), report.project.title
    subject = (_l("%(report)s accepted: %(title)s", report=name, title=title) if accepted
               else _l("Changes requested to %(report)s: %(title)s", report=name, title=title))
    for email in team(report.project):
        send_email(email, subject, "report_decision", tenant_id=tenant.id, report=report,
                   tenant=tenant, accepted=accepted, url=_url(report, tenant))
