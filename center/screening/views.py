"""Screening pages for officers, sanctions lists, concurrence pages for officials, the
workflow diagram, the audit trail and the tenant's screening settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from center.calls.models import Call
from center.core import clock, money
from center.core.db import db
from center.core.exports import csv_response, xlsx_response
from center.core.jobs import enqueue, job_named_in_request
from center.core.pagination import paginate
from center.extensions import limit
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus, status_label
from center.screening import bp, diagram, services, trail
from center.screening import institutes as institute_services
from center.screening.forms import (
    BulkConfirmForm,
    BulkForm,
    ClearHitForm,
    ConcurrenceForm,
    ConfirmInstituteForm,
    DecisionForm,
    ListSourceForm,
    MergeInstituteForm,
    RefreshForm,
    SanctionsImportForm,
    SensitiveReviewForm,
    SettingsForm,
    StartForm,
)
from center.screening.models import (
    ConcurrenceRequest,
    SanctionsEntryRow,
    SanctionsHit,
    SanctionsList,
    ScreeningReport,
)
from center.screening.permissions import (
    READERS,
    SCREENERS,
    can_answer,
    can_import_lists,
    can_read_request,
    can_screen,
    sees_every_government,
)
from center.screening.published_lists import ListFile
from center.screening.source_views import source_panel
from center.tenants import services as tenants
from center.tenants.models import Institute, Role, country_name
from center.tenants.permissions import current_roles, roles

#: How long a bulk decision's confirmation stays valid.
BULK_TOKEN_MAX_AGE = 30 * 60


def get_proposal_or_404(proposal_id: int) -> Proposal:
    """Load a submitted proposal of this tenant (tenant-scoped lookup) or answer 404."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if proposal.status == ProposalStatus.draft:
        abort(404)
    return proposal


def _refused(exc: Exception) -> list[str]:
    """The messages of a refused action, for flashing."""
    if isinstance(exc, workflow.GuardFailed):
        return exc.problems
    if isinstance(exc, StaleDataError):
        return [_("Someone changed this proposal at the same moment. Reload and check.")]
    return [str(exc)]


def _attempt(action: Callable[[], Any]) -> Any:
    """Run a service action and commit; if it is refused, roll back, flash why, return None."""
    try:
        result = action()
        db.session.commit()
    except (services.ScreeningError, StaleDataError) as exc:
        db.session.rollback()
        for message in _refused(exc):
            flash(message, "error")
        return None
    return True if result is None else result


def _back(proposal: Proposal):  # noqa: ANN202
    return redirect(url_for("screening.show", proposal_id=proposal.id))


# --- the officers' queue and a proposal's screening --------------------------------------

@bp.route("/<tenant>/screening/")
@roles(*READERS)
def index():
    """List proposals in screening and concurrence with what blocks them."""
    status = request.args.get("status", "")
    page = paginate(services.queue(status or None), per_page=25)
    reports = services.reports_for([p.id for p in page.items])
    calls = db.session.scalars(
        select(Call).where(Call.id.in_(select(Proposal.call_id).where(
            Proposal.status.in_((ProposalStatus.submitted, ProposalStatus.screening)))))
        .order_by(Call.closes_at.desc())).all()
    return render_template("screening/index.html", page=page, reports=reports, status=status,
                           calls=calls, active=services.active_list(),
                           can_screen=can_screen(current_roles()),
                           deadlines_form=RefreshForm(version="0"))


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>")
@roles(*READERS)
def show(proposal_id: int):
    """Show a proposal's screening report, its hits and flags, and the decisions to take."""
    proposal = get_proposal_or_404(proposal_id)
    return _render_show(proposal)


