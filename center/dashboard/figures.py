"""The dashboards' figures: plain grouped queries over the current tenant's rows.

Each function returns a `Figure`, a small table (a row per call, donor, country ...; a
column per series) that `charts` draws as SVG and the dashboard also prints as a table.
Every figure costs a fixed number of queries, however many proposals the center holds.
Money is in the tenant's minor units; "committed" is what donors committed
(`FundingCommitment`), never what the budget asked of them (`BudgetSplit`).
Passing ``donor_id`` limits a figure to one donor's money and reviews (a donor's view).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from center.auth.models import User
from center.calls.models import Call
from center.core.countries import country_name
from center.core.db import db
from center.dedup.models import FundedProject, MatchStatus, SimilarityMatch
from center.proposals.models import (
    BudgetLine,
    BudgetSplit,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
)
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    FundingCommitment,
    Review,
    ReviewStatus,
)
from center.screening.models import SanctionsHit
from center.tenants.models import Donor, Institute

S = ProposalStatus
#: Decided for funding: the proposal got the money.
FUNDED = frozenset({S.approved, S.agreement_issued, S.active, S.closed})
#: Decided against: turned down at screening, by a government or after review.
NOT_FUNDED = frozenset({S.ineligible, S.objected, S.rejected})
#: What a dashboard counts as a proposal: everything once submitted (drafts are the
#: applicant's own).
SUBMITTED = frozenset(ProposalStatus) - {S.draft}


@dataclass
class Figure:
    """One chart's numbers: ``rows`` of (label, one value per series)."""

    key: str
    caption: str
    row_header: str
    series: list[str]
    rows: list[tuple[str, list[float]]] = field(default_factory=list)
    unit: str = "count"  #: count, money, percent or days
    stacked: bool = False
    #: The series the chart draws (all unless given); the table shows every series.
    plotted: tuple[int, ...] | None = None

    def column(self, label: str) -> dict[str, float]:
        """One series by row label (for tests and summaries)."""
        index = self.series.index(label)
        return {row: values[index] for row, values in self.rows}

    def as_dict(self) -> dict[str, list[float]]:
        return dict(self.rows)


def _submitted():
    return Proposal.status.in_([str(s) for s in SUBMITTED])


# --- proposals --------------------------------------------------------------------------

def proposals_by_state() -> Figure:
    """How many submitted proposals each call holds in each state."""
    rows = db.session.execute(
        select(Call.id, Call.title, Proposal.status, func.count(Proposal.id))
        .join(Proposal, Proposal.call_id == Call.id).where(_submitted())
        .group_by(Call.id, Call.title, Proposal.status).order_by(Call.id)).all()
    states = [s for s in ProposalStatus if any(r[2] == s for r in rows)]
    table: dict[int, tuple[str, dict[str, int]]] = {}
    for call_id, title, status, count in rows:
        table.setdefault(call_id, (title, {}))[1][status] = count
    return Figure("states", str(_l("Proposals per state in each call")), str(_l("Call")),
                  [s.label for s in states],
                  [(title, [counts.get(s, 0) for s in states]) for title, counts in
                   table.values()], stacked=True)


def success_rates() -> Figure:
    """Per call: proposals funded, not funded, and the share funded of those decided
    (withdrawn proposals and those still in progress do not count)."""
    rows = db.session.execute(
        select(Call.id, Call.title, Proposal.status, func.count(Proposal.id))
        .join(Proposal, Proposal.call_id == Call.id)
        .where(Proposal.status.in_([str(s) for s in FUNDED | NOT_FUNDED]))
        .group_by(Call.id, Call.title, Proposal.status).order_by(Call.id)).all()
    table: dict[int, list] = {}
    for call_id, title, status, count in rows:
        entry = table.setdefault(call_id, [title, 0, 0])
        entry[1 if status in FUNDED else 2] += count
    return Figure("success", str(_l("Success rate per call")), str(_l("Call")),
                  [str(_l("Funded")), str(_l("Not funded")), str(_l("Funded (%)"))],
                  [(title, [funded, refused, round(100 * funded / (funded + refused), 1)])
                   for title, funded, refused in table.values()], unit="percent", plotted=(2,))


