"""Project pages: the list, a project's page (its sections), a report, tranche actions,
close-out and the summary PDF. Views load and check; the rules live in the services."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from center.core.db import db
from center.core.downloads import send_stored
from center.core.pagination import paginate
from center.core.pdf import PdfRenderError
from center.projects import PROJECT_SECTIONS, bp, closeout, reports, services, tranches
from center.projects.forms import ActionForm, CommentForm, FileForm, PaymentForm, ReportForm
from center.projects.machine import GuardFailed, TransitionError
from center.projects.models import (
    Project,
    ProjectStatus,
    ReportAttachment,
    ReportingPeriod,
    Tranche,
)
from center.projects.permissions import (
    Access,
    access,
    can_write_report,
    report_roles,
)
from center.proposals import workflow
from center.tenants.models import Role
from center.tenants.permissions import current_roles, roles

READERS = (Role.admin, Role.officer, Role.applicant, Role.reviewer)


# --- loading -------------------------------------------------------------------------------

def _load(project_id: int) -> tuple[Project, Access]:
    """The project of this tenant the user may read, and how; 404 otherwise."""
    project = db.get_or_404(Project, project_id)
    how = access(current_user, project, current_roles())
    if how is None:
        abort(404)
    return project, how


def _period(project: Project, period_id: int) -> ReportingPeriod:
    period = db.session.get(ReportingPeriod, period_id)
    if period is None or period.project_id != project.id:
        abort(404)
    return period


def _version(form: Any) -> int:
    value = form.version.data
    return int(value) if isinstance(value, int) else -1


def _failed(exc: Exception) -> None:
    db.session.rollback()
    for problem in getattr(exc, "problems", None) or [str(exc)]:
        flash(problem, "error")


@bp.app_template_global()
def project_of_proposal(proposal: Any) -> Project | None:
    """The project of a proposal, for the proposal page's link (None before activation)."""
    if proposal.status not in ("active", "closed"):
        return None
    project = services.project_of(proposal)
    if project is None or access(current_user, project, current_roles()) is None:
        return None
    return project


@bp.app_template_global()
def projects_dashboard() -> dict[str, Any]:
    """What the dashboards' project panels show to the current user."""
    held = current_roles()
    if held & {Role.admin, Role.officer}:
        return {"owed": services.owed(g.tenant, within_days=services.DUE_SOON_DAYS),
                "to_read": services.reports_to_read(),
                "tranches": services.tranches_waiting(), "counts": services.counts()}
    mine = services.my_project_ids(current_user)
    return {"owed": services.owed(g.tenant, project_ids=mine, limit=10), "mine": len(mine)}


# --- pages ---------------------------------------------------------------------------------

@bp.route("/<tenant>/projects")
@roles(*READERS)
def index():
    """The projects the user may read, newest first."""
    page = paginate(services.visible_projects(current_user, current_roles()))
    return render_template("projects/index.html", page=page)


@bp.route("/<tenant>/projects/<int:project_id>")
@roles(*READERS)
def show(project_id: int):
    """A project's page: its sections (reports, tranches, close-out, and other packages')."""
    project, how = _load(project_id)
    return render_template(
        "projects/show.html", project=project, access=how, sections=PROJECT_SECTIONS,
        figures=services.figures(project), donors=services.donor_figures(project),
        today=services.today(g.tenant), closeout_problems=closeout.problems(project),
        can_close=Role.admin in current_roles() and project.status == ProjectStatus.active,
        staff=how == Access.staff, form=ActionForm(formdata=None, version=project.proposal.version),
        payment_form=PaymentForm(formdata=None), tranche_actions={
            t.id: [a.name for a in tranches.machine.allowed(t, report_roles(how, current_roles()))
                   if not a.system] for t in project.tranches})


