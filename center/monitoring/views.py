"""Monitoring pages: a project's equipment and visits, and the officer's double-claim flags."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from center.amendments import permissions
from center.amendments.services import line_label, open_changes
from center.amendments.views import VIEWERS, get_project_or_404
from center.core import clock
from center.core.db import db
from center.dedup.models import MatchStatus
from center.dedup.services import highlighted
from center.monitoring import bp, claims, services
from center.monitoring.forms import ClaimVerdictForm, EquipmentForm, RowActionForm, VisitForm
from center.monitoring.models import DoubleClaim, Equipment, FollowUpAction
from center.proposals.models import BudgetCategory, BudgetLine, Proposal
from center.tenants.models import Role
from center.tenants.permissions import current_roles, roles

OFFICERS = (Role.officer, Role.admin)


def _forms(proposal: Proposal) -> tuple[EquipmentForm, VisitForm]:
    lines = [(line.id, line_label(line)) for line in proposal.budget_lines
             if line.category == BudgetCategory.equipment]
    return (EquipmentForm(lines=lines, prefix="equipment"),
            VisitForm(equipment=services.equipment_of(proposal), prefix="visit"))


def _page(proposal: Proposal, equipment_form: EquipmentForm, visit_form: VisitForm,
          status: int = 200):  # noqa: ANN202
    held = current_roles()
    return render_template(
        "monitoring/project.html", proposal=proposal,
        equipment=services.equipment_of(proposal), visits=services.visits_of(proposal),
        equipment_form=equipment_form, visit_form=visit_form,
        can_register=permissions.can_enter(current_user, proposal, held),
        can_oversee=permissions.can_oversee(proposal, held),
        row_form=lambda row: RowActionForm(formdata=None, row=row.id, version=row.version),
        settled=services.equipment_settled(proposal)), status


@bp.route("/<tenant>/projects/<int:proposal_id>/monitoring", methods=["GET", "POST"])
@roles(*VIEWERS)
def project(proposal_id: int):
    """A project's equipment register and visits; the applicants register equipment here."""
    proposal = get_project_or_404(proposal_id)
    equipment_form, visit_form = _forms(proposal)
    if equipment_form.is_submitted():
        if not permissions.can_enter(current_user, proposal, current_roles()):
            abort(403)
        if equipment_form.validate():
            line = db.session.get(BudgetLine, equipment_form.line.data or 0)
            try:
                if line is None:
                    raise services.MonitoringError(_("Choose an equipment line."), "line")
                services.register_equipment(
                    proposal, line=line, item=equipment_form.item.data,
                    cost=equipment_form.cost.data, location=equipment_form.location.data,
                    serial=equipment_form.serial.data or "", by=current_user)
            except services.MonitoringError as exc:
                db.session.rollback()
                getattr(equipment_form, exc.field or "item").errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Equipment registered."), "success")
                return redirect(url_for("monitoring.project", proposal_id=proposal.id))
        return _page(proposal, equipment_form, visit_form, 422)
    return _page(proposal, equipment_form, visit_form)


@bp.route("/<tenant>/projects/<int:proposal_id>/monitoring/visits", methods=["POST"])
@roles(*OFFICERS)
def record_visit(proposal_id: int):
    """Record a monitoring visit with the equipment seen and one follow-up action."""
    proposal = get_project_or_404(proposal_id)
    if not permissions.can_oversee(proposal, current_roles()):
        abort(403)
    equipment_form, visit_form = _forms(proposal)
    equipment_form.process(formdata=None)
    if visit_form.validate():
        form = visit_form
        items = [e for e in services.equipment_of(proposal) if e.id in (form.confirmed.data or [])]
        actions = []
        if form.action.data:
            if not form.owner.data or not form.due_on.data:
                form.owner.errors.append(_("Say who does the action and by when."))
                return _page(proposal, equipment_form, visit_form, 422)
            actions.append(services.ActionInput(form.action.data, form.owner.data,
                                                form.due_on.data))
        try:
            services.record_visit(proposal, visited_on=form.visited_on.data,
                                  visitor=form.visitor.data, findings=form.findings.data,
                                  confirmed=items, actions=actions, by=current_user)
        except services.MonitoringError as exc:
            db.session.rollback()
            getattr(form, exc.field if exc.field in {"visited_on", "visitor", "findings"}
                    else "action").errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Visit recorded."), "success")
            return redirect(url_for("monitoring.project", proposal_id=proposal.id))
    return _page(proposal, equipment_form, visit_form, 422)