def decision_times() -> Figure:
    """Per call: proposals decided, and the average and longest days from submission to
    the decision (withdrawals are no decision)."""
    rows = db.session.execute(
        select(Call.id, Call.title, Proposal.submitted_at, Proposal.decided_at)
        .join(Proposal, Proposal.call_id == Call.id)
        .where(Proposal.status.in_([str(s) for s in FUNDED | NOT_FUNDED]),
               Proposal.submitted_at.is_not(None), Proposal.decided_at.is_not(None))
        .order_by(Call.id)).all()
    days: dict[int, tuple[str, list[float]]] = {}
    for call_id, title, submitted, decided in rows:
        days.setdefault(call_id, (title, []))[1].append(
            (decided - submitted).total_seconds() / 86400)
    return Figure("decision_time", str(_l("Days from submission to decision")),
                  str(_l("Call")),
                  [str(_l("Decided")), str(_l("Average days")), str(_l("Longest (days)"))],
                  [(title, [len(spans), round(sum(spans) / len(spans), 1),
                            round(max(spans), 1)]) for title, spans in days.values()],
                  unit="days", plotted=(1,))


# --- money ------------------------------------------------------------------------------

def _asked_and_committed(asked: list, committed: list, key: str, caption: str,
                         header: str, name) -> Figure:  # noqa: ANN001
    """Merge (group, amount) rows of what was asked and what was committed."""
    table: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for group, amount in asked:
        table[group][0] += int(amount or 0)
    for group, amount in committed:
        table[group][1] += int(amount or 0)
    rows = sorted(((name(group), values) for group, values in table.items()),
                  key=lambda row: (-row[1][0], row[0]))
    return Figure(key, caption, header, [str(_l("Asked")), str(_l("Committed"))], rows,
                  unit="money")


def money_by_donor(donor_id: int | None = None) -> Figure:
    """What submitted budgets ask of each donor, and what each donor committed."""
    asked = select(BudgetSplit.donor_id, func.sum(BudgetSplit.amount)) \
        .join(BudgetLine, BudgetSplit.line_id == BudgetLine.id) \
        .join(Proposal, BudgetLine.proposal_id == Proposal.id).where(_submitted()) \
        .group_by(BudgetSplit.donor_id)
    committed = select(FundingCommitment.donor_id, func.sum(FundingCommitment.amount)) \
        .group_by(FundingCommitment.donor_id)
    if donor_id is not None:
        asked = asked.where(BudgetSplit.donor_id == donor_id)
        committed = committed.where(FundingCommitment.donor_id == donor_id)
    names = dict(db.session.execute(select(Donor.id, Donor.name)).all())
    return _asked_and_committed(db.session.execute(asked).all(),
                                db.session.execute(committed).all(), "money_donor",
                                str(_l("Money asked and committed by donor")),
                                str(_l("Donor")), lambda d: names.get(d, "?"))


def _by_proposal(group, donor_id: int | None, join_lead: bool):  # noqa: ANN001, ANN202
    """(group, asked) and (group, committed) queries, the proposal grouped by ``group``."""
    if donor_id is None:
        asked = select(group, func.sum(BudgetLine.amount)).select_from(BudgetLine) \
            .join(Proposal, BudgetLine.proposal_id == Proposal.id)
    else:
        asked = select(group, func.sum(BudgetSplit.amount)).select_from(BudgetSplit) \
            .join(BudgetLine, BudgetSplit.line_id == BudgetLine.id) \
            .join(Proposal, BudgetLine.proposal_id == Proposal.id) \
            .where(BudgetSplit.donor_id == donor_id)
    committed = select(group, func.sum(FundingCommitment.amount)).select_from(
        FundingCommitment).join(Proposal, FundingCommitment.proposal_id == Proposal.id)
    if donor_id is not None:
        committed = committed.where(FundingCommitment.donor_id == donor_id)
    if join_lead:
        lead = and_(ProposalInstitute.proposal_id == Proposal.id, ProposalInstitute.is_lead)
        asked = asked.join(ProposalInstitute, lead) \
            .join(Institute, ProposalInstitute.institute_id == Institute.id)
        committed = committed.join(ProposalInstitute, lead) \
            .join(Institute, ProposalInstitute.institute_id == Institute.id)
    asked = asked.where(_submitted()).group_by(group)
    return db.session.execute(asked).all(), db.session.execute(committed.group_by(group)).all()