def _render_show(proposal: Proposal, *, decision: DecisionForm | None = None,
                 status: int = 200) -> Any:
    report = services.report_for(proposal)
    versions = list(proposal.versions)
    requests_ = services.requests_of(proposal)
    version = proposal.version
    return render_template(
        "screening/show.html", proposal=proposal, report=report,
        problems=services.pass_problems(proposal), versions=versions,
        concurrence=requests_, officials={r.country_code: services.officials(r.country_code)
                                          for r in requests_},
        can_screen=can_screen(current_roles()), refresh_form=RefreshForm(version=version),
        start_form=StartForm(version=version),
        decision_form=decision or DecisionForm(version=version),
        clear_form=ClearHitForm(version=version),
        review_form=SensitiveReviewForm(version=version), describe=services.describe_check,
        currency=g.tenant.currency, money=money.format_money, now=clock.now(),
    ), status


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/refresh", methods=["POST"])
@roles(*SCREENERS)
def refresh(proposal_id: int):
    """Compute the screening report of the current version again."""
    proposal = get_proposal_or_404(proposal_id)
    form = RefreshForm()
    if not form.validate_on_submit():
        abort(400)
    report = _attempt(lambda: services.screen_proposal(
        proposal, by=current_user, expected_version=form.loaded_version()))
    if report:
        flash(_("Screening refreshed: %(hits)s, %(open)d to clear.",
                hits=ngettext("%(num)d sanctions hit", "%(num)d sanctions hits",
                              len(report.hits)),
                open=len(report.uncleared_hits)), "success")
    return _back(proposal)


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/start", methods=["POST"])
@roles(*SCREENERS)
def start(proposal_id: int):
    """Take a submitted proposal into screening."""
    proposal = get_proposal_or_404(proposal_id)
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    _fire(proposal, "start_screening", form.loaded_version(), "")
    return _back(proposal)


def _fire(proposal: Proposal, name: str, version: int | None, reason: str) -> bool:
    try:
        workflow.fire(proposal, name, by=current_user, roles=current_roles(),
                      expected_version=version, reason=reason)
        db.session.commit()
    except (workflow.TransitionError, StaleDataError) as exc:
        db.session.rollback()
        for message in _refused(exc):
            flash(message, "error")
        return False
    flash(_("Done: the proposal is now %(status)s.",
            status=proposal.status_label), "success")
    return True


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/decide", methods=["POST"])
@roles(*SCREENERS)
def decide(proposal_id: int):
    """Pass the proposal, request changes or declare it ineligible."""
    proposal = get_proposal_or_404(proposal_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_show(proposal, decision=form, status=422)
    name = form.decision.data
    reason = (form.reason.data or "").strip()
    if workflow.TRANSITIONS[name].needs_reason and not reason:
        form.reason.errors.append(_("Give the reason: the applicant is told."))
        return _render_show(proposal, decision=form, status=422)
    _fire(proposal, name, form.loaded_version(), reason)
    return _back(proposal)


@bp.route("/<tenant>/screening/hits/<int:sanctions_hit_id>/clear", methods=["POST"])
@roles(*SCREENERS)
def clear_hit(sanctions_hit_id: int):
    """Clear a sanctions hit with the reason why it is someone else."""
    hit = db.get_or_404(SanctionsHit, sanctions_hit_id)
    proposal = hit.report.proposal
    form = ClearHitForm()
    if not form.validate_on_submit():
        flash(_("Say why this is not the listed person or body."), "error")
        return _back(proposal)
    if _attempt(lambda: services.clear_hit(hit, by=current_user, reason=form.reason.data,
                                           expected_version=form.loaded_version())):
        flash(_("Hit on %(name)s cleared.", name=hit.subject_name), "success")
    return _back(proposal)


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/sensitive", methods=["POST"])
@roles(*SCREENERS)
def review_sensitive(proposal_id: int):
    """Record the security review of a proposal on sensitive topics."""
    proposal = get_proposal_or_404(proposal_id)
    report = services.report_for(proposal) or abort(404)
    form = SensitiveReviewForm()
    if not form.validate_on_submit():
        flash(_("Write what the security review found."), "error")
        return _back(proposal)
    if _attempt(lambda: services.review_sensitive(report, by=current_user, note=form.note.data,
                                                  expected_version=form.loaded_version())):
        flash(_("Security review recorded."), "success")
    return _back(proposal)


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/changes")
@roles(*READERS)
def changes(proposal_id: int):
    """Show what changed between two submitted versions (by default the last two)."""
    proposal = get_proposal_or_404(proposal_id)
    versions = {v.number: v for v in proposal.versions}
    if len(versions) < 2:
        flash(_("Only one version was submitted."), "info")
        return _back(proposal)
    new = request.args.get("to", type=int) or max(versions)
    old = request.args.get("from", type=int) or max((n for n in versions if n < new),
                                                    default=min(versions))
    if old not in versions or new not in versions or old == new:
        abort(404)
    return render_template("screening/changes.html", proposal=proposal, old=versions[old],
                           new=versions[new], numbers=sorted(versions),
                           changes=services.version_changes(versions[old].snapshot,
                                                            versions[new].snapshot))


# --- the audit trail ---------------------------------------------------------------------

@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/audit")
@roles(*READERS)
def audit_trail(proposal_id: int):
    """Every recorded transition, clearance, concurrence and decision about the proposal."""
    proposal = db.get_or_404(Proposal, proposal_id)
    page = paginate(services.audit_trail(proposal), per_page=50)
    return render_template("screening/audit.html", proposal=proposal, page=page,
                           names=services.actor_names(page.items), trail=trail)


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/audit.csv")
@roles(*READERS)
def audit_csv(proposal_id: int):
    """The proposal's audit trail as CSV."""
    proposal = db.get_or_404(Proposal, proposal_id)
    return csv_response(f"proposal-{proposal.id}-audit.csv", *_audit_table(proposal))


@bp.route("/<tenant>/screening/proposals/<int:proposal_id>/audit.xlsx")
@roles(*READERS)
def audit_xlsx(proposal_id: int):
    """The proposal's audit trail as an XLSX workbook, the same table as the CSV."""
    proposal = db.get_or_404(Proposal, proposal_id)
    return xlsx_response(f"proposal-{proposal.id}-audit.xlsx", *_audit_table(proposal))


def _audit_table(proposal: Proposal) -> tuple[list[str], list[list[str]]]:
    events = db.session.scalars(services.audit_trail(proposal)).all()
    return trail.audit_table(events, services.actor_names(events))


# --- bulk decisions for a call -----------------------------------------------------------

def _bulk_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="screening-bulk-decision")


