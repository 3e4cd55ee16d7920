"""The tables of a call's exports, one function per table, each returning headers and rows for
`center.core.exports` (which writes CSV and XLSX and defuses formulas).

Who reads what is decided once, in `Scope`:

- an officer or administrator (``donor`` None) reads every proposal of the call past its
  draft, every donor's figures, every review and agreement;
- a donor's funding delegate reads only the proposals of the call recommended for funding
  (or funded) whose budget asks the donor for money or that the donor committed to, minus
  those the delegate has a conflict of interest with, and only the donor's own figures (its
  ask, its commitment, its share, its tranches), never another donor's nor the reviews;
- in a double-blind call the delegate's tables carry no name of an applicant or of an
  institute: titles are struck as for reviewers (`center.reviews.redaction`) and institutes
  are "Partner 1", "Partner 2"... in the consortium's order.

Amounts are numbers of currency units (not minor units) beside a ``currency`` column;
moments are ISO 8601 in the center's time zone (with the offset), dates ISO.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from center.agreements.models import Agreement
from center.agreements.services import reference_for
from center.auth.models import User
from center.calls.models import Call
from center.core.db import db
from center.core.exports import money_cell
from center.projects.models import Project, Tranche
from center.proposals import services as proposal_services
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funding
from center.reviews import services as review_services
from center.reviews.models import Assignment, FundingCommitment, weighted_score
from center.reviews.permissions import FUNDING_STATES, sees_applicants
from center.reviews.redaction import scrubber
from center.tenants.models import Donor, Tenant

Headers = list[str]
Rows = list[list[Any]]


@dataclass
class Scope:
    """What one reader may export of one call."""

    call: Call
    tenant: Tenant
    donor: Donor | None = None  #: None: an officer or administrator, who reads everything
    viewer: User | None = None  #: the donor's delegate (for conflicts of interest)
    _scrubbers: dict[int, Callable[[str], str]] = field(default_factory=dict, repr=False)

    @property
    def currency(self) -> str:
        return self.tenant.currency

    @property
    def blind(self) -> bool:
        """Names are struck: a donor's delegate reading a double-blind call."""
        return self.donor is not None and not sees_applicants(self.call)

    @cached_property
    def proposals(self) -> list[Proposal]:
        found = list(db.session.scalars(select(Proposal).where(
            Proposal.call_id == self.call.id, Proposal.status != ProposalStatus.draft)
            .order_by(Proposal.id)))
        if self.donor is None:
            return found
        checker = (funding.conflict_checker(self.call, [self.viewer])
                   if self.viewer is not None else None)
        mine = []
        for p in found:
            if p.status not in FUNDING_STATES:
                continue
            if not (funding.asked_of(p, self.donor) or self.own_commitment(p)):
                continue
            if checker is not None and funding.conflict_reasons(self.viewer, p, checker):
                continue
            mine.append(p)
        return mine

    @cached_property
    def commitments(self) -> dict[int, list[FundingCommitment]]:
        """{proposal id: commitments}, of the donor only for a delegate."""
        ids = [p.id for p in self._call_proposals()]
        out: dict[int, list[FundingCommitment]] = {}
        if not ids:
            return out
        query = select(FundingCommitment).where(FundingCommitment.proposal_id.in_(ids))
        if self.donor is not None:
            query = query.where(FundingCommitment.donor_id == self.donor.id)
        for c in db.session.scalars(query.order_by(FundingCommitment.id)):
            out.setdefault(c.proposal_id, []).append(c)
        return out

    def _call_proposals(self) -> list[Proposal]:
        return list(db.session.scalars(select(Proposal).where(Proposal.call_id == self.call.id)))

    def own_commitment(self, proposal: Proposal) -> int:
        assert self.donor is not None
        return sum(c.amount for c in self.commitments.get(proposal.id, [])
                   if c.donor_id == self.donor.id)

    @cached_property
    def donors(self) -> list[Donor]:
        """The donors the tables have columns or rows for: the delegate's own only."""
        if self.donor is not None:
            return [self.donor]
        donors = [cd.donor for cd in self.call.donors]
        known = {d.id for d in donors}
        extra = sorted({s.donor_id for p in self.proposals for line in p.budget_lines
                        for s in line.splits if s.donor_id not in known}
                       | {c.donor_id for cs in self.commitments.values() for c in cs
                          if c.donor_id not in known})
        return donors + [db.session.get(Donor, d) for d in extra]

    # --- naming, struck in a double-blind call ------------------------------------------

    def _scrub(self, proposal: Proposal) -> Callable[[str], str]:
        if proposal.id not in self._scrubbers:
            self._scrubbers[proposal.id] = scrubber(proposal)
        return self._scrubbers[proposal.id]

    def text(self, proposal: Proposal, value: str) -> str:
        """A text written by the applicants (title, acronym, condition), struck if blind."""
        return self._scrub(proposal)(value) if self.blind else (value or "")

    def institute(self, proposal: Proposal, institute_id: int | None) -> str:
        if institute_id is None:
            return ""
        for n, partner in enumerate(proposal.partners, start=1):
            if partner.institute_id == institute_id:
                return _("Partner %(n)d", n=n) if self.blind else partner.institute.name
        return "" if self.blind else _("another institute")

    def lead(self, proposal: Proposal) -> str:
        return self.institute(proposal, proposal.lead.institute_id) if proposal.lead else ""

    # --- values --------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.timezone or "UTC")

    def moment(self, when: dt.datetime | None) -> str:
        return "" if when is None else when.astimezone(self.zone).isoformat(timespec="seconds")

    def money(self, minor: int | None) -> Any:
        return money_cell(minor, self.currency)


