"""The funded split: how each budget line of an approved proposal is shared between the donors
that committed money to it.

The applicants ask each donor for part of each line (`BudgetSplit`); the donors then commit
what they decide (`FundingCommitment`), which may differ (one commits more, another nothing).
The agreement states the funded split (`FundedSplit`), never the asked one: each donor's rows
add up to its commitment, each line's rows to the line's amount.

When every donor committed exactly what it was asked, the asked split is kept as it is at
approval. Otherwise an officer sees asked against committed, starts from a proposed re-split
(`proposed_split`) and confirms it (`confirm_split`); until then no agreement is generated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.money import format_money
from center.proposals.models import BudgetLine, Proposal, ProposalStatus
from center.reviews.models import FundedSplit, FundingCommitment, ProposalFunding
from center.tenants.models import Donor, Tenant

#: {budget line id: {donor id: minor units}}; donors with nothing on a line are left out.
Split = dict[int, dict[int, int]]

#: Proposal states in which the funded split may be (re)confirmed: approved, or with an
#: agreement issued but not countersigned (a new version of the agreement follows).
RESPLIT_STATES = frozenset({ProposalStatus.approved, ProposalStatus.agreement_issued})


class SplitError(Exception):
    """A funded split that cannot be confirmed; the message is for the user."""


class StaleSplit(SplitError):
    """Someone confirmed a split or changed the funding after the form was loaded."""


# --- reading ------------------------------------------------------------------------------

def _funding(proposal: Proposal) -> ProposalFunding | None:
    return db.session.scalar(select(ProposalFunding).where(
        ProposalFunding.proposal_id == proposal.id))


def _lines(proposal: Proposal) -> list[BudgetLine]:
    return sorted(proposal.budget_lines, key=lambda line: line.id)


def committed_by_donor(proposal: Proposal) -> dict[int, int]:
    """{donor id: committed minor units} of every donor that committed something."""
    return {c.donor_id: c.amount for c in db.session.scalars(
        select(FundingCommitment).where(FundingCommitment.proposal_id == proposal.id))
        if c.amount > 0}


def asked_split(proposal: Proposal) -> Split:
    return {line.id: {s.donor_id: s.amount for s in line.splits if s.amount > 0}
            for line in _lines(proposal)}


def asked_by_donor(proposal: Proposal) -> dict[int, int]:
    totals: dict[int, int] = {}
    for shares in asked_split(proposal).values():
        for donor_id, amount in shares.items():
            totals[donor_id] = totals.get(donor_id, 0) + amount
    return totals


def commitments_match_asked(proposal: Proposal) -> bool:
    """Whether every donor committed exactly what the budget asks of it."""
    return committed_by_donor(proposal) == asked_by_donor(proposal)


def stored_split(proposal: Proposal) -> Split:
    """The funded split as recorded (empty before it is kept or confirmed)."""
    split: Split = {}
    for row in db.session.scalars(select(FundedSplit).where(
            FundedSplit.proposal_id == proposal.id).order_by(FundedSplit.id)):
        split.setdefault(row.line_id, {})[row.donor_id] = row.amount
    return split


def confirmed_split(proposal: Proposal) -> Split | None:
    """The funded split the agreement states, or None while it waits for an officer."""
    funding = _funding(proposal)
    if funding is None or funding.split_confirmed_at is None:
        return None
    stored = stored_split(proposal)
    return {line.id: stored.get(line.id, {}) for line in _lines(proposal)}


def needs_confirmation(proposal: Proposal) -> bool:
    """An approved proposal whose funded split an officer has still to confirm."""
    funding = _funding(proposal)
    return (funding is not None and funding.approved_at is not None
            and funding.split_confirmed_at is None)


# --- the proposed re-split ----------------------------------------------------------------

def proposed_split(proposal: Proposal) -> Split:
    """A re-split of the lines between the committing donors, exact to the minor unit.

    A donor that committed exactly what it was asked keeps its asked shares. What is left of
    each line goes to the other committing donors: each one's asked shares scaled to its
    commitment (a donor that asked nothing starts in proportion to the lines), then lines
    and donors balanced in turn (iterative proportional fitting) until every line adds up
    to its amount and every donor to its commitment. Rounding: each donor's remainder goes
    on its largest line; the few minor units a line is then off are moved between lines
    within one donor's column.
    """
    lines = _lines(proposal)
    committed = committed_by_donor(proposal)
    total = sum(committed.values())
    if not lines or total != sum(line.amount for line in lines):
        raise SplitError(_("The commitments do not cover the budget, so there is nothing to "
                           "split yet."))
    asked = asked_split(proposal)
    asked_total = asked_by_donor(proposal)
    kept = sorted(d for d in committed if asked_total.get(d) == committed[d])
    result = {(line.id, d): asked[line.id].get(d, 0) for line in lines for d in kept}
    donors = sorted(d for d in committed if d not in kept)
    left = {line.id: line.amount - sum(asked[line.id].get(d, 0) for d in kept)
            for line in lines}
    if donors:
        result.update(_fit(lines, left, donors, committed, asked, asked_total))
    return {line.id: {d: result[line.id, d] for d in sorted(committed)
                      if result[line.id, d] > 0} for line in lines}


def _fit(lines: list[BudgetLine], left: dict[int, int], donors: list[int],
         committed: dict[int, int], asked: Split, asked_total: dict[int, int]
         ) -> dict[tuple[int, int], int]:
    """Share ``left`` ({line id: minor units}) between ``donors`` so that each gets exactly
    its commitment, starting from the asked shapes (see `proposed_split`)."""
    total = sum(committed[d] for d in donors)
    cells: dict[tuple[int, int], float] = {}
    for line in lines:
        for d in donors:
            even = line.amount * committed[d] / total
            if asked_total.get(d):
                base = asked[line.id].get(d, 0) * committed[d] / asked_total[d]
            else:
                base = even
            # A trace of the even share lets a line that only non-committing donors were
            # asked to fund find money elsewhere.
            cells[line.id, d] = base + even * 1e-6 if left[line.id] > 0 else 0.0
    for _round in range(500):
        for line in lines:
            row = sum(cells[line.id, d] for d in donors)
            for d in donors:
                cells[line.id, d] = cells[line.id, d] * left[line.id] / row if row else 0.0
        worst = 0.0
        for d in donors:
            column = sum(cells[line.id, d] for line in lines)
            worst = max(worst, abs(column - committed[d]))
            for line in lines:
                cells[line.id, d] *= committed[d] / column
        if worst < 0.001:
            break
    result = {(line.id, d): math.floor(cells[line.id, d]) for line in lines for d in donors}
    for d in donors:
        largest = max(lines, key=lambda line: (cells[line.id, d], line.amount, -line.id))
        result[largest.id, d] += committed[d] - sum(result[line.id, d] for line in lines)
    _balance_lines(result, lines, left, donors)
    return result


def _balance_lines(result: dict[tuple[int, int], int], lines: list[BudgetLine],
                   left: dict[int, int], donors: list[int]) -> None:
    """Move minor units between lines, within each donor's column, until every line adds up
    to what is ``left`` of it (the donors' totals do not change)."""
    def off(line: BudgetLine) -> int:
        return sum(result[line.id, d] for d in donors) - left[line.id]

    while True:
        over = next((line for line in lines if off(line) > 0), None)
        if over is None:
            return
        under = next(line for line in lines if off(line) < 0)
        donor = max(donors, key=lambda d: result[over.id, d])
        moved = min(off(over), -off(under), result[over.id, donor])
        result[over.id, donor] -= moved
        result[under.id, donor] += moved


# --- checking and writing -----------------------------------------------------------------

def split_problems(proposal: Proposal, split: Mapping[int, Mapping[int, int]],
                   currency: str) -> list[str]:
    """Why ``split`` cannot be the funded split (empty: it can)."""
    committed = committed_by_donor(proposal)
    lines = _lines(proposal)
    names = {d.id: d.name for d in db.session.scalars(select(Donor))}
    problems = []
    known = {line.id for line in lines}
    if set(split) - known:
        problems.append(_("The split names a budget line this proposal does not have."))
    for shares in split.values():
        if any(amount < 0 for amount in shares.values()):
            problems.append(_("A share cannot be negative."))
            break
        if any(amount > 0 and d not in committed for d, amount in shares.items()):
            problems.append(_("Only a donor that committed money can fund a line."))
            break
    for line in lines:
        given = sum(split.get(line.id, {}).values())
        if given != line.amount:
            problems.append(_("“%(line)s” adds up to %(given)s; it is %(amount)s.",
                              line=line.description, given=format_money(given, currency),
                              amount=format_money(line.amount, currency)))
    for d, amount in committed.items():
        given = sum(split.get(line.id, {}).get(d, 0) for line in lines)
        if given != amount:
            problems.append(_("%(donor)s's shares add up to %(given)s; it committed "
                              "%(amount)s.", donor=names.get(d, "?"),
                              given=format_money(given, currency),
                              amount=format_money(amount, currency)))
    return problems


def _write(proposal: Proposal, split: Mapping[int, Mapping[int, int]]) -> None:
    db.session.execute(delete(FundedSplit).where(FundedSplit.proposal_id == proposal.id))
    for line_id, shares in sorted(split.items()):
        for donor_id, amount in sorted(shares.items()):
            if amount > 0:
                db.session.add(FundedSplit(proposal_id=proposal.id, line_id=line_id,
                                           donor_id=donor_id, amount=amount))


def keep_asked_split(proposal: Proposal, *, by: User) -> bool:
    """At approval: keep the asked split as the funded one if the commitments match it.

    Returns whether it was kept. Effects (when kept): FundedSplit rows copied from the
    budget splits; the funding row marked confirmed (by nobody: nothing was changed); an
    audit event. Otherwise nothing is written and an officer has to confirm a re-split.
    """
    funding = _funding(proposal)
    if funding is None or not commitments_match_asked(proposal):
        return False
    _write(proposal, asked_split(proposal))
    funding.split_confirmed_at = clock.now()
    funding.split_confirmed_by_id = None
    db.session.flush()
    audit.record("funding.split_kept", proposal, actor=by, split=_as_json(asked_split(proposal)))
    return True


def confirm_split(proposal: Proposal, split: Mapping[int, Mapping[int, int]], *, by: User,
                  tenant: Tenant, expected_version: int) -> None:
    """Record ``split`` as the funded split of the approved ``proposal``.

    Refused (`SplitError`, nothing changed) unless the proposal is approved (or its
    agreement issued and not yet countersigned), each line adds up to its amount and each
    committing donor to its commitment; `StaleSplit` if the funding row changed since the
    form showed ``expected_version``. Effects: the FundedSplit rows replaced; the funding
    row's confirmation (time, officer) set and its version bumped; an audit event with the
    asked, committed and confirmed figures.
    """
    funding = _funding(proposal)
    if funding is None or funding.approved_at is None:
        raise SplitError(_("This proposal was not approved through donor commitments, so "
                           "there is no funded split to confirm."))
    if proposal.status not in RESPLIT_STATES:
        raise SplitError(_("The agreement is countersigned: its split can no longer change."))
    if funding.version != expected_version:
        raise StaleSplit(_("Someone confirmed the split or changed the funding after you "
                           "opened this page. Your figures are still in the form: check them "
                           "against the current ones and confirm again."))
    problems = split_problems(proposal, split, tenant.currency)
    if problems:
        raise SplitError(" ".join(problems))
    clean = {line_id: {d: a for d, a in shares.items() if a > 0}
             for line_id, shares in split.items()}
    _write(proposal, clean)
    funding.split_confirmed_at = clock.now()
    funding.split_confirmed_by_id = by.id
    db.session.flush()
    audit.record("funding.split_confirmed", proposal, actor=by, split=_as_json(clean),
                 asked=_as_json_flat(asked_by_donor(proposal)),
                 committed=_as_json_flat(committed_by_donor(proposal)))


def _as_json(split: Mapping[int, Mapping[int, int]]) -> dict[str, dict[str, int]]:
    return {str(line): {str(d): a for d, a in shares.items()} for line, shares in split.items()}


def _as_json_flat(amounts: Mapping[int, int]) -> dict[str, int]:
    return {str(d): a for d, a in amounts.items()}


# --- what the confirmation page shows -----------------------------------------------------

@dataclass
class DonorDifference:
    donor: Donor
    asked: int
    committed: int

    @property
    def difference(self) -> int:
        return self.committed - self.asked


@dataclass
class LineComparison:
    line: BudgetLine
    asked: dict[int, int]  #: {donor id: minor units asked}
    funded: dict[int, int]  #: {donor id: minor units proposed or confirmed}


def comparison(proposal: Proposal, funded: Split) -> tuple[list[DonorDifference],
                                                             list[LineComparison]]:
    """Asked against committed per donor, and asked against ``funded`` per budget line."""
    asked, committed = asked_by_donor(proposal), committed_by_donor(proposal)
    donor_ids = set(asked) | set(committed)
    donors = sorted((db.session.get(Donor, d) for d in donor_ids),
                    key=lambda d: (-committed.get(d.id, 0), d.name))
    split = asked_split(proposal)
    return ([DonorDifference(d, asked.get(d.id, 0), committed.get(d.id, 0)) for d in donors],
            [LineComparison(line, split[line.id], funded.get(line.id, {}))
             for line in _lines(proposal)])