@bp.route("/<tenant>/projects/<int:project_id>/reports/<int:period_id>", methods=["GET", "POST"])
@roles(*READERS)
def report(project_id: int, period_id: int):
    """A report: the team writes it here; every reader reads, comments and (staff, donors)
    decides."""
    project, how = _load(project_id)
    period = _period(project, period_id)
    item = period.report
    writable = can_write_report(item, project, how)
    if request.method == "POST":
        if not writable:
            abort(403)
        form = ReportForm()
        if form.validate_on_submit():
            try:
                existed = item is not None
                item = reports.start_report(period, by=current_user)
                expected = _version(form) if existed else item.version
                reports.save_draft(
                    item, by=current_user, expected_version=expected,
                    sections={k: getattr(form, k).data or "" for k in reports.SECTION_KEYS},
                    progress={row["task_id"]: (request.form.get(f"progress-{row['task_id']}",
                                                                row["progress"]),
                                               request.form.get(f"note-{row['task_id']}", ""))
                              for row in item.progress})
                db.session.commit()
            except (TransitionError, StaleDataError) as exc:
                _failed(exc)
            else:
                flash(_("Report saved."), "success")
                return redirect(url_for("projects.report", project_id=project.id,
                                        period_id=period.id))
    else:
        form = ReportForm(formdata=None, version=item.version if item else 0,
                          **({k: (item.sections or {}).get(k, "") for k in reports.SECTION_KEYS}
                             if item else {}))
    acting = report_roles(how, current_roles())
    return render_template(
        "projects/report.html", project=project, period=period, report=item, access=how,
        form=form, writable=writable, action_form=ActionForm(formdata=None,
                                                             version=item.version if item else 0),
        comment_form=CommentForm(formdata=None), file_form=FileForm(formdata=None),
        actions=[t for t in reports.machine.allowed(item, acting)] if item else [],
        tasks=item.progress if item else [
            {"task_id": t.id, "title": t.title, "months": f"{t.start_month}–{t.end_month}",
             "progress": "not_started", "note": ""} for t in project.proposal.tasks],
        progress_labels=reports.PROGRESS, sections=reports.SECTIONS,
        today=services.today(g.tenant))


@bp.route("/<tenant>/projects/<int:project_id>/reports/<int:period_id>/action",
          methods=["POST"])
@roles(*READERS)
def report_action(project_id: int, period_id: int):
    """Submit a report, request changes to it or accept it."""
    project, how = _load(project_id)
    period = _period(project, period_id)
    if period.report is None:
        abort(404)
    form = ActionForm()
    name = form.action.data or ""
    if name not in reports.machine.transitions:
        abort(400)
    acting = report_roles(how, current_roles())
    if not reports.machine.get(name).roles & acting:
        abort(403)
    try:
        reports.fire(period.report, name, by=current_user, roles=acting,
                     expected_version=_version(form), reason=form.reason.data or "",
                     tenant=g.tenant)
        db.session.commit()
    except TransitionError as exc:
        _failed(exc)
    else:
        flash(_("Done: the report is %(state)s.", state=period.report.status_label), "success")
    return redirect(url_for("projects.report", project_id=project.id, period_id=period.id))


@bp.route("/<tenant>/projects/<int:project_id>/reports/<int:period_id>/comments",
          methods=["POST"])
@roles(*READERS)
def report_comment(project_id: int, period_id: int):
    """Add a comment to a report."""
    project, _how = _load(project_id)
    period = _period(project, period_id)
    if period.report is None:
        abort(404)
    form = CommentForm()
    if not form.validate_on_submit():
        flash(_("Write the comment (at most %(n)s characters).", n=reports.MAX_COMMENT),
              "error")
    else:
        try:
            reports.add_comment(period.report, by=current_user, body=form.body.data)
            db.session.commit()
        except TransitionError as exc:
            _failed(exc)
    return redirect(url_for("projects.report", project_id=project.id, period_id=period.id)
                    + "#comments")