@bp.route("/<tenant>/screening/calls/<int:call_id>/bulk", methods=["GET", "POST"])
@roles(*SCREENERS)
def bulk(call_id: int):
    """Decide on several proposals of a call: choose, see what will change, confirm."""
    call = db.get_or_404(Call, call_id)
    waiting = services.in_screening(call.id)
    if request.method == "POST" and "token" in request.form:
        return _apply_bulk(call)
    form = BulkForm()
    form.proposals.choices = [SelectChoice(p.id, p.title) for p in waiting]
    if form.validate_on_submit():
        chosen = [p for p in waiting if p.id in set(form.proposals.data)]
        reason = (form.reason.data or "").strip()
        if workflow.TRANSITIONS[form.action.data].needs_reason and not reason:
            form.reason.errors.append(_("Give the reason: each applicant is told."))
        else:
            plan = services.plan_decision(chosen, form.action.data, by=current_user,
                                          roles=current_roles(), reason=reason)
            token = _bulk_serializer().dumps({
                "tenant": g.tenant.id, "call": call.id, "action": form.action.data,
                "reason": reason, "by": current_user.id,
                "items": [[c.proposal.id, c.version] for c in plan]})
            return render_template("screening/bulk_confirm.html", call=call, plan=plan,
                                   action=workflow.TRANSITIONS[form.action.data],
                                   reason=reason, form=BulkConfirmForm(token=token),
                                   blocked=any(c.problems for c in plan))
    return render_template("screening/bulk.html", call=call, form=form, waiting=waiting,
                           reports=services.reports_for([p.id for p in waiting]))


def _apply_bulk(call: Call):  # noqa: ANN202
    form = BulkConfirmForm()
    try:
        data = _bulk_serializer().loads(form.token.data or "", max_age=BULK_TOKEN_MAX_AGE)
    except SignatureExpired:
        flash(_("The confirmation expired: choose the proposals again."), "error")
        return redirect(url_for("screening.bulk", call_id=call.id))
    except BadSignature:
        abort(400)
    if (data["tenant"], data["call"], data["by"]) != (g.tenant.id, call.id, current_user.id):
        abort(400)
    chosen = []
    for proposal_id, version in data["items"]:
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None or proposal.call_id != call.id:
            abort(400)
        chosen.append((proposal, version))
    try:
        count = services.decide_in_bulk(chosen, data["action"], by=current_user,
                                        roles=current_roles(), reason=data["reason"])
        db.session.commit()
    except (workflow.TransitionError, services.ScreeningError, StaleDataError) as exc:
        db.session.rollback()
        flash(_("Nothing was changed:"), "error")
        for message in _refused(exc):
            flash(message, "error")
    else:
        flash(ngettext("%(num)d proposal is now %(status)s.",
                       "%(num)d proposals are now %(status)s.", count,
                       status=status_label(workflow.TRANSITIONS[data["action"]].target)),
              "success")
    return redirect(url_for("screening.bulk", call_id=call.id))


