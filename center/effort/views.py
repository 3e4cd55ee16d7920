"""Time-card pages of an active project: the cards, the payments they make, entry and
acceptance."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from center.amendments import permissions
from center.amendments.views import VIEWERS, get_project_or_404
from center.core.db import db
from center.effort import bp, services
from center.effort.forms import CardDecisionForm, TimeCardForm
from center.effort.models import CardStatus, TimeCard
from center.proposals.models import Proposal, Task, TeamMember
from center.tenants.models import Role
from center.tenants.permissions import current_roles, roles


@bp.app_template_global()
def effort_summary(proposal: Proposal) -> dict:
    """The project page's time-card section: cards per state and the days accepted."""
    cards = services.cards_of(proposal)
    counts = {str(s): sum(1 for c in cards if c.status == s) for s in CardStatus}
    return {"counts": counts, "total": len(cards),
            "days": sum(c.days for c in cards if c.status == CardStatus.accepted)}


def _page(proposal: Proposal, form: TimeCardForm, status: int = 200):  # noqa: ANN202
    held = current_roles()
    return render_template(
        "effort/cards.html", proposal=proposal, cards=services.cards_of(proposal),
        payments=services.payments(proposal), form=form,
        can_enter=permissions.can_enter(current_user, proposal, held),
        can_decide=permissions.can_oversee(proposal, held),
        decision=lambda card: CardDecisionForm(formdata=None, card=card.id,
                                               version=card.version),
        working_days=services.working_days), status


@bp.route("/<tenant>/projects/<int:proposal_id>/effort", methods=["GET", "POST"])
@roles(*VIEWERS)
def cards(proposal_id: int):
    """List the project's time cards and payments; the applicants enter days here."""
    proposal = get_project_or_404(proposal_id)
    form = TimeCardForm(members=proposal.team, tasks=proposal.tasks)
    if form.is_submitted():
        if not permissions.can_enter(current_user, proposal, current_roles()):
            abort(403)
        if form.validate():
            try:
                services.enter_card(proposal, member=db.session.get(TeamMember,
                                                                    form.member.data),
                                    task=db.session.get(Task, form.task.data),
                                    month=form.month.data, days=form.days.data,
                                    by=current_user, tenant=g.tenant)
            except services.EffortError as exc:
                db.session.rollback()
                getattr(form, exc.field).errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Time card saved; the officer will check it."), "success")
                return redirect(url_for("effort.cards", proposal_id=proposal.id))
        return _page(proposal, form, 422)
    return _page(proposal, form)


@bp.route("/<tenant>/projects/<int:proposal_id>/effort/decide", methods=["POST"])
@roles(Role.officer, Role.admin)
def decide(proposal_id: int):
    """Accept a time card or return it with a reason."""
    proposal = get_project_or_404(proposal_id)
    if not permissions.can_oversee(proposal, current_roles()):
        abort(403)
    form = CardDecisionForm()
    if not form.validate():
        abort(400)
    card = db.session.get(TimeCard, form.card.data)
    if card is None or card.proposal_id != proposal.id:
        abort(404)
    try:
        services.decide_card(card, form.action.data, by=current_user,
                             expected_version=form.version.data, reason=form.reason.data or "")
    except services.EffortError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Time card accepted.") if form.action.data == "accept"
              else _("Time card returned."), "success")
    return redirect(url_for("effort.cards", proposal_id=proposal.id))
