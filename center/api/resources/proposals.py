"""The applicant's proposals: read them, open a draft, save its sections, submit it.

The sections are saved through the page's forms (`center.proposals.forms`) and services,
so the API refuses what the page refuses, with the same messages; the submission fires the
same workflow transition, with its guards, audit and e-mails.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from center.api.auth import api_blueprint, token_roles
from center.api.resources.common import (
    check,
    form_input,
    money,
    page_of_list,
    refuse,
    with_items,
)
from center.api.schemas import (
    IPUpdate,
    NewProposal,
    OverviewUpdate,
    PageArgs,
    ProposalSchema,
    ProposalSummary,
    SubmitRequest,
    paged,
)
from center.calls.models import Call
from center.core.db import db
from center.core.links import external_url
from center.proposals import services, workflow
from center.proposals.forms import (
    IP_PLAN_FIELDS,
    OVERVIEW_FIELDS,
    IPPlanForm,
    OverviewForm,
    section_value,
)
from center.proposals.models import Proposal
from center.proposals.permissions import can_edit, can_view, is_applicant_of
from center.tenants.models import Role
from center.tenants.permissions import current_roles

blp = api_blueprint("api_proposals", "Proposals",
                    "Your proposals: drafts, sections, submission.")


def load_draft(proposal_id: int) -> Proposal:
    """The proposal, which the token's owner may change now."""
    return load_proposal(proposal_id, edit=True)


def load_proposal(proposal_id: int, *, edit: bool = False) -> Proposal:
    """The proposal the token's owner may see (``edit``: change); 404 for anyone else, and
    409 with the reason when its state no longer lets its applicants change it."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if not can_view(current_user, proposal, current_roles()):
        refuse(404, _("No such proposal."))
    if edit and not can_edit(current_user, proposal):
        if is_applicant_of(current_user, proposal):
            refuse(409, services.not_editable_reason(proposal))
        refuse(403, _("Only the proposal's applicants change it."))
    return proposal


def summary(proposal: Proposal) -> dict[str, Any]:
    return {"id": proposal.id, "call_id": proposal.call_id, "title": proposal.title,
            "acronym": proposal.acronym, "status": proposal.status,
            "status_label": proposal.status_label, "version": proposal.version,
            "created_at": proposal.created_at, "submitted_at": proposal.submitted_at,
            "url": external_url("proposals.show", proposal_id=proposal.id)}


def present_proposal(proposal: Proposal) -> dict[str, Any]:
    totals = services.budget_totals(proposal)
    editable = can_edit(current_user, proposal)
    return {
        **summary(proposal), "topic": proposal.topic, "abstract": proposal.abstract,
        "objectives": proposal.objectives, "keywords": proposal.keywords,
        "duration_months": proposal.duration_months, "foreground_ip": proposal.foreground_ip,
        "foreground_ip_terms": proposal.foreground_ip_terms,
        "publication_policy": proposal.publication_policy,
        "total_budget": money(totals["total"]),
        "asked_by_donor": [{"donor_id": cd.donor_id, "donor": cd.donor.short_name,
                            "offered": money(totals["by_donor"].get(cd.donor_id, 0))}
                           for cd in proposal.call.donors],
        "editable": editable,
        "revisions": {s: services.section_revision(proposal, s) for s in ("overview", "ip")},
        "problems": [{"section": p.section, "message": str(p.message)}
                     for p in services.checklist(proposal)] if editable else [],
    }


@blp.route("/proposals", endpoint="list")
@token_roles(Role.applicant)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, paged(ProposalSummary, "ProposalPage"))
def list_proposals(**args: Any) -> dict[str, Any]:
    """The proposals you lead or co-edit in this center, newest first."""
    rows, page = page_of_list(services.my_proposals(current_user), args)
    return with_items(page, [summary(p) for p in rows])


@blp.route("/proposals", methods=["POST"], endpoint="start")
@token_roles(Role.applicant, write=True)
@blp.arguments(NewProposal)
@blp.response(201, ProposalSchema)
def start_proposal(data: dict[str, Any]) -> dict[str, Any]:
    """Open a draft proposal to an open call; you are its lead applicant."""
    call = db.session.get(Call, data["call_id"])
    if call is None:
        refuse(422, _("Check the fields named in errors."),
               errors={"json": {"call_id": [_("No such call in this center.")]}})
    try:
        proposal = services.start_proposal(call, by=current_user)
    except services.ProposalError as exc:
        db.session.rollback()
        refuse(409, str(exc))
    db.session.commit()
    return present_proposal(proposal)


@blp.route("/proposals/<int:proposal_id>", endpoint="show")
@token_roles(Role.applicant, Role.officer, Role.admin, loads=load_proposal)
@blp.response(200, ProposalSchema)
def show_proposal(proposal_id: int) -> dict[str, Any]:
    """One proposal, with what still stops its submission."""
    return present_proposal(load_proposal(proposal_id))


def _merged(proposal: Proposal, fields: tuple[str, ...], data: dict[str, Any]) -> dict[str, Any]:
    """What was sent over what is stored: a field left out keeps its value."""
    return {**{f: getattr(proposal, f) for f in fields},
            **{k: v for k, v in data.items() if k in fields}}


def _save_section(proposal: Proposal, section: str, form: Any, fields: tuple[str, ...],
                  data: dict[str, Any]) -> dict[str, Any]:
    """Save one single-form section, checked whole by the page's form; a stale
    ``expected_revision`` is 409 and changes nothing."""
    check(form)
    try:
        services.update_sections(
            proposal, section, by=current_user, expected_revision=data.get("expected_revision"),
            **{name: section_value(name, getattr(form, name).data) for name in fields})
        db.session.commit()
    except services.StaleEdit as exc:
        db.session.rollback()
        refuse(409, str(exc))
    except StaleDataError:
        db.session.rollback()
        refuse(409, _("Someone saved this proposal at the same moment. Reload and check."))
    return present_proposal(proposal)


@blp.route("/proposals/<int:proposal_id>/overview", methods=["PATCH"], endpoint="overview")
@token_roles(Role.applicant, write=True, loads=load_draft)
@blp.arguments(OverviewUpdate)
@blp.response(200, ProposalSchema)
def save_overview(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Save the overview: title, acronym, topic, abstract, objectives, keywords, duration."""
    proposal = load_draft(proposal_id)
    form = OverviewForm(**form_input(_merged(proposal, OVERVIEW_FIELDS, data)),
                        call=proposal.call)
    form.topic.choices = [("", "—")] + [(t, t) for t in proposal.call.topics]
    return _save_section(proposal, "overview", form, OVERVIEW_FIELDS, data)