@bp.route("/<tenant>/projects/<int:project_id>/reports/<int:period_id>/files",
          methods=["POST"])
@roles(Role.applicant)
def report_file(project_id: int, period_id: int):
    """Attach a file to a report being written."""
    project, how = _load(project_id)
    period = _period(project, period_id)
    if not can_write_report(period.report, project, how):
        abort(403)
    form = FileForm()
    if not form.validate_on_submit():
        flash(_("Choose a file to attach."), "error")
    else:
        upload = form.file.data
        try:
            item = reports.start_report(period, by=current_user)
            reports.add_attachment(item, by=current_user, filename=upload.filename or "file",
                                   data=upload.read())
            db.session.commit()
        except (TransitionError, reports.UploadRejected) as exc:
            _failed(exc)
        else:
            flash(_("File attached."), "success")
    return redirect(url_for("projects.report", project_id=project.id, period_id=period.id))


@bp.route("/<tenant>/projects/<int:project_id>/reports/<int:period_id>/files/<int:file_id>")
@roles(*READERS)
def report_download(project_id: int, period_id: int, file_id: int):
    """Hand out a report's attachment."""
    project, _how = _load(project_id)
    period = _period(project, period_id)
    item = db.session.get(ReportAttachment, file_id)
    if item is None or period.report is None or item.report_id != period.report.id:
        abort(404)
    return send_stored(item.storage_key, filename=item.filename, content_type=item.content_type)


@bp.route("/<tenant>/projects/<int:project_id>/tranches/<int:tranche_id>", methods=["POST"])
@roles(Role.officer, Role.admin)
def tranche(project_id: int, tranche_id: int):
    """Approve a tranche, record its payment or cancel it."""
    project, how = _load(project_id)
    item = db.session.get(Tranche, tranche_id)
    if item is None or item.project_id != project.id:
        abort(404)
    name = request.form.get("action", "")
    if name not in ("approve", "pay", "cancel"):
        abort(400)
    acting = report_roles(how, current_roles())
    context: dict[str, Any] = {}
    if name == "pay":
        form: Any = PaymentForm()
        if not form.validate_on_submit():
            for field in (form.reference, form.paid_on):
                for error in field.errors:
                    flash(f"{field.label.text}: {error}", "error")
            return redirect(url_for("projects.show", project_id=project.id) + "#tranches")
        context = {"reference": form.reference.data, "paid_on": form.paid_on.data,
                   "timezone": g.tenant.timezone}
    else:
        form = ActionForm()
    try:
        tranches.fire(item, name, by=current_user, roles=acting, expected_version=_version(form),
                      reason=request.form.get("reason", ""), **context)
        db.session.commit()
    except TransitionError as exc:
        _failed(exc)
    else:
        flash(_("Tranche %(n)s of %(donor)s is %(state)s.", n=item.number,
                donor=item.donor.name, state=item.status_label), "success")
    return redirect(url_for("projects.show", project_id=project.id) + "#tranches")


@bp.route("/<tenant>/projects/<int:project_id>/close", methods=["POST"])
@roles(Role.admin)
def close(project_id: int):
    """Close the project: the proposal workflow's ``close``, guarded by the close-out."""
    project, _how = _load(project_id)
    form = ActionForm()
    try:
        workflow.fire(project.proposal, "close", by=current_user, roles=current_roles(),
                      expected_version=_version(form))
        db.session.commit()
    except (GuardFailed, workflow.TransitionError) as exc:
        _failed(exc)
    else:
        flash(_("The project is closed."), "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.route("/<tenant>/projects/<int:project_id>/summary.pdf")
@roles(*READERS)
def summary_pdf(project_id: int):
    """The project summary for the donors: committed, paid, reports accepted."""
    project, _how = _load(project_id)
    try:
        data = closeout.render_summary(project, g.tenant)
    except PdfRenderError:
        abort(503)
    return send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{project.reference}-summary.pdf")
