"""Change-request pages: a project's requests and the form for a new one, one request with
the actions the user may take, and the amendment's PDF and acknowledgements."""

from __future__ import annotations

from io import BytesIO

from flask import abort, flash, g, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from center.amendments import bp, permissions, services
from center.amendments.forms import AmendmentAcknowledgeForm, ChangeActionForm, ChangeRequestForm
from center.amendments.models import Amendment, ChangeKind, ChangeRequest
from center.core.db import db
from center.proposals.models import Proposal
from center.tenants.models import Donor, Role
from center.tenants.permissions import current_roles, roles

VIEWERS = (Role.applicant, Role.officer, Role.admin, Role.signatory, Role.reviewer)


def get_project_or_404(proposal_id: int) -> Proposal:
    """Load an active project of this tenant the user may see; 404 otherwise."""
    proposal = db.get_or_404(Proposal, proposal_id)
    agreement = services.project_agreement(proposal)
    if not permissions.can_view_project(current_user, proposal, agreement, current_roles()):
        abort(404)
    return proposal


@bp.app_template_global()
def may_open_post_award(proposal: Proposal) -> bool:
    """Whether the current user may open the project's time cards, change requests and
    equipment pages (the project's page links them only then): the same test as
    `get_project_or_404`, so a closed project links none."""
    agreement = services.project_agreement(proposal)
    return permissions.can_view_project(current_user, proposal, agreement, current_roles())


@bp.app_template_global()
def changes_summary(proposal: Proposal) -> dict:
    """The project page's change-request section: open requests and issued amendments."""
    changes = services.changes_of(proposal)
    return {"open": [c for c in changes if c.status in (services.S.submitted,
                                                        services.S.donor_review)],
            "total": len(changes),
            "amendments": sorted((c.amendment for c in changes if c.amendment),
                                 key=lambda a: a.number)}


#: What each action's button says.
ACTION_LABELS = {"forward": _l("Forward to the donors"), "approve": _l("Approve"),
                 "reject": _l("Reject"), "withdraw": _l("Withdraw the request"),
                 "donor_approve": _l("Approve for the donor"),
                 "donor_reject": _l("Reject for the donor")}


def get_change_or_404(change_id: int) -> ChangeRequest:
    change = db.get_or_404(ChangeRequest, change_id)
    get_project_or_404(change.proposal_id)
    return change


def _request_form(proposal) -> ChangeRequestForm:  # noqa: ANN001
    return ChangeRequestForm(lines=[(line.id, services.line_label(line))
                                    for line in proposal.budget_lines],
                             members=proposal.team, tasks=proposal.tasks)


@bp.route("/<tenant>/projects/<int:proposal_id>/changes", methods=["GET", "POST"])
@roles(*VIEWERS)
def project_changes(proposal_id: int):
    """List a project's change requests; its applicants make new ones here."""
    proposal = get_project_or_404(proposal_id)
    held = current_roles()
    form = _request_form(proposal)
    status = 200
    if form.is_submitted():
        if not permissions.can_enter(current_user, proposal, held):
            abort(403)
        if form.validate():
            try:
                change = services.request_change(
                    proposal, ChangeKind(form.kind.data), by=current_user, tenant=g.tenant,
                    justification=form.justification.data, moves=form.moves(),
                    new_end_on=form.new_end_on.data, extra_days=form.extra())
            except services.ChangeError as exc:
                db.session.rollback()
                form.justification.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Change request sent to the programme officer."), "success")
                return redirect(url_for("amendments.show", change_id=change.id))
        status = 422
    agreement = services.project_agreement(proposal)
    return render_template(
        "amendments/project.html", proposal=proposal, changes=services.changes_of(proposal),
        form=form, can_request=permissions.can_enter(current_user, proposal, held),
        amounts=services.current_line_amounts(proposal),
        end_on=services.end_on(proposal, agreement, g.tenant),
        limit=services.limit_percent(g.tenant)), status


@bp.route("/<tenant>/changes")
@roles(Role.officer, Role.admin)
def index():
    """The change requests waiting for the officer or the donors."""
    return render_template("amendments/index.html", changes=services.open_changes())


@bp.route("/<tenant>/changes/<int:change_id>", methods=["GET", "POST"])
@roles(*VIEWERS)
def show(change_id: int):
    """One change request: what it asks, its history, the actions the user may take."""
    change = get_change_or_404(change_id)
    held = current_roles()
    form = ChangeActionForm(version=change.version)
    if form.is_submitted():
        if not form.validate() or form.action.data not in services.TRANSITIONS:
            abort(400)
        if not services.may_fire(current_user, held, change, form.action.data):
            abort(403)
        try:
            services.fire(change, form.action.data, by=current_user, roles=held,
                          tenant=g.tenant, expected_version=form.version.data,
                          comment=form.comment.data or "")
        except services.ChangeError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The request is now %(state)s.", state=change.status_label), "success")
        return redirect(url_for("amendments.show", change_id=change.id))
    amendment = change.amendment
    ack_forms = []
    if amendment is not None:
        for party, donor_id in services.amendment_parties_of(current_user, amendment):
            value = f"donor:{donor_id}" if party == "donor" else party
            ack_forms.append((value, AmendmentAcknowledgeForm(
                formdata=None, prefix=value.replace(":", "-"), party=value,
                sha256=amendment.sha256)))
    lines = {line.id: services.line_label(line) for line in change.proposal.budget_lines}
    return render_template(
        "amendments/show.html", change=change, proposal=change.proposal, form=form,
        actions=[a for a in services.TRANSITIONS if services.may_fire(current_user, held,
                                                                      change, a)],
        action_labels=ACTION_LABELS, amendment=amendment, ack_forms=ack_forms, lines=lines,
        donors={d.id: d.name for d in db.session.scalars(select(Donor))},
        members={m.id: m.name for m in change.proposal.team},
        tasks={t.id: t.title for t in change.proposal.tasks})


def get_amendment_or_404(amendment_id: int) -> Amendment:
    amendment = db.get_or_404(Amendment, amendment_id)
    get_project_or_404(amendment.proposal_id)
    return amendment


@bp.route("/<tenant>/amendments/<int:amendment_id>/pdf")
@roles(*VIEWERS)
def download(amendment_id: int):
    """Hand out the stored amendment PDF, checked against its fingerprint."""
    amendment = get_amendment_or_404(amendment_id)
    try:
        data = services.amendment_bytes(amendment)
    except services.ChangeError:
        abort(409)
    response = send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=amendment.filename)
    response.headers["X-Content-SHA256"] = amendment.sha256
    return response


@bp.route("/<tenant>/amendments/<int:amendment_id>/acknowledge", methods=["POST"])
@roles(Role.signatory, Role.reviewer)
def acknowledge(amendment_id: int):
    """Record a party's acknowledgement of the amendment's exact PDF."""
    amendment = get_amendment_or_404(amendment_id)
    parties = services.amendment_parties_of(current_user, amendment)
    if not parties:
        abort(403)
    for party, donor_id in parties:
        value = f"donor:{donor_id}" if party == "donor" else party
        form = AmendmentAcknowledgeForm(prefix=value.replace(":", "-"))
        if form.party.data != value:
            continue
        if not form.validate():
            flash(_("Tick the confirmation and type your full name."), "error")
            break
        try:
            services.acknowledge_amendment(amendment, by=current_user, party=party,
                                           donor_id=donor_id, typed_name=form.typed_name.data,
                                           sha256=form.sha256.data)
        except services.ChangeError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Amendment acknowledged."), "success")
        break
    else:
        abort(400)
    return redirect(url_for("amendments.show", change_id=amendment.change_id))