@blp.route("/proposals/<int:proposal_id>/ip", methods=["PATCH"], endpoint="ip")
@token_roles(Role.applicant, write=True, loads=load_draft)
@blp.arguments(IPUpdate)
@blp.response(200, ProposalSchema)
def save_ip_plan(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Save the IP plan: who owns the foreground IP, on what terms, and publication."""
    proposal = load_draft(proposal_id)
    form = IPPlanForm(**form_input(_merged(proposal, IP_PLAN_FIELDS, data)))
    return _save_section(proposal, "ip", form, IP_PLAN_FIELDS, data)


@blp.route("/proposals/<int:proposal_id>/submit", methods=["POST"], endpoint="submit")
@token_roles(Role.applicant, write=True, loads=load_proposal)
@blp.arguments(SubmitRequest)
@blp.response(200, ProposalSchema)
def submit_proposal(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Submit the proposal, making the declaration; 422 lists what still stops it."""
    proposal = load_proposal(proposal_id)
    if not is_applicant_of(current_user, proposal):
        refuse(403, _("Only the proposal's applicants submit it."))
    if not data["declaration"]:
        refuse(422, _("Check the fields named in errors."), errors={"json": {
            "declaration": [_("Tick the declaration to submit.")]}})
    try:
        workflow.fire(proposal, "submit", by=current_user, roles=current_roles(),
                      expected_version=data["expected_version"],
                      declaration=str(services.DECLARATION))
        db.session.commit()
    except workflow.GuardFailed as exc:
        db.session.rollback()
        refuse(422, _("The proposal cannot be submitted yet."),
               errors={"json": {"proposal": [str(p) for p in exc.problems]}})
    except workflow.TransitionError as exc:
        db.session.rollback()
        refuse(409, str(exc))
    return present_proposal(proposal)