# --- sanctions lists ---------------------------------------------------------------------

@bp.route("/<tenant>/screening/sanctions", methods=["GET", "POST"])
@limit("LIMIT_UPLOADS", methods=["POST"])
@roles(*READERS)
def sanctions():
    """Show the sanctions lists and import a new version, as published or as CSV."""
    form = SanctionsImportForm()
    row_errors: list[Any] = []
    if form.validate_on_submit():
        files = [ListFile(upload.filename or "list", upload.read(services.MAX_LIST_BYTES + 1))
                 for upload in form.file.data if upload]
        try:
            new = services.import_sanctions_list(
                files=files, label=form.label.data or "", by=current_user,
                skip_bad_rows=form.skip_bad_rows.data)
        except services.ImportRejected as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
            row_errors = exc.errors
        else:
            waiting = db.session.scalar(select(Proposal.id).where(
                Proposal.status.in_(services.RESCREEN_STATES)).limit(1))
            job = services.start_rescreen(new, by=current_user) if waiting else None
            db.session.commit()
            flash(_("List version %(n)d imported with %(count)d entries.", n=new.number,
                    count=new.entry_count), "success")
            if job is not None:
                return redirect(url_for("core.job_page", job_id=job.id))
            return redirect(url_for("screening.sanctions"))
    return sanctions_page(form=form, row_errors=row_errors, status=422 if form.errors else 200)


def sanctions_page(*, form: SanctionsImportForm | None = None,
                   source_form: ListSourceForm | None = None, row_errors: list[Any] = (),
                   status: int = 200) -> tuple[str, int]:
    """The sanctions page: the versions, the import form and the source panel."""
    lists = db.session.scalars(select(SanctionsList).order_by(SanctionsList.number.desc())
                               .limit(50)).all()
    return render_template("screening/sanctions.html",
                           form=form or SanctionsImportForm(formdata=None), lists=lists,
                           rescreened=job_named_in_request("screening.rescreen"),
                           row_errors=row_errors[:100],
                           more_errors=max(0, len(row_errors) - 100),
                           can_import=can_import_lists(current_roles()),
                           **source_panel(source_form)), status


@bp.route("/<tenant>/screening/sanctions/<int:sanctions_list_id>")
@roles(*READERS)
def sanctions_list(sanctions_list_id: int):
    """Browse one imported version of the list."""
    listed = db.get_or_404(SanctionsList, sanctions_list_id)
    search = request.args.get("q", "").strip()
    query = select(SanctionsEntryRow).where(SanctionsEntryRow.list_id == listed.id)
    if search:
        query = query.where(SanctionsEntryRow.name.ilike(f"%{search}%"))
    page = paginate(query.order_by(SanctionsEntryRow.line), per_page=50)
    return render_template("screening/sanctions_list.html", listed=listed, page=page,
                           search=search)


# --- the workflow diagram and the tenant's settings -----------------------------------------

