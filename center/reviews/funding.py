"""Multi-donor funding: donors' delegates commit amounts to recommended proposals; the
commitment that covers a proposal's budget approves it, and the split is kept for the
agreement.

Who commits for a donor: the donor's reviewers an officer or administrator names as its
delegates (`DonorDelegate`). Donors of a call commit within what they offer the call;
partner funders (`DonorKind.partner`) may commit to any call's proposals, without an offer.

No over-commitment, even when two donors commit at the same moment: every commitment locks
the proposal's `ProposalFunding` row, then the donor's `DonorBudget` row for the call, in
that order (``SELECT ... FOR UPDATE`` on PostgreSQL, so the second waits and then sees the
first), re-checks the amounts against the locked rows, and bumps both rows' versions (so on
SQLite, which takes no row locks, the later of two racing writers fails with
``StaleDataError`` instead of passing the budget). A CHECK on ``proposal_funding`` is the
last line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock
from center.core.db import db
from center.core.links import external_url
from center.core.money import format_money
from center.core.notifications import send_email
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funded_split
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    DonorBudget,
    DonorDelegate,
    FundingCommitment,
    ProposalFunding,
    ReviewerProfile,
)
from center.reviews.permissions import FUNDING_STATES, can_fund_call
from center.reviews.services import (
    ConflictChecker,
    _applicant_emails,
    _tenant,
    ranking,
    rounds_for,
)
from center.tenants.models import Donor, Membership, Role

S = ProposalStatus


class FundingError(Exception):
    """A commitment that cannot be made; the message is for the user."""


class OverCommitment(FundingError):
    pass


class AboveAsked(FundingError):
    """The donor would commit more than the budget asks of it: the delegate must confirm."""


class ConflictOfInterest(FundingError):
    """The person declared, or is known to have, a conflict of interest with the proposal."""


# --- conflicts of interest ------------------------------------------------------------------

def conflict_reasons(user: User, proposal: Proposal, checker: ConflictChecker | None = None,
                     *, declared: dict[int, str] | None = None) -> list[str]:
    """Why ``user`` may take no part in funding or acknowledging ``proposal`` (empty: none).

    A conflict the user declared on an assignment to the proposal, or one the reviewers'
    conflict rules detect (`ConflictChecker`: applies in it, works at or applied with one of
    its institutes, lists one of its people, nationality rule). Pass ``checker`` to reuse its
    look-ups over several proposals of one call, and ``declared`` (`declared_conflicts`) to
    look the declarations up once for several proposals.
    """
    if declared is None:
        declared = declared_conflicts(user, [proposal.id])
    reasons = [_("Declared a conflict of interest: %(reason)s",
                 reason=declared[proposal.id])] if proposal.id in declared else []
    if checker is None:
        checker = conflict_checker(proposal.call, [user])
    return reasons + checker(proposal, user)


def declared_conflicts(user: User, proposal_ids: Iterable[int]) -> dict[int, str]:
    """{proposal id: the reason} of the conflicts of interest ``user`` declared on an
    assignment to one of these proposals, in one query."""
    ids = set(proposal_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Assignment.proposal_id, Assignment.conflict_reason).where(
            Assignment.proposal_id.in_(ids), Assignment.reviewer_id == user.id,
            Assignment.status == AssignmentStatus.conflict).order_by(Assignment.id)
    ).all())  # the latest declaration's reason, should there be several


def conflict_checker(call: Call, users: list[User]) -> ConflictChecker:
    """A conflict checker for ``users`` on the proposals of ``call``."""
    return conflict_checkers([call.id], users)[call.id]


def conflict_checkers(call_ids: Iterable[int], users: list[User]) -> dict[int, ConflictChecker]:
    """{call id: a conflict checker for ``users`` on its proposals}; the checkers share the
    profiles and the users' recent proposals, looked up once however many calls."""
    rounds = rounds_for(call_ids)
    if not rounds:
        return {}
    ids = [u.id for u in users]
    profiles = {p.user_id: p for p in db.session.scalars(
        select(ReviewerProfile).where(ReviewerProfile.user_id.in_(ids)))} if ids else {}
    shared = ConflictChecker(next(iter(rounds.values())), profiles)
    return {call_id: shared.for_round(r) for call_id, r in rounds.items()}


