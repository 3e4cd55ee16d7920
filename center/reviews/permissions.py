"""Who may see and do what in review and funding: named predicates for views and templates.

The rules of the issue, in one place:

- a reviewer sees only proposals assigned to them, of calls their donor takes part in, and
  only once they declared they have no conflict (before that: the declaration page only);
- a reviewer sees other reviewers' scores only in the discussion phase, once their own
  review is submitted;
- applicants see the decision and the comments written to them, never who reviewed nor the
  confidential comments, and only once the panel decided;
- a donor's funding delegate sees its own commitments and the totals, never another
  donor's commitments.
"""

from __future__ import annotations

from center.auth.models import User
from center.calls.models import Call, ReviewMode
from center.proposals.models import ProposalStatus
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    PanelEntry,
    ReviewPhase,
    ReviewRound,
    ReviewStatus,
)
from center.tenants.models import Donor, DonorKind, Role
from center.tenants.permissions import membership_for

S = ProposalStatus

#: States in which reviewers write reviews.
REVIEWING_STATES = frozenset({S.under_review})
#: States in which an assigned reviewer may still read the proposal and their own review.
READABLE_STATES = frozenset({S.under_review, S.reviewed, S.funding, S.approved, S.rejected,
                             S.agreement_issued, S.active, S.closed})
#: States after the panel's decision: applicants see the feedback written to them.
PANEL_DECIDED_STATES = frozenset({S.rejected, S.funding, S.approved, S.agreement_issued,
                                  S.active, S.closed})
#: States of proposals donors fund or funded.
FUNDING_STATES = frozenset({S.funding, S.approved, S.agreement_issued, S.active, S.closed})


def donor_takes_part(call: Call, donor_id: int | None) -> bool:
    return donor_id is not None and any(cd.donor_id == donor_id for cd in call.donors)


def acting_donor_id() -> int | None:
    """The donor the signed-in reviewer acts for in this center (None: not a reviewer)."""
    membership = membership_for(Role.reviewer)
    return membership.donor_id if membership is not None else None


def sees_applicants(call: Call) -> bool:
    """Single-blind calls show reviewers who applies; double-blind calls do not."""
    return call.review_mode != ReviewMode.double_blind


def is_assigned_reviewer(user: User, assignment: Assignment, donor_id: int | None) -> bool:
    """The assignment is the user's, for the donor they act for, in a call that donor joins."""
    return (assignment.reviewer_id == user.id and assignment.donor_id == donor_id
            and donor_takes_part(assignment.proposal.call, donor_id))


def can_declare(user: User, assignment: Assignment, donor_id: int | None) -> bool:
    return (is_assigned_reviewer(user, assignment, donor_id)
            and assignment.status == AssignmentStatus.pending
            and assignment.proposal.status in REVIEWING_STATES)


def can_read_proposal(user: User, assignment: Assignment, donor_id: int | None) -> bool:
    """The proposal's content, once no conflict was declared."""
    return (is_assigned_reviewer(user, assignment, donor_id)
            and assignment.status == AssignmentStatus.accepted
            and assignment.proposal.status in READABLE_STATES)


def can_edit_review(user: User, assignment: Assignment, donor_id: int | None,
                    review_round: ReviewRound) -> bool:
    return (can_read_proposal(user, assignment, donor_id)
            and assignment.proposal.status in REVIEWING_STATES
            and review_round.phase != ReviewPhase.closed
            and not assignment.submitted)


def can_see_other_reviews(assignment: Assignment, review_round: ReviewRound) -> bool:
    """Scores stay hidden until the reviewer submitted their own, and during the
    independent phase."""
    return assignment.submitted and review_round.phase != ReviewPhase.independent


def can_write_consensus(user: User, entry: PanelEntry | None, assignment: Assignment | None,
                        donor_id: int | None) -> bool:
    """The proposal's rapporteur, an assigned reviewer who submitted, before the decision."""
    return (entry is not None and assignment is not None and entry.rapporteur_id == user.id
            and can_read_proposal(user, assignment, donor_id) and assignment.submitted
            and assignment.proposal.status in {S.under_review, S.reviewed})


def can_reopen(assignment: Assignment) -> bool:
    review = assignment.review
    return (review is not None and review.status == ReviewStatus.submitted
            and assignment.proposal.status in REVIEWING_STATES)


def applicant_sees_feedback(status: ProposalStatus) -> bool:
    return status in PANEL_DECIDED_STATES


def can_fund_call(donor: Donor, call: Call) -> bool:
    """Donors of the call fund its proposals; partner funders may fund any call's."""
    return donor_takes_part(call, donor.id) or donor.kind == DonorKind.partner