def money_by_country(donor_id: int | None = None) -> Figure:
    """Money asked and committed by the country of each proposal's lead institute."""
    asked, committed = _by_proposal(Institute.country_code, donor_id, join_lead=True)
    return _asked_and_committed(asked, committed, "money_country",
                                str(_l("Money asked and committed by partner country")),
                                str(_l("Country of the lead institute")), country_name)


def money_by_topic(donor_id: int | None = None) -> Figure:
    """Money asked and committed by the topic each proposal chose from its call's."""
    asked, committed = _by_proposal(Proposal.topic, donor_id, join_lead=False)
    return _asked_and_committed(asked, committed, "money_topic",
                                str(_l("Money asked and committed by topic")),
                                str(_l("Topic")),
                                lambda topic: topic or str(_l("no topic chosen")))


def money_by_call(donor_id: int) -> Figure:
    """One donor's money per call: what budgets ask of it and what it committed."""
    asked = select(Proposal.call_id, func.sum(BudgetSplit.amount)).select_from(BudgetSplit) \
        .join(BudgetLine, BudgetSplit.line_id == BudgetLine.id) \
        .join(Proposal, BudgetLine.proposal_id == Proposal.id) \
        .where(BudgetSplit.donor_id == donor_id, _submitted()).group_by(Proposal.call_id)
    committed = select(Proposal.call_id, func.sum(FundingCommitment.amount)) \
        .select_from(FundingCommitment) \
        .join(Proposal, FundingCommitment.proposal_id == Proposal.id) \
        .where(FundingCommitment.donor_id == donor_id).group_by(Proposal.call_id)
    titles = dict(db.session.execute(select(Call.id, Call.title)).all())
    return _asked_and_committed(db.session.execute(asked).all(),
                                db.session.execute(committed).all(), "money_call",
                                str(_l("Money asked and committed per call")),
                                str(_l("Call")), lambda c: titles.get(c, "?"))


# --- reviews, duplicates, sanctions ------------------------------------------------------

#: The steps of one review assignment, in the order the chart stacks them.
REVIEW_STEPS = ("submitted", "reviewing", "pending", "conflict")
REVIEW_STEP_LABELS = {
    "submitted": _l("review submitted"),
    "reviewing": _l("being reviewed"),
    "pending": _l("conflict declaration awaited"),
    "conflict": _l("conflict of interest declared"),
}


def review_progress(donor_id: int | None = None) -> Figure:
    """Per reviewer: their assignments by step (submitted, being written, awaiting the
    conflict declaration, declined for a conflict)."""
    query = select(User.id, User.name, Assignment.status, Review.status,
                   func.count(Assignment.id)) \
        .join(User, Assignment.reviewer_id == User.id) \
        .outerjoin(Review, Review.assignment_id == Assignment.id) \
        .group_by(User.id, User.name, Assignment.status, Review.status).order_by(User.name)
    if donor_id is not None:
        query = query.where(Assignment.donor_id == donor_id)
    table: dict[int, tuple[str, dict[str, int]]] = {}
    for user_id, name, status, review, count in db.session.execute(query).all():
        if status == AssignmentStatus.accepted:
            step = "submitted" if review == ReviewStatus.submitted else "reviewing"
        else:
            step = str(status)
        table.setdefault(user_id, (name, defaultdict(int)))[1][step] += count
    return Figure("reviews", str(_l("Review progress per reviewer")), str(_l("Reviewer")),
                  [str(REVIEW_STEP_LABELS[s]) for s in REVIEW_STEPS],
                  [(name, [steps[s] for s in REVIEW_STEPS]) for name, steps in table.values()],
                  stacked=True)


