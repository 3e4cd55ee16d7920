"""Who may see, generate, issue, acknowledge and countersign agreements.

The lead institute acknowledges through an authorised signatory of that institute (a
membership with role signatory and the institute), not through the applicants; a donor
through one of its delegates (`DonorDelegate`) who has no conflict of interest with the
proposal. Nobody acknowledges for a party on someone else's behalf, administrators included.

Conflicts of interest are the reviews module's rule (`center.reviews.funding`), applied here
because an acknowledgement is a later step of the same proposal.
"""

from __future__ import annotations

from sqlalchemy import select

from center.agreements.models import Agreement, AgreementStatus, Party
from center.auth.models import User
from center.core.db import db
from center.proposals.models import Proposal, ProposalStatus
from center.proposals.permissions import is_applicant_of
from center.reviews.funding import is_conflicted
from center.reviews.models import DonorDelegate
from center.tenants.models import Membership, Role

#: A proposal whose agreement may be (re)generated: approved, or issued and not yet active.
GENERATABLE_STATES = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued})
#: Proposal states in which the agreement panel is shown.
AGREEMENT_STATES = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued,
                              ProposalStatus.active, ProposalStatus.closed})


def reviewer_donor_ids(user: User) -> set[int]:
    """The donors ``user`` acts for as a donor reviewer in the tenant in scope."""
    return set(db.session.scalars(select(Membership.donor_id).where(
        Membership.user_id == user.id, Membership.role == Role.reviewer)))


def delegate_donor_ids(user: User) -> set[int]:
    """The donors ``user`` is a delegate of: a reviewer for the donor named to speak for it."""
    return set(db.session.scalars(select(DonorDelegate.donor_id).where(
        DonorDelegate.user_id == user.id,
        DonorDelegate.donor_id.in_(select(Membership.donor_id).where(
            Membership.user_id == user.id, Membership.role == Role.reviewer)))))


def signatory_institute_ids(user: User) -> set[int]:
    """The institutes ``user`` is an authorised signatory of in the tenant in scope."""
    return set(db.session.scalars(select(Membership.institute_id).where(
        Membership.user_id == user.id, Membership.role == Role.signatory)))


def is_lead_signatory(user: User, agreement: Agreement) -> bool:
    lead = agreement.proposal.lead
    return lead is not None and lead.institute_id in signatory_institute_ids(user)


def can_manage(roles: frozenset[Role]) -> bool:
    """Administrators generate, issue, countersign and edit the clauses."""
    return Role.admin in roles


def can_generate(proposal: Proposal, roles: frozenset[Role]) -> bool:
    return can_manage(roles) and proposal.status in GENERATABLE_STATES


def can_confirm_split(proposal: Proposal, roles: frozenset[Role]) -> bool:
    """Officers and administrators confirm how the budget lines are shared between the
    donors that committed, until the agreement is countersigned."""
    return bool(roles & {Role.admin, Role.officer}) and proposal.status in GENERATABLE_STATES


def can_issue(agreement: Agreement, roles: frozenset[Role]) -> bool:
    return (can_manage(roles) and agreement.status == AgreementStatus.draft
            and agreement.proposal.status in GENERATABLE_STATES)


def can_countersign(agreement: Agreement, roles: frozenset[Role]) -> bool:
    return (can_manage(roles) and agreement.status == AgreementStatus.issued
            and agreement.proposal.status == ProposalStatus.agreement_issued
            and not agreement.missing_parties)


def can_view(user: User, agreement: Agreement, roles: frozenset[Role]) -> bool:
    """Staff see every version; the parties see the versions issued to them."""
    if roles & {Role.admin, Role.officer}:
        return True
    if agreement.status == AgreementStatus.draft:
        return False
    if Role.applicant in roles and is_applicant_of(user, agreement.proposal):
        return True
    if Role.signatory in roles and is_lead_signatory(user, agreement):
        return True
    return (Role.reviewer in roles and bool(reviewer_donor_ids(user) & set(agreement.donor_ids))
            and not is_conflicted(user, agreement.proposal))


def can_download_letters(user: User, agreement: Agreement, roles: frozenset[Role]) -> bool:
    """Letters go to the staff and to the applicants, whose travellers need them."""
    if roles & {Role.admin, Role.officer}:
        return True
    return (agreement.status != AgreementStatus.draft and Role.applicant in roles
            and is_applicant_of(user, agreement.proposal))


def parties_of(user: User, agreement: Agreement) -> list[tuple[Party, int | None]]:
    """The parties ``user`` may acknowledge ``agreement`` for, acknowledged or not."""
    parties: list[tuple[Party, int | None]] = []
    if is_lead_signatory(user, agreement):
        parties.append((Party.lead_institute, None))
    donors = delegate_donor_ids(user) & set(agreement.donor_ids)
    if donors and not is_conflicted(user, agreement.proposal):
        parties += [(Party.donor, d) for d in agreement.donor_ids if d in donors]
    return parties


def may_acknowledge(user: User, agreement: Agreement, party: Party, donor_id: int | None
                    ) -> bool:
    """Whether ``user`` may acknowledge the issued ``agreement`` for this party now."""
    if agreement.status != AgreementStatus.issued:
        return False
    if agreement.proposal.status != ProposalStatus.agreement_issued:
        return False
    return (party, donor_id) in parties_of(user, agreement)


def pending_for(user: User, agreement: Agreement) -> list[tuple[Party, int | None]]:
    """The parties ``user`` could acknowledge ``agreement`` for and has not yet."""
    if agreement.status != AgreementStatus.issued or (
            agreement.proposal.status != ProposalStatus.agreement_issued):
        return []
    missing = set(agreement.missing_parties)
    return [p for p in parties_of(user, agreement) if p in missing]