def conflicted_ids(user: User, proposals: Sequence[Proposal]) -> set[int]:
    """The ids of the ``proposals`` that ``user`` has a conflict of interest with (those
    with `conflict_reasons`), their declarations, the user's profile and recent proposals
    and the calls' review rounds looked up once for them all. Load the proposals with
    `center.reviews.services.CONFLICT_LOADS` so that their people cost nothing more."""
    if not proposals:
        return set()
    declared = declared_conflicts(user, [p.id for p in proposals])
    checkers = conflict_checkers({p.call_id for p in proposals}, [user])
    return {p.id for p in proposals
            if conflict_reasons(user, p, checkers[p.call_id], declared=declared)}


def is_conflicted(user: User, proposal: Proposal) -> bool:
    return bool(conflict_reasons(user, proposal))


# --- delegates ----------------------------------------------------------------------------

def delegates() -> list[DonorDelegate]:
    return list(db.session.scalars(select(DonorDelegate).order_by(DonorDelegate.donor_id,
                                                                  DonorDelegate.id)))


def add_delegate(donor: Donor, user: User, *, by: User) -> DonorDelegate:
    """Let ``user``, a reviewer acting for ``donor``, commit money for it."""
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.role == Role.reviewer))
    if membership is None or membership.donor_id != donor.id:
        raise FundingError(_("%(name)s is not a reviewer for %(donor)s.", name=user.name,
                             donor=donor.name))
    found = db.session.scalar(select(DonorDelegate).where(
        DonorDelegate.donor_id == donor.id, DonorDelegate.user_id == user.id))
    if found is not None:
        return found
    delegate = DonorDelegate(donor_id=donor.id, user_id=user.id, added_by_id=by.id,
                             added_at=clock.now())
    db.session.add(delegate)
    db.session.flush()
    audit.record("funding.delegate_added", delegate, actor=by, donor=donor.id, user=user.email)
    db.session.flush()
    return delegate


def remove_delegate(donor: Donor, user: User, *, by: User) -> None:
    found = db.session.scalar(select(DonorDelegate).where(
        DonorDelegate.donor_id == donor.id, DonorDelegate.user_id == user.id))
    if found is None:
        return
    audit.record("funding.delegate_removed", found, actor=by, donor=donor.id, user=user.email)
    db.session.delete(found)
    db.session.flush()


def delegated_donor(user: User) -> Donor | None:
    """The donor ``user`` commits money for in this tenant: the donor of their reviewer
    membership, if they are its delegate."""
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.role == Role.reviewer))
    if membership is None:
        return None
    delegate = db.session.scalar(select(DonorDelegate).where(
        DonorDelegate.user_id == user.id, DonorDelegate.donor_id == membership.donor_id))
    return delegate.donor if delegate is not None else None


# --- reading ------------------------------------------------------------------------------

def offer(call: Call, donor: Donor) -> int | None:
    """What ``donor`` offers ``call``; None for a partner funder outside the call."""
    found = next((cd for cd in call.donors if cd.donor_id == donor.id), None)
    return found.offered if found is not None else None


def funding_row(proposal: Proposal) -> ProposalFunding | None:
    return db.session.scalar(select(ProposalFunding).where(
        ProposalFunding.proposal_id == proposal.id))


def commitments(proposal: Proposal) -> list[FundingCommitment]:
    return list(db.session.scalars(select(FundingCommitment).where(
        FundingCommitment.proposal_id == proposal.id).order_by(FundingCommitment.id)))


def funding_split(proposal: Proposal) -> dict[int, int]:
    """{donor id: amount} each donor funds: after approval, the split for the agreement."""
    return {c.donor_id: c.amount for c in commitments(proposal)}


def asked_of(proposal: Proposal, donor: Donor) -> int:
    """What the applicants' budget asks of ``donor``."""
    return sum(split.amount for line in proposal.budget_lines for split in line.splits
               if split.donor_id == donor.id)


def committed_in_call(call: Call, donor: Donor) -> int:
    row = db.session.scalar(select(DonorBudget).where(DonorBudget.call_id == call.id,
                                                      DonorBudget.donor_id == donor.id))
    return row.committed if row is not None else 0


@dataclass
class DonorPosition:
    donor: Donor
    offered: int | None  #: None: a partner funder outside the call
    committed: int

    @property
    def left(self) -> int | None:
        return None if self.offered is None else self.offered - self.committed


def donor_position(call: Call, donor: Donor) -> DonorPosition:
    return DonorPosition(donor, offer(call, donor), committed_in_call(call, donor))