@bp.route("/<tenant>/screening/workflow")
@roles(*READERS)
def workflow_diagram():
    """Show the proposal workflow, drawn and tabulated from the state machine itself."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for t in workflow.diagram():
        for source in t["from"]:
            rows.setdefault(source, []).append(t)
    order = [str(s) for s in ProposalStatus]
    return render_template("screening/workflow.html", drawing=diagram.layout(),
                           by_state=sorted(rows.items(), key=lambda kv: order.index(kv[0])))


@bp.route("/<tenant>/screening/settings", methods=["GET", "POST"])
@roles(Role.admin)
def settings():
    """Edit the deadline, the negative-concurrence rule, the effort limit and the keywords."""
    tenant = g.tenant
    form = SettingsForm()
    if request.method == "GET" and not form.restored:
        form.concurrence_deadline_days.data = tenant.setting("concurrence_deadline_days")
        form.negative_concurrence.data = tenant.setting("negative_concurrence")
        form.effort_limit_days_per_year.data = tenant.setting("effort_limit_days_per_year")
        form.sensitive_keywords.data = "\n".join(tenant.setting("sensitive_keywords"))
        form.revision.data = services.settings_revision(tenant)
    if form.validate_on_submit():
        try:
            changed = services.update_settings(
                tenant, by=current_user, expected_revision=form.revision.data or None,
                concurrence_deadline_days=form.concurrence_deadline_days.data,
                negative_concurrence=bool(form.negative_concurrence.data),
                effort_limit_days_per_year=form.effort_limit_days_per_year.data,
                sensitive_keywords=form.keywords())
        except services.StaleAction as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            form.revision.data = services.settings_revision(tenant)
            return render_template("screening/settings.html", form=form), 409
        db.session.commit()
        flash(_("Settings saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("screening.settings"))
    return render_template("screening/settings.html", form=form)


@bp.route("/<tenant>/screening/deadlines", methods=["POST"])
@limit("LIMIT_JOBS")
@roles(*SCREENERS)
def run_deadlines():
    """Send due reminders and apply silence-as-consent now, as a background job."""
    form = RefreshForm()
    if not form.validate_on_submit():
        abort(400)
    job = enqueue("screening.concurrence_deadlines", by=current_user)
    db.session.commit()
    return redirect(url_for("core.job_page", job_id=job.id))


# --- concurrence officials ---------------------------------------------------------------

def _my_countries() -> set[str]:
    return services.official_countries(current_user)


@bp.route("/<tenant>/concurrence/")
@roles(Role.concurrence)
def concurrence_index():
    """The requests put to the official's government: open ones first, then answered."""
    countries = sorted(_my_countries())
    open_ = [r for code in countries for r in services.open_requests_for(code)]
    query = select(ConcurrenceRequest).where(
        ConcurrenceRequest.country_code.in_(countries),
        ConcurrenceRequest.decision.is_not(None)).order_by(
        ConcurrenceRequest.decided_at.desc(), ConcurrenceRequest.id.desc())
    page = paginate(query, per_page=25)
    return render_template("screening/concurrence_index.html", open_requests=open_,
                           page=page, countries=[country_name(c) for c in countries],
                           now=clock.now())


@bp.route("/<tenant>/concurrence/<int:concurrence_request_id>", methods=["GET", "POST"])
@roles(Role.concurrence)
def concurrence_request(concurrence_request_id: int):
    """Read the proposal and concur or object, with a comment."""
    req = db.get_or_404(ConcurrenceRequest, concurrence_request_id)
    if not can_answer(_my_countries(), req.country_code):
        # Another government's request: not even its existence is the official's business.
        abort(404)
    form = ConcurrenceForm(version=req.version)
    if form.validate_on_submit():
        comment = (form.comment.data or "").strip()
        if form.decision.data == "object" and not comment:
            form.comment.errors.append(_("Give the reason for the objection: the applicant "
                                         "is told."))
        else:
            try:
                if form.decision.data == "concur":
                    complete = services.concur(req, by=current_user, comment=comment,
                                               expected_version=form.loaded_version())
                else:
                    services.object_to(req, by=current_user, comment=comment,
                                       expected_version=form.loaded_version())
                    complete = False
                db.session.commit()
            except (services.ScreeningError, workflow.TransitionError, StaleDataError) as exc:
                db.session.rollback()
                form.form_errors.extend(_refused(exc))
                db.session.refresh(req)
                form.version.data = req.version
            else:
                if form.decision.data == "object":
                    flash(_("Objection recorded; the applicant is told your reason."),
                          "success")
                elif complete:
                    flash(_("Concurrence recorded. Every country has now concurred: the "
                            "proposal goes to review."), "success")
                else:
                    flash(_("Concurrence recorded."), "success")
                return redirect(url_for("screening.concurrence_index"))
    proposal = req.proposal
    return render_template(
        "screening/concurrence_request.html", req=req, proposal=proposal, form=form,
        others=[r for r in services.requests_of(proposal)
                if r.id != req.id and can_read_request(_my_countries(), r.country_code)],
        totals=proposals.budget_totals(proposal), currency=g.tenant.currency,
        money=money.format_money, now=clock.now(),
    ), (422 if form.errors else 200)


# --- template globals for the proposal page and the dashboards -----------------------------

