"""Who may see and act on an active project's post-award pages (time cards, change
requests, amendments, equipment and visits).

Staff (officers, administrators) see every project. The applicants see their own. The
parties of the agreement see the project too: the lead institute's signatories, and the
reviewers of the donors funding it who have no conflict of interest with it (their
delegates answer change requests). Everyone else gets 404, never a hint that it exists.
"""

from __future__ import annotations

from center.agreements.models import Agreement
from center.agreements.permissions import is_lead_signatory, reviewer_donor_ids
from center.auth.models import User
from center.proposals.models import Proposal, ProposalStatus
from center.proposals.permissions import is_applicant_of
from center.reviews.funding import is_conflicted
from center.tenants.models import Role

#: Proposal states in which the post-award pages exist.
PROJECT_STATES = frozenset({ProposalStatus.active, ProposalStatus.closed})
STAFF = frozenset({Role.officer, Role.admin})


def is_staff(roles: frozenset[Role]) -> bool:
    return bool(roles & STAFF)


def can_view_project(user: User, proposal: Proposal, agreement: Agreement | None,
                     roles: frozenset[Role]) -> bool:
    if proposal.status not in PROJECT_STATES or agreement is None:
        return False
    if is_staff(roles):
        return True
    if Role.applicant in roles and is_applicant_of(user, proposal):
        return True
    if Role.signatory in roles and is_lead_signatory(user, agreement):
        return True
    return (Role.reviewer in roles and bool(reviewer_donor_ids(user) & set(agreement.donor_ids))
            and not is_conflicted(user, proposal))


def can_enter(user: User, proposal: Proposal, roles: frozenset[Role]) -> bool:
    """The applicants of an active project enter time cards, equipment and change requests."""
    return (proposal.status == ProposalStatus.active and Role.applicant in roles
            and is_applicant_of(user, proposal))


def can_oversee(proposal: Proposal, roles: frozenset[Role]) -> bool:
    """Officers and administrators accept time cards and record visits."""
    return proposal.status == ProposalStatus.active and is_staff(roles)
