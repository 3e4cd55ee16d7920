"""The glaciers call, whose numbers the dashboard tests know: a new donor (Glacier Fund)
and the world's first donor fund a call led from Georgia, a country nobody else in the
world leads from."""

from __future__ import annotations

import datetime as dt

import pytest

from center.auth import services as accounts
from center.auth.models import User
from center.core import clock
from center.core.db import db
from center.dedup.models import FundedProject, MatchStatus, SimilarityMatch
from center.proposals import services as proposals
from center.proposals.models import BudgetCategory, ProposalStatus
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    FundingCommitment,
    Review,
    ReviewStatus,
)
from center.tenants import services as tenants
from center.tenants.models import Role, Tenant
from tests.support.states import put_in_state
from tests.world import PASSWORD, Side, World, open_call

S = ProposalStatus
CALL = "Glaciers of the Caucasus"
GEORGIA = "Georgia"
DONOR_REVIEWER = "nino@glaciers.example"


def _proposal(call, applicant, lead, *, budget: dict[int, int] | None, status, days=None):  # noqa: ANN001, ANN202
    proposal = proposals.start_proposal(call, by=applicant)
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposal.title, proposal.topic = f"{status} proposal", "Glaciers"
    if budget:
        proposals.add_budget_line(proposal, by=applicant, category=BudgetCategory.personnel,
                                  description="Salaries", amount=sum(budget.values()),
                                  splits=budget)
    if status != S.draft:
        put_in_state(proposal, status, by=applicant)
    if days is not None:
        proposal.decided_at = proposal.submitted_at + dt.timedelta(days=days)
    db.session.flush()
    return proposal


def _assign(proposal, reviewer, donor_id, status, review=None):  # noqa: ANN001, ANN202
    now = clock.now()
    assignment = Assignment(proposal_id=proposal.id, reviewer_id=reviewer.id, donor_id=donor_id,
                            status=status, assigned_at=now,
                            conflict_reason="Co-author"
                            if status == AssignmentStatus.conflict else "",
                            declared_at=None if status == AssignmentStatus.pending else now)
    db.session.add(assignment)
    db.session.flush()
    if review is not None:
        db.session.add(Review(assignment_id=assignment.id, scores={}, status=review,
                              created_at=now, updated_at=now,
                              submitted_at=now if review == ReviewStatus.submitted else None))
        db.session.flush()


def build_glaciers(side: Side) -> dict[str, object]:
    """Add the glaciers call, its proposals, commitments, reviews and overlaps to ``side``
    (in its tenant's scope); flushed, not committed."""
    officer = db.session.get(User, side.user_ids[Role.officer])
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    fund = tenants.add_donor(by=officer, name="Glacier Fund", short_name="GF")
    tbilisi = tenants.add_institute(by=officer, name="Institute of Geography", country_code="GE",
                                    city="Tbilisi")
    db.session.flush()
    old = side.donor_ids[0]
    call = open_call(donor_ids=[fund.id, old], countries=["GE", "AM"], title=CALL,
                     topics=["Glaciers"])
    approved = _proposal(call, applicant, tbilisi, budget={fund.id: 60_000_00, old: 40_000_00},
                         status=S.approved, days=10)
    rejected = _proposal(call, applicant, tbilisi, budget={fund.id: 50_000_00},
                         status=S.rejected, days=4)
    _proposal(call, applicant, tbilisi, budget={fund.id: 1_000_00}, status=S.draft)
    reviewed = _proposal(call, applicant, tbilisi, budget=None, status=S.under_review)
    _proposal(call, applicant, tbilisi, budget=None, status=S.withdrawn)
    now = clock.now()
    db.session.add_all([
        FundingCommitment(proposal_id=approved.id, donor_id=fund.id, amount=70_000_00,
                          committed_at=now),
        FundingCommitment(proposal_id=approved.id, donor_id=old, amount=30_000_00,
                          committed_at=now)])
    tenant = db.session.get(Tenant, side.tenant_id)
    first = accounts.create_user(DONOR_REVIEWER, "Nino Beridze", PASSWORD)
    second = accounts.create_user("oleg@glaciers.example", "Oleg Orlov", PASSWORD)
    accounts.add_membership(first, tenant, Role.reviewer, by=officer, donor_id=fund.id)
    accounts.add_membership(second, tenant, Role.reviewer, by=officer, donor_id=old)
    _assign(reviewed, first, fund.id, AssignmentStatus.accepted, ReviewStatus.submitted)
    _assign(approved, first, fund.id, AssignmentStatus.pending)
    _assign(reviewed, second, old, AssignmentStatus.conflict)
    _assign(approved, second, old, AssignmentStatus.accepted, ReviewStatus.draft)
    _assign(rejected, second, old, AssignmentStatus.accepted)
    project = FundedProject(reference="AM-2020-7", title="Glacier survey", abstract="Earlier.",
                            country_code="AM", imported_at=now)
    db.session.add(project)
    db.session.flush()
    db.session.add_all([
        SimilarityMatch(proposal_id=approved.id, other_key=f"p:{rejected.id}",
                        other_proposal_id=rejected.id, score=0.8, method="lexical",
                        found_at=now),
        SimilarityMatch(proposal_id=reviewed.id, other_key=f"f:{project.id}",
                        project_id=project.id, score=0.6, method="semantic", found_at=now,
                        status=MatchStatus.cleared, resolved_at=now,
                        resolved_by_id=officer.id)])
    db.session.flush()
    return {"fund": fund.id, "old": old, "officer": officer}


@pytest.fixture()
def glaciers(in_tenant: World) -> dict[str, object]:
    return build_glaciers(in_tenant.a)