@bp.app_template_global()
def screening_panel(proposal: Proposal) -> dict[str, Any]:
    """What the proposal page shows about screening and concurrence."""
    report = services.report_for(proposal) if proposal.version_no else None
    requests_ = services.requests_of(proposal) if proposal.version_no else []
    if not sees_every_government(current_user, proposal, current_roles()):
        countries = _my_countries()
        requests_ = [r for r in requests_ if can_read_request(countries, r.country_code)]
    return {"report": report, "requests": requests_,
            "summary": services.decisions_summary(requests_)}


@bp.app_template_global()
def concurrence_open_requests() -> list[ConcurrenceRequest]:
    """The signed-in official's open requests, nearest deadline first."""
    return [r for code in sorted(_my_countries()) for r in services.open_requests_for(code)]


@bp.app_template_global()
def screening_counts() -> dict[str, int]:
    """How many proposals wait at each screening and concurrence step, for the dashboard."""
    counts = {}
    for status in (ProposalStatus.submitted, ProposalStatus.screening,
                   ProposalStatus.concurrence):
        counts[str(status)] = db.session.scalar(
            select(db.func.count(Proposal.id)).where(Proposal.status == status))
    blocked = db.session.scalar(
        select(db.func.count(db.distinct(ScreeningReport.proposal_id)))
        .join(Proposal, Proposal.id == ScreeningReport.proposal_id)
        .join(SanctionsHit, SanctionsHit.report_id == ScreeningReport.id)
        .where(SanctionsHit.cleared_at.is_(None),
               ScreeningReport.version_no == Proposal.version_no,
               Proposal.status.in_((ProposalStatus.submitted, ProposalStatus.screening))))
    counts["blocked"] = blocked or 0
    return counts


bp.add_app_template_global(clock.now, "clock_now")


# --- institutes proposed by applicants -----------------------------------------------------

@bp.route("/<tenant>/screening/institutes")
@roles(*READERS)
def institutes():
    """List the institutes applicants proposed, each with the existing ones it may be."""
    candidates = tenants.institutes(verified_only=True)
    rows = []
    for institute in institute_services.unconfirmed():
        matches = institute_services.likely_matches(institute, candidates)
        form = MergeInstituteForm(formdata=None, prefix=f"m{institute.id}")
        form.into.choices = [SelectChoice(0, "—")] + [
            SelectChoice(m.institute.id, _label(m.institute)) for m in matches] + [
            SelectChoice(i.id, _label(i)) for i in candidates
            if i.id not in {m.institute.id for m in matches}]
        rows.append((institute, matches, form, institute_services.reference_counts(institute)))
    return render_template("screening/institutes.html", rows=rows,
                           confirm_form=ConfirmInstituteForm(),
                           reference_label=institute_services.reference_label)


def _label(institute: Institute) -> str:
    place = ", ".join(p for p in (institute.country_name, institute.city) if p)
    return f"{institute.name} ({place})"


@bp.route("/<tenant>/screening/institutes/<int:institute_id>/confirm", methods=["POST"])
@roles(*READERS)
def confirm_institute(institute_id: int):
    institute = db.get_or_404(Institute, institute_id)
    if ConfirmInstituteForm().validate_on_submit():
        try:
            institute_services.confirm(institute, by=current_user)
        except institute_services.MergeRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is confirmed.", name=institute.name), "success")
    return redirect(url_for("screening.institutes"))


@bp.route("/<tenant>/screening/institutes/<int:institute_id>/merge", methods=["GET", "POST"])
@roles(*READERS)
def merge_institute(institute_id: int):
    """Show what merging moves (GET, from the list's choice), then merge (POST)."""
    duplicate = db.get_or_404(Institute, institute_id)
    into_id = request.values.get("into", type=int) or request.values.get(
        f"m{institute_id}-into", type=int)
    if not into_id:
        flash(_("Choose the institute it duplicates."), "error")
        return redirect(url_for("screening.institutes"))
    into = db.get_or_404(Institute, into_id)
    form = ConfirmInstituteForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            institute_services.merge(duplicate, into, by=current_user)
        except institute_services.MergeRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("screening.institutes"))
        db.session.commit()
        flash(_("%(old)s is merged into %(new)s.", old=duplicate.name, new=into.name),
              "success")
        return redirect(url_for("screening.institutes"))
    return render_template("screening/merge_institute.html", duplicate=duplicate, into=into,
                           form=form, counts=institute_services.reference_counts(duplicate),
                           reference_label=institute_services.reference_label)