def _row_action(proposal_id: int, load, act, done: str):  # noqa: ANN001, ANN202
    """Load the project and the row the form names (``load(id)`` returns it if it belongs
    to the project), run ``act(row, form)`` and say ``done``; refusals are flashed."""
    proposal = get_project_or_404(proposal_id)
    if not permissions.can_oversee(proposal, current_roles()):
        abort(403)
    form = RowActionForm()
    if not form.validate():
        abort(400)
    row = load(form.row.data)
    if row is None or row.proposal_id != proposal.id:
        abort(404)
    try:
        act(row, form)
    except services.MonitoringError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("monitoring.project", proposal_id=proposal.id))


@bp.route("/<tenant>/projects/<int:proposal_id>/monitoring/actions", methods=["POST"])
@roles(*OFFICERS)
def close_action(proposal_id: int):
    """Mark a visit's follow-up action done."""
    return _row_action(
        proposal_id, lambda i: db.session.get(FollowUpAction, i),
        lambda action, form: services.close_action(action, by=current_user,
                                                   expected_version=form.version.data),
        _("Action marked done."))


@bp.route("/<tenant>/projects/<int:proposal_id>/monitoring/handover", methods=["POST"])
@roles(*OFFICERS)
def hand_over(proposal_id: int):
    """Record that a confirmed item was handed over."""
    return _row_action(
        proposal_id, lambda i: db.session.get(Equipment, i),
        lambda item, form: services.hand_over(item, to=form.to.data or "", by=current_user,
                                              expected_version=form.version.data),
        _("Hand-over recorded."))


@bp.route("/<tenant>/claims")
@roles(*OFFICERS)
def claim_list():
    """Open double claims: reported results that overlap another project or proposal."""
    return render_template("monitoring/claims.html", claims=claims.open_claims())


@bp.route("/<tenant>/claims/<int:claim_id>", methods=["GET", "POST"])
@roles(*OFFICERS)
def claim(claim_id: int):
    """A double claim side by side, and the officer's verdict."""
    row = db.get_or_404(DoubleClaim, claim_id)
    form = ClaimVerdictForm(version=row.version)
    if form.validate_on_submit():
        try:
            claims.resolve_claim(row, MatchStatus(form.status.data), comment=form.comment.data,
                                 by=current_user, expected_version=form.version.data)
        except claims.ClaimError as exc:
            db.session.rollback()
            form.comment.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Verdict recorded."), "success")
            return redirect(url_for("monitoring.claim", claim_id=row.id))
    try:
        comparison = claims.compare_claim(row)
    except claims.ClaimError:
        abort(404)
    return render_template("monitoring/claim.html", row=row, form=form, comparison=comparison,
                           highlighted=highlighted)


@bp.app_template_global()
def monitoring_summary(proposal: Proposal) -> dict:
    """The project page's monitoring section: equipment, visits, open actions and (for the
    officers) the double claims found in the project's reports."""
    equipment = services.equipment_of(proposal)
    visits = services.visits_of(proposal)
    staff = bool(current_roles() & set(OFFICERS))
    return {"equipment": len(equipment),
            "outstanding": len(services.equipment_outstanding(proposal)),
            "visits": len(visits), "last_visit": visits[0] if visits else None,
            "open_actions": [a for v in visits for a in v.actions if a.is_open],
            "claims": [c for c in claims.claims_of(proposal) if c.status == MatchStatus.open]
            if staff else []}


@bp.app_template_global()
def post_award_summary() -> dict[str, int]:
    """What waits for the officer after the award: change requests, visit actions (open and
    overdue), double claims."""
    actions = services.open_actions(limit=1000)
    today = clock.now().date()
    return {"changes": len(open_changes(limit=1000)), "actions": len(actions),
            "overdue": sum(1 for a in actions if a.due_on < today),
            "claims": len(claims.open_claims(limit=1000))}
