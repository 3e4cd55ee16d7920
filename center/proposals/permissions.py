"""Who may see and change a proposal: named predicates used by views and templates."""

from __future__ import annotations

from center.auth.models import User
from center.proposals.models import Proposal
from center.tenants.models import Role


def is_applicant_of(user: User, proposal: Proposal) -> bool:
    """The lead applicant or an accepted co-applicant."""
    if proposal.owner_id == user.id:
        return True
    return any(c.user_id == user.id and c.accepted_at for c in proposal.collaborators)


def can_view(user: User, proposal: Proposal, roles: frozenset[Role]) -> bool:
    if roles & {Role.officer, Role.admin}:
        return True
    return is_applicant_of(user, proposal)


def can_edit(user: User, proposal: Proposal) -> bool:
    return proposal.is_editable and is_applicant_of(user, proposal)


def can_invite(user: User, proposal: Proposal) -> bool:
    """Only the lead applicant invites co-applicants."""
    return proposal.is_editable and proposal.owner_id == user.id


def can_see_consular_data(user: User, proposal: Proposal, roles: frozenset[Role]) -> bool:
    """Passport, date of birth and position: the proposal's applicants, officers, admins.

    Never reviewers (donors), concurrence officials or blind review: their pages are built
    from copies that leave these fields out.
    """
    return can_view(user, proposal, roles)
