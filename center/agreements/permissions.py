"""Who may see, generate, issue, acknowledge and countersign agreements.

The lead institute acknowledges through an authorised signatory of that institute (a
membership with role signatory and the institute), not through the applicants; a donor
through one of its delegates (`DonorDelegate`) who has no conflict of interest with the
proposal. Nobody acknowledges for a party on someone else's behalf, administrators included.

Conflicts of interest are the reviews module's rule (`center.reviews.funding`), applied here
because an acknowledgement is a later step of the same proposal.

A list decides for all its agreements at once (`visible`, `parties_for`, `pending_for_each`):
the person's donors, institutes and conflicts of interest are looked up once for the list,
not once per row; `can_view`, `parties_of` and `pending_for` are the same rules for one
agreement. Load a list's agreements with `LOADS`, so that reading them asks nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from center.agreements.models import Agreement, AgreementStatus, Party
from center.auth.models import User
from center.core.db import db
from center.proposals.models import Proposal, ProposalStatus
from center.proposals.permissions import is_applicant_of
from center.reviews.funding import conflicted_ids
from center.reviews.models import DonorDelegate
from center.reviews.services import CONFLICT_LOADS
from center.tenants.models import Membership, Role

#: A proposal whose agreement may be (re)generated: approved, or issued and not yet active.
GENERATABLE_STATES = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued})
#: Proposal states in which the agreement panel is shown.
AGREEMENT_STATES = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued,
                              ProposalStatus.active, ProposalStatus.closed})
#: What the rules below read of an agreement (its proposal's people and institutes, for the
#: parties and the conflicts of interest; the acknowledgements): load it with a list's rows.
LOADS = (selectinload(Agreement.proposal).options(*CONFLICT_LOADS),
         selectinload(Agreement.acknowledgements))


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
    return _signs_for_lead(agreement, signatory_institute_ids(user))


def _signs_for_lead(agreement: Agreement, institutes: set[int]) -> bool:
    """Whether the agreement's lead institute is one of ``institutes``."""
    lead = agreement.proposal.lead
    return lead is not None and lead.institute_id in institutes


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
    return bool(visible(user, [agreement], roles))


def visible(user: User, agreements: Iterable[Agreement], roles: frozenset[Role]
            ) -> list[Agreement]:
    """The ``agreements`` that ``user`` may see (`can_view` of each), in their order: staff
    every version; the applicants, the lead's signatories and the donors' reviewers with no
    conflict of interest the versions issued to them."""
    agreements = list(agreements)
    if roles & {Role.admin, Role.officer}:
        return agreements
    issued = [a for a in agreements if a.status != AgreementStatus.draft]
    if not issued:
        return []
    institutes = signatory_institute_ids(user) if Role.signatory in roles else set()
    donors = reviewer_donor_ids(user) if Role.reviewer in roles else set()
    seen = {a.id for a in issued
            if (Role.applicant in roles and is_applicant_of(user, a.proposal))
            or (institutes and _signs_for_lead(a, institutes))}
    seen |= _unconflicted(user, [a for a in issued
                                 if a.id not in seen and donors & set(a.donor_ids)])
    return [a for a in issued if a.id in seen]


def _unconflicted(user: User, agreements: Sequence[Agreement]) -> set[int]:
    """The ids of the ``agreements`` whose proposal ``user`` has no conflict of interest
    with."""
    conflicted = conflicted_ids(user, [a.proposal for a in agreements])
    return {a.id for a in agreements if a.proposal_id not in conflicted}


def can_download_letters(user: User, agreement: Agreement, roles: frozenset[Role]) -> bool:
    """Letters go to the staff and to the applicants, whose travellers need them."""
    if roles & {Role.admin, Role.officer}:
        return True
    return (agreement.status != AgreementStatus.draft and Role.applicant in roles
            and is_applicant_of(user, agreement.proposal))


def parties_of(user: User, agreement: Agreement) -> list[tuple[Party, int | None]]:
    """The parties ``user`` may acknowledge ``agreement`` for, acknowledged or not."""
    return parties_for(user, [agreement])[agreement.id]


def parties_for(user: User, agreements: Iterable[Agreement]
                ) -> dict[int, list[tuple[Party, int | None]]]:
    """{agreement id: the parties ``user`` may acknowledge it for (`parties_of`)}: the lead
    institute for its signatories, each donor for its delegates with no conflict of
    interest."""
    agreements = list(agreements)
    if not agreements:
        return {}
    institutes = signatory_institute_ids(user)
    donors = delegate_donor_ids(user)
    free = _unconflicted(user, [a for a in agreements if donors & set(a.donor_ids)])
    parties: dict[int, list[tuple[Party, int | None]]] = {}
    for agreement in agreements:
        mine: list[tuple[Party, int | None]] = []
        if _signs_for_lead(agreement, institutes):
            mine.append((Party.lead_institute, None))
        if agreement.id in free:
            mine += [(Party.donor, d) for d in agreement.donor_ids if d in donors]
        parties[agreement.id] = mine
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
    return pending_for_each(user, [agreement])[agreement.id]


def pending_for_each(user: User, agreements: Iterable[Agreement]
                     ) -> dict[int, list[tuple[Party, int | None]]]:
    """{agreement id: `pending_for` it}: nothing unless the agreement is issued and its
    proposal waits for the acknowledgements."""
    agreements = list(agreements)
    open_ = [a for a in agreements if a.status == AgreementStatus.issued
             and a.proposal.status == ProposalStatus.agreement_issued]
    parties = parties_for(user, open_)
    pending: dict[int, list[tuple[Party, int | None]]] = {a.id: [] for a in agreements}
    for agreement in open_:
        missing = set(agreement.missing_parties)
        pending[agreement.id] = [p for p in parties[agreement.id] if p in missing]
    return pending