@dataclass
class BoardRow:
    """One proposal on a funding board."""

    proposal: Proposal
    rank: int | None
    mean: float | None
    budget: int
    committed: int
    asked: int = 0  #: what the budget asks of the viewing donor
    own: int = 0  #: the viewing donor's commitment
    #: every donor's commitment: filled for officers only
    by_donor: dict[int, int] = field(default_factory=dict)
    #: False for a proposal approved without going through funding here (nothing to show)
    tracked: bool = True

    @property
    def needed(self) -> int:
        return self.budget - self.committed


def funding_calls(donor: Donor | None) -> list[Call]:
    """Calls with proposals recommended for funding (or funded) that ``donor`` may fund;
    every such call when ``donor`` is None (officers)."""
    calls = list(db.session.scalars(
        select(Call).where(Call.id.in_(select(Proposal.call_id).where(
            Proposal.status.in_(list(FUNDING_STATES))))).order_by(Call.closes_at.desc())))
    if donor is None:
        return calls
    return [c for c in calls if can_fund_call(donor, c)]


def funding_board(call: Call, *, donor: Donor | None,
                  viewer: User | None = None) -> list[BoardRow]:
    """The call's proposals in funding and after, in the panel's order.

    For a donor: totals, what the budget asks of it and its own commitment only, without
    the proposals its delegate ``viewer`` has a conflict of interest with. For an officer
    (``donor`` None): every donor's commitment too.
    """
    rows = []
    checker = conflict_checker(call, [viewer]) if donor is not None and viewer else None
    for r in ranking(call):
        if r.proposal.status not in FUNDING_STATES:
            continue
        proposal = r.proposal
        if checker is not None and conflict_reasons(viewer, proposal, checker):
            continue
        funding = funding_row(proposal)
        split = funding_split(proposal)
        row = BoardRow(proposal, r.rank, r.mean,
                       funding.budget if funding is not None else proposal.total_budget,
                       funding.committed if funding is not None else 0,
                       tracked=funding is not None)
        if donor is None:
            row.by_donor = split
        else:
            row.asked = asked_of(proposal, donor)
            row.own = split.get(donor.id, 0)
        rows.append(row)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.proposal.id))
    return rows


# --- committing ---------------------------------------------------------------------------

def _locked(model: type, lookup: dict[str, Any], defaults: dict[str, Any]) -> Any:
    """Return the row matching ``lookup``, locked for update, creating it if missing.

    Two requests creating the same row at once: one insert fails on the unique constraint
    (``IntegrityError``), and the view asks its user to try again.
    """
    query = (select(model).filter_by(**lookup).with_for_update()
             .execution_options(populate_existing=True))
    found = db.session.scalar(query)
    if found is None:
        found = model(**lookup, **defaults)
        db.session.add(found)
        db.session.flush()
    return found


def open_funding(proposal: Proposal) -> ProposalFunding:
    """The proposal's funding row, locked; created with the proposal's budget if missing."""
    return _locked(ProposalFunding, {"proposal_id": proposal.id},
                   {"budget": proposal.total_budget, "committed": 0, "opened_at": clock.now()})