def duplicate_flags() -> Figure:
    """Overlaps found between proposals, and with funded projects, by the pair of
    countries of the two lead institutes (a funded project's own country), by status."""
    lead = aliased(ProposalInstitute)
    other_lead = aliased(ProposalInstitute)
    institute = aliased(Institute)
    other_institute = aliased(Institute)
    rows = db.session.execute(
        select(institute.country_code,
               func.coalesce(other_institute.country_code, FundedProject.country_code),
               SimilarityMatch.status, func.count(SimilarityMatch.id))
        .select_from(SimilarityMatch)
        .outerjoin(lead, and_(lead.proposal_id == SimilarityMatch.proposal_id, lead.is_lead))
        .outerjoin(institute, lead.institute_id == institute.id)
        .outerjoin(other_lead, and_(other_lead.proposal_id == SimilarityMatch.other_proposal_id,
                                    other_lead.is_lead))
        .outerjoin(other_institute, other_lead.institute_id == other_institute.id)
        .outerjoin(FundedProject, SimilarityMatch.project_id == FundedProject.id)
        .group_by(institute.country_code,
                  func.coalesce(other_institute.country_code, FundedProject.country_code),
                  SimilarityMatch.status)).all()
    statuses = list(MatchStatus)
    table: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for one, other, status, count in rows:
        pair = tuple(sorted(code or "" for code in (one, other)))
        table[pair][status] += count

    def name(code: str) -> str:
        return country_name(code) if code else str(_l("country not known"))

    rows_out = sorted(((" – ".join(name(c) for c in pair), [counts[s] for s in statuses])
                       for pair, counts in table.items()), key=lambda r: (-sum(r[1]), r[0]))
    return Figure("duplicates", str(_l("Duplicate-effort flags by country pair")),
                  str(_l("Countries")), [s.label for s in statuses], rows_out, stacked=True)


def sanctions_hits() -> Figure:
    """Sanctions-list hits found in screening: cleared by an officer or still open, by
    the kind of subject (person, institute ...). A clearance carried over to a later
    screening of the same proposal counts once, on the screening where it was made."""
    rows = db.session.execute(
        select(SanctionsHit.subject_kind, SanctionsHit.cleared_at.is_not(None),
               func.count(SanctionsHit.id))
        .where(SanctionsHit.carried_over.is_(False))
        .group_by(SanctionsHit.subject_kind, SanctionsHit.cleared_at.is_not(None))).all()
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kind, cleared, count in rows:
        table[kind][0 if cleared else 1] += count
    return Figure("sanctions", str(_l("Sanctions hits cleared")), str(_l("Matched on the list")),
                  [str(_l("Cleared")), str(_l("Awaiting clearance"))],
                  [(str(SUBJECT_LABELS.get(kind, kind)), values)
                   for kind, values in sorted(table.items())], stacked=True)


SUBJECT_LABELS = {
    "person": _l("people"),
    "entity": _l("institutes and organisations"),
}


# --- per dashboard ----------------------------------------------------------------------

def officer_figures() -> list[Figure]:
    return [proposals_by_state(), money_by_donor(), money_by_country(), money_by_topic(),
            success_rates(), decision_times(), review_progress(), duplicate_flags(),
            sanctions_hits()]


def admin_figures() -> list[Figure]:
    return [proposals_by_state(), money_by_donor(), success_rates(), decision_times()]


def donor_figures(donor_id: int) -> list[Figure]:
    return [money_by_call(donor_id), money_by_country(donor_id), money_by_topic(donor_id),
            review_progress(donor_id)]


# --- the applicant's own proposals -------------------------------------------------------

#: The road of a proposal, each step with the states that are on it.
STEPS = [
    (_l("Draft"), {S.draft, S.changes_requested}),
    (_l("Submitted and screened"), {S.submitted, S.screening, S.ineligible}),
    (_l("Government concurrence"), {S.concurrence, S.objected}),
    (_l("Peer review"), {S.under_review, S.reviewed, S.rejected}),
    (_l("Funding"), {S.funding}),
    (_l("Approved"), {S.approved}),
    (_l("Agreement"), {S.agreement_issued}),
    (_l("Project"), {S.active, S.closed}),
]
#: States in which the road ends before the last step.
STOPPED = frozenset({S.ineligible, S.objected, S.rejected, S.withdrawn})


@dataclass
class Step:
    label: str
    state: str  #: done, current, stopped or todo


def progress(proposal: Proposal) -> list[Step]:
    """Where ``proposal`` stands on its road: the steps done, the current one (or the one
    where it stopped), the steps to come. A withdrawn proposal stopped after its last
    version: at the draft if never submitted, at submission otherwise."""
    status = ProposalStatus(proposal.status)
    if status == S.withdrawn:
        at = 1 if proposal.submitted_at else 0
    else:
        at = next(i for i, (_label, states) in enumerate(STEPS) if status in states)
    steps = []
    for index, (label, _states) in enumerate(STEPS):
        if index < at:
            state = "done"
        elif index == at:
            state = "stopped" if status in STOPPED else (
                "done" if status == S.closed else "current")
        else:
            state = "todo"
        steps.append(Step(str(label), state))
    return steps