def day(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


# --- the tables ----------------------------------------------------------------------------

def proposals_table(scope: Scope) -> tuple[Headers, Rows]:
    headers = ["proposal_id", "reference", "acronym", "title", "state", "lead_institute",
               "countries", "submitted_at", "asked_total"]
    if scope.donor is not None:
        headers.append("asked_of_donor")
    headers.append("currency")
    rows = []
    for p in scope.proposals:
        row = [p.id, reference_for(p, scope.tenant) if p.status in FUNDING_STATES else "",
               scope.text(p, p.acronym), scope.text(p, p.title), str(p.status),
               scope.lead(p), " ".join(p.countries), scope.moment(p.submitted_at),
               scope.money(p.total_budget)]
        if scope.donor is not None:
            row.append(scope.money(funding.asked_of(p, scope.donor)))
        rows.append([*row, scope.currency])
    return headers, rows


def budgets_by_donor_table(scope: Scope) -> tuple[Headers, Rows]:
    """One row per proposal and donor: what the budget asks of it and what it committed."""
    headers = ["proposal_id", "acronym", "donor", "asked", "committed", "currency"]
    rows = []
    for p in scope.proposals:
        asked = proposal_services.budget_totals(p)["by_donor"]
        committed = {c.donor_id: c.amount for c in scope.commitments.get(p.id, [])}
        for d in scope.donors:
            if d.id not in asked and d.id not in committed:
                continue
            rows.append([p.id, scope.text(p, p.acronym), d.short_name,
                         scope.money(asked.get(d.id, 0)), scope.money(committed.get(d.id, 0)),
                         scope.currency])
    return headers, rows


def budgets_by_institute_table(scope: Scope) -> tuple[Headers, Rows]:
    """One row per proposal and institute: its budget, and what it asks of each donor."""
    donors = scope.donors
    headers = ["proposal_id", "acronym", "institute", "country"]
    if scope.donor is None:
        headers += ["total", *[f"asked of {d.short_name}" for d in donors]]
    else:
        headers.append("asked_of_donor")
    headers.append("currency")
    rows = []
    for p in scope.proposals:
        totals = proposal_services.budget_totals(p)
        countries = {part.institute_id: part.institute.country_code for part in p.partners}
        order = [part.institute_id for part in p.partners]
        order += [i for i in totals["by_institute"] if i not in order]
        for institute_id in order:
            if institute_id not in totals["by_institute"]:
                continue
            by_donor = totals["by_institute_donor"].get(institute_id, {})
            row = [p.id, scope.text(p, p.acronym), scope.institute(p, institute_id),
                   countries.get(institute_id, "")]
            if scope.donor is None:
                row += [scope.money(totals["by_institute"][institute_id]),
                        *[scope.money(by_donor.get(d.id, 0)) for d in donors]]
            else:
                if not by_donor.get(scope.donor.id):
                    continue
                row.append(scope.money(by_donor[scope.donor.id]))
            rows.append([*row, scope.currency])
    return headers, rows


def reviews_table(scope: Scope) -> tuple[Headers, Rows]:
    """Officers only: one row per assignment, with each criterion's score."""
    criteria = [c["name"] for c in scope.call.rubric]
    headers = ["proposal_id", "acronym", "reviewer", "donor", "assignment", "review",
               "submitted_at", "weighted_score", *[f"score: {n}" for n in criteria]]
    ids = [p.id for p in scope.proposals]
    if scope.donor is not None or not ids:
        return headers, []
    titles = {p.id: p for p in scope.proposals}
    rows = []
    for a in db.session.scalars(select(Assignment).where(Assignment.proposal_id.in_(ids))
                                .order_by(Assignment.proposal_id, Assignment.id)):
        review = a.review
        scores = review.scores if review is not None else {}
        score = weighted_score(scores, scope.call.rubric) if review and a.submitted else None
        rows.append([a.proposal_id, titles[a.proposal_id].acronym, a.reviewer.name,
                     a.donor.short_name, str(a.status), str(review.status) if review else "",
                     scope.moment(review.submitted_at if review else None),
                     "" if score is None else round(score, 1),
                     *[scores.get(n, "") for n in criteria]])
    return headers, rows


def rankings_table(scope: Scope) -> tuple[Headers, Rows]:
    """Officers only: the panel's ranking, as the panel's own export writes it."""
    if scope.donor is not None:
        return ["rank", "proposal_id"], []
    return review_services.ranking_table(scope.call, review_services.ranking(scope.call),
                                         scope.currency)


def commitments_table(scope: Scope) -> tuple[Headers, Rows]:
    headers = ["proposal_id", "acronym", "title", "state", "donor", "committed", "asked",
               "committed_at", "currency"]
    rows = []
    for p in scope.proposals:
        for c in scope.commitments.get(p.id, []):
            rows.append([p.id, scope.text(p, p.acronym), scope.text(p, p.title),
                         str(p.status), c.donor.short_name, scope.money(c.amount),
                         scope.money(funding.asked_of(p, c.donor)),
                         scope.moment(c.committed_at), scope.currency])
    return headers, rows


def _agreements(scope: Scope) -> list[Agreement]:
    ids = [p.id for p in scope.proposals]
    if not ids:
        return []
    found = db.session.scalars(select(Agreement).where(Agreement.proposal_id.in_(ids))
                               .order_by(Agreement.proposal_id, Agreement.number))
    if scope.donor is None:
        return list(found)
    return [a for a in found if scope.donor.id in a.donor_ids]


def agreements_table(scope: Scope) -> tuple[Headers, Rows]:
    headers = ["proposal_id", "reference", "version", "state", "sha256", "size_bytes",
               "total" if scope.donor is None else "donor_share", "generated_at",
               "issued_at", "countersigned_at", "acknowledged_by", "acknowledgement_sha256",
               "currency"]
    rows = []
    for a in _agreements(scope):
        if scope.donor is None:
            amount = a.total
            acks = a.acknowledgements
        else:
            amount = sum(int(s["amount"]) for s in a.donor_shares
                         if int(s["donor_id"]) == scope.donor.id)
            acks = [k for k in a.acknowledgements if k.donor_id == scope.donor.id]
        parties = [f"{k.party}:{k.donor.short_name}" if k.donor else str(k.party)
                   for k in acks]
        rows.append([a.proposal_id, a.reference, a.number, str(a.status), a.sha256, a.size,
                     money_cell(amount, a.currency), scope.moment(a.generated_at),
                     scope.moment(a.issued_at), scope.moment(a.countersigned_at),
                     " ".join(parties), " ".join(sorted({k.sha256 for k in acks})),
                     a.currency])
    return headers, rows


def _projects(scope: Scope) -> list[Project]:
    ids = [p.id for p in scope.proposals]
    if not ids:
        return []
    found = db.session.scalars(select(Project).where(Project.proposal_id.in_(ids))
                               .order_by(Project.id))
    if scope.donor is None:
        return list(found)
    return [p for p in found if scope.donor.id in p.donor_ids]


def reports_table(scope: Scope) -> tuple[Headers, Rows]:
    headers = ["project", "proposal_id", "period", "kind", "starts_on", "ends_on", "due_on",
               "report", "submitted_at", "decided_at"]
    rows = []
    for project in _projects(scope):
        for period in sorted(project.periods, key=lambda p: p.number):
            report = period.report
            rows.append([project.reference, project.proposal_id, period.number,
                         str(period.kind), day(period.starts_on), day(period.ends_on),
                         day(period.due_on), str(report.status) if report else "",
                         scope.moment(report.submitted_at if report else None),
                         scope.moment(report.decided_at if report else None)])
    return headers, rows


def tranches_table(scope: Scope) -> tuple[Headers, Rows]:
    headers = ["project", "proposal_id", "donor", "tranche", "percent", "condition",
               "amount", "state", "due_at", "approved_at", "paid_on", "payment_reference",
               "currency"]
    rows = []
    for project in _projects(scope):
        tranches: list[Tranche] = sorted(project.tranches,
                                         key=lambda t: (t.project_donor_id, t.number))
        for t in tranches:
            if scope.donor is not None and t.project_donor.donor_id != scope.donor.id:
                continue
            rows.append([project.reference, project.proposal_id,
                         t.project_donor.donor.short_name, t.number, t.percent,
                         scope.text(project.proposal, t.condition),
                         money_cell(t.amount, project.currency), str(t.status),
                         scope.moment(t.due_at), scope.moment(t.approved_at), day(t.paid_on),
                         t.payment_reference, project.currency])
    return headers, rows


@dataclass(frozen=True)
class Export:
    key: str
    label: Any
    build: Callable[[Scope], tuple[Headers, Rows]]
    officers_only: bool = False


#: Every export of a call, in the page's order; ``key`` names the file and the URL.
EXPORTS = (
    Export("proposals", _l("Proposals"), proposals_table),
    Export("budgets-by-donor", _l("Budgets by donor"), budgets_by_donor_table),
    Export("budgets-by-institute", _l("Budgets by institute"), budgets_by_institute_table),
    Export("reviews", _l("Reviews and scores per criterion"), reviews_table,
           officers_only=True),
    Export("rankings", _l("Panel ranking"), rankings_table, officers_only=True),
    Export("commitments", _l("Commitments per donor"), commitments_table),
    Export("agreements", _l("Agreements"), agreements_table),
    Export("reports", _l("Project reports"), reports_table),
    Export("tranches", _l("Tranches"), tranches_table),
)


def exports_for(scope: Scope) -> list[Export]:
    """The exports ``scope``'s reader may download."""
    return [e for e in EXPORTS if scope.donor is None or not e.officers_only]


def export_named(scope: Scope, key: str) -> Export | None:
    return next((e for e in exports_for(scope) if e.key == key), None)


def filename(scope: Scope, export: Export, extension: str) -> str:
    who = f"-{scope.donor.id}" if scope.donor is not None else ""
    return f"call-{scope.call.id}{who}-{export.key}.{extension}"
