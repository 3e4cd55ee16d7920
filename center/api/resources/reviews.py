"""The reviewer's assignments: read the proposal (struck of names on a double-blind call),
save a draft review, submit it. The same permissions, forms and services as the pages."""

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
    AssignmentSchema,
    AssignmentSummary,
    PageArgs,
    ReviewSubmission,
    paged,
)
from center.core.db import db
from center.core.links import external_url
from center.reviews import services
from center.reviews.forms import ReviewForm
from center.reviews.models import Assignment, AssignmentStatus
from center.reviews.permissions import (
    acting_donor_id,
    can_edit_review,
    can_read_proposal,
    is_assigned_reviewer,
    sees_applicants,
)
from center.reviews.redaction import review_copy
from center.tenants.models import Role

blp = api_blueprint("api_reviews", "Reviews",
                    "Your review assignments and reviews.")


def load_assignment(assignment_id: int) -> Assignment:
    """One of the token owner's assignments, for the donor they act for; 404 otherwise."""
    assignment = db.get_or_404(Assignment, assignment_id)
    if not is_assigned_reviewer(current_user, assignment, acting_donor_id()):
        refuse(404, _("No such assignment."))
    return assignment


def summary(assignment: Assignment) -> dict[str, Any]:
    return {"id": assignment.id, "proposal_id": assignment.proposal_id,
            "call_id": assignment.proposal.call_id,
            "title": services.reviewer_title(assignment.proposal),
            "status": assignment.status, "due_at": assignment.due_at,
            "submitted": assignment.submitted,
            "url": external_url("reviews.review", assignment_id=assignment.id)}


def present_assignment(assignment: Assignment) -> dict[str, Any]:
    proposal = assignment.proposal
    call = proposal.call
    donor_id = acting_donor_id()
    readable = can_read_proposal(current_user, assignment, donor_id)
    copy = review_copy(proposal, blind=not sees_applicants(call)) if readable else None
    review = assignment.review
    return {
        **summary(assignment),
        "rubric": [{"name": c["name"], "weight": c["weight"], "scale": c["scale"]}
                   for c in call.rubric],
        "editable": can_edit_review(current_user, assignment, donor_id,
                                    services.round_for(call)),
        "proposal": None if copy is None else {
            "blind": copy.blind, "title": copy.title, "acronym": copy.acronym,
            "topic": copy.topic, "abstract": copy.abstract, "objectives": copy.objectives,
            "keywords": copy.keywords, "duration_months": copy.duration_months,
            "partners": copy.partners, "total_budget": money(copy.total_budget)},
        "review": None if review is None else {
            "scores": review.scores, "comments_to_applicants": review.comments_to_applicants,
            "confidential_comments": review.confidential_comments,
            "submitted_at": review.submitted_at, "version": review.version},
    }


@blp.route("/reviews", endpoint="list")
@token_roles(Role.reviewer)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, paged(AssignmentSummary, "AssignmentPage"))
def list_assignments(**args: Any) -> dict[str, Any]:
    """Your assignments, the soonest due first."""
    donor_id = acting_donor_id()
    mine = [a for a in services.my_assignments(current_user)
            if is_assigned_reviewer(current_user, a, donor_id)]
    rows, page = page_of_list(mine, args)
    return with_items(page, [summary(a) for a in rows])


@blp.route("/reviews/<int:assignment_id>", endpoint="show")
@token_roles(Role.reviewer, loads=load_assignment)
@blp.response(200, AssignmentSchema)
def show_assignment(assignment_id: int) -> dict[str, Any]:
    """One assignment: the rubric, the proposal once you declared no conflict, your review."""
    return present_assignment(load_assignment(assignment_id))


@blp.route("/reviews/<int:assignment_id>", methods=["PUT"], endpoint="save")
@token_roles(Role.reviewer, write=True, loads=load_assignment)
@blp.arguments(ReviewSubmission)
@blp.response(200, AssignmentSchema)
def save_review(data: dict[str, Any], assignment_id: int) -> dict[str, Any]:
    """Save your review as a draft, or submit it (`submit`: true; final)."""
    assignment = load_assignment(assignment_id)
    if assignment.status == AssignmentStatus.pending:
        refuse(409, _("Declare first whether you have a conflict of interest (on the "
                      "assignment's page)."))
    donor_id = acting_donor_id()
    if not can_read_proposal(current_user, assignment, donor_id):
        refuse(404, _("No such assignment."))
    if not can_edit_review(current_user, assignment, donor_id,
                           services.round_for(assignment.proposal.call)):
        refuse(409, _("This review can no longer be changed."))
    rubric = assignment.proposal.call.rubric
    known = {c["name"] for c in rubric}
    unknown = sorted(set(data["scores"]) - known)
    if unknown:
        refuse(422, _("Check the fields named in errors."), errors={"json": {"scores": [
            _("No criterion of this call is named %(names)s.", names=", ".join(unknown))]}})
    fields = {f"score_{n}": data["scores"].get(c["name"]) for n, c in enumerate(rubric)}
    form = check(ReviewForm.build(rubric, **form_input({
        **fields, "version": data["expected_version"],
        "comments_to_applicants": data["comments_to_applicants"],
        "confidential_comments": data["confidential_comments"]})))
    try:
        services.save_review(
            assignment, by=current_user, expected_version=data["expected_version"],
            scores=form.scores(), comments_to_applicants=form.comments_to_applicants.data or "",
            confidential_comments=form.confidential_comments.data or "", submit=data["submit"])
        db.session.commit()
    except services.StaleReview as exc:
        db.session.rollback()
        refuse(409, str(exc))
    except services.ReviewError as exc:
        db.session.rollback()
        refuse(422, str(exc))
    except StaleDataError:
        db.session.rollback()
        refuse(409, _("This review was saved elsewhere at the same moment. Compare and save "
                      "again."))
    return present_assignment(assignment)