def commit(proposal: Proposal, donor: Donor, amount: int, *, by: User,
           above_asked: bool = False) -> None:
    """Set ``donor``'s commitment to ``proposal`` to ``amount`` minor units (0 withdraws it).

    Refused (`FundingError`, nothing changed) unless the proposal is open for funding, the
    donor may fund its call, ``by`` has no conflict of interest with the proposal
    (`ConflictOfInterest`), the amount fits what the proposal still needs and, for a donor
    of the call, what is left of its offer. An amount above what the budget asks of the
    donor is refused (`AboveAsked`) unless ``above_asked`` says the delegate confirmed it.
    Effects: the commitment set; the proposal's and the donor's running totals moved; an
    audit event; a flush. When the commitments now cover the budget, the proposal is
    approved through the workflow (as the committing reviewer), which keeps the split and
    tells the applicants.
    """
    if amount < 0:
        raise FundingError(_("A commitment cannot be negative."))
    if is_conflicted(by, proposal):
        raise ConflictOfInterest(_("You have a conflict of interest with this proposal, so "
                                   "you cannot commit money to it."))
    funding = open_funding(proposal)  # locks: from here on, commitments queue behind us
    db.session.refresh(proposal)
    if proposal.status != S.funding:
        raise FundingError(_("This proposal is not open for commitments (it is %(status)s).",
                             status=proposal.status_label))
    call = proposal.call
    if not can_fund_call(donor, call):
        raise FundingError(_("%(donor)s does not take part in this call.", donor=donor.name))
    budget = _locked(DonorBudget, {"call_id": call.id, "donor_id": donor.id},
                            {"committed": 0})
    existing = db.session.scalar(
        select(FundingCommitment).where(FundingCommitment.proposal_id == proposal.id,
                                        FundingCommitment.donor_id == donor.id)
        .execution_options(populate_existing=True))
    previous = existing.amount if existing is not None else 0
    currency = _tenant(proposal).currency
    others = funding.committed - previous
    if others + amount > funding.budget:
        raise OverCommitment(_("The proposal needs only %(needed)s more; commit at most that.",
                               needed=format_money(funding.budget - others, currency)))
    offered = offer(call, donor)
    if offered is not None and budget.committed - previous + amount > offered:
        raise OverCommitment(_("%(donor)s has %(left)s left of its offer to this call.",
                               donor=donor.name,
                               left=format_money(offered - budget.committed + previous,
                                                 currency)))
    asked = asked_of(proposal, donor)
    if amount > asked and not above_asked:
        raise AboveAsked(_("The budget asks %(donor)s for %(asked)s; you are committing "
                           "%(amount)s, %(more)s more. Tick the confirmation to commit more "
                           "than was asked.", donor=donor.name,
                           asked=format_money(asked, currency),
                           amount=format_money(amount, currency),
                           more=format_money(amount - asked, currency)))
    now = clock.now()
    if amount == 0 and existing is not None:
        db.session.delete(existing)
    elif existing is not None:
        existing.amount, existing.committed_by_id, existing.committed_at = amount, by.id, now
    elif amount:
        db.session.add(FundingCommitment(proposal_id=proposal.id, donor_id=donor.id,
                                         amount=amount, committed_by_id=by.id,
                                         committed_at=now))
    funding.committed = others + amount
    budget.committed += amount - previous
    audit.record("funding.committed", proposal, actor=by, donor=donor.id, amount=amount,
                 previous=previous, proposal_committed=funding.committed,
                 budget=funding.budget, asked=asked, above_asked=amount > asked,
                 currency=currency)
    db.session.flush()
    if funding.committed == funding.budget:
        workflow.fire(proposal, "approve", by=by, roles=frozenset({Role.reviewer}))


def _release(proposal: Proposal, by: User) -> None:
    """Give every commitment to ``proposal`` back to its donor's offer."""
    if funding_row(proposal) is None:
        return
    funding = open_funding(proposal)
    released = {c.donor_id: c.amount for c in commitments(proposal)}
    if released:
        audit.record("funding.released", proposal, actor=by, commitments=released,
                     currency=_tenant(proposal).currency)
    for c in commitments(proposal):
        budget = _locked(DonorBudget, {"call_id": proposal.call_id,
                                              "donor_id": c.donor_id}, {"committed": 0})
        budget.committed -= c.amount
        db.session.delete(c)
    funding.committed = 0


# --- workflow hooks -----------------------------------------------------------------------

@workflow.guard("recommend")
def _has_budget(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    if proposal.total_budget <= 0:
        return [_("“%(title)s” has no budget to fund.", title=proposal.title)]
    return []


@workflow.effect("recommend")
def _open_for_donors(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    open_funding(proposal)


@workflow.guard("approve")
def _covered(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    funding = funding_row(proposal)
    if funding is None or funding.committed < funding.budget:
        needed = funding.needed if funding is not None else proposal.total_budget
        return [_("The commitments do not cover the budget yet: %(needed)s is missing.",
                  needed=format_money(needed, _tenant(proposal).currency))]
    return []


@workflow.effect("approve")
def _keep_split(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    funding = funding_row(proposal)
    funding.approved_at = clock.now()
    split = {c.donor.name: c.amount for c in commitments(proposal) if c.amount > 0}
    kept = funded_split.keep_asked_split(proposal, by=by)
    tenant = _tenant(proposal)
    audit.record("funding.approved", proposal, actor=by, split=split, budget=funding.budget,
                 currency=tenant.currency)
    for email in _applicant_emails(proposal):
        send_email(email, _l("Funded: %(title)s", title=proposal.title), "funding_approved",
                   tenant_id=proposal.tenant_id, proposal=proposal, split=split,
                   resplit=not kept, total=funding.budget,
                   currency=tenant.currency, format_money=format_money,
                   url=external_url("proposals.show", tenant=tenant.slug,
                                  proposal_id=proposal.id))


@workflow.effect("withdraw")
def _release_on_withdrawal(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    _release(proposal, by)
