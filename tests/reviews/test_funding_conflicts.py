"""Funding and conflicts of interest: a delegate with a declared or detected conflict neither
sees the proposal on the funding board nor commits to it, and a commitment above what the
budget asks of the donor needs the delegate's explicit confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals.models import ProposalStatus
from center.reviews import funding, services
from center.reviews.models import FundingCommitment, ReviewerProfile
from center.tenants.models import Donor
from tests.reviews.conftest import Panel, membership, proposal, user
from tests.support.states import put_in_state


def _commitments(panel: Panel) -> int:
    return db.session.scalar(select(func.count()).select_from(FundingCommitment).where(
        FundingCommitment.proposal_id == panel.tb))


def _declare_conflict(panel: Panel, reviewer: str) -> None:
    """``reviewer`` is assigned to the TB proposal and declares a conflict; then the
    proposal is recommended and open for funding (committed)."""
    assignment = services.assign(proposal(panel, "tb"), membership(panel, reviewer),
                                 by=user(panel, "officer"))
    services.declare(assignment, by=user(panel, reviewer), conflict=True,
                     reason="The PI was my doctoral student.")
    _open(panel)


def _open(panel: Panel) -> None:
    tb = put_in_state(proposal(panel, "tb"), ProposalStatus.funding, by=user(panel, "officer"))
    funding.open_funding(tb)
    db.session.commit()


def _detect_conflict(panel: Panel, reviewer: str) -> None:
    """``reviewer``'s profile says they work at the TB proposal's lead institute."""
    who = user(panel, reviewer)
    profile = db.session.scalar(select(ReviewerProfile).where(ReviewerProfile.user_id == who.id))
    services.save_profile(who, by=who, expected_version=profile.version,
                          expertise=profile.expertise,
                          institute_id=panel.world.a.institute_ids[0], nationality="KR",
                          collaborators="", max_load=6)
    _open(panel)


def _post(client, panel: Panel, amount: str, **extra: str):  # noqa: ANN001, ANN202
    return client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/commit",
                       data={f"p{panel.tb}-amount": amount, **extra})


def _board(client, panel: Panel) -> str:  # noqa: ANN001
    response = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/funding")
    assert response.status_code == 200
    return response.get_data(as_text=True)


TB_TITLE = "Genomic surveillance of drug-resistant tuberculosis"


@pytest.mark.parametrize("how", ["declared", "detected"])
def test_a_delegate_with_a_conflict_does_not_see_the_proposal_on_the_board(
        app, client, login, panel: Panel, how: str) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        (_declare_conflict if how == "declared" else _detect_conflict)(panel, "r3")
        rows = funding.funding_board(proposal(panel, "tb").call,
                                     donor=db.session.get(Donor, panel.donors["d2"]),
                                     viewer=user(panel, "r3"))
        assert panel.tb not in [r.proposal.id for r in rows]
    login(panel.emails["r3"])
    assert TB_TITLE not in _board(client, panel)
    client.post("/logout")
    login(panel.emails["r1"])  # the other donor's delegate has no conflict
    assert TB_TITLE in _board(client, panel)


@pytest.mark.parametrize("how", ["declared", "detected"])
def test_a_delegate_with_a_conflict_cannot_commit_and_nothing_changes(
        app, client, login, panel: Panel, how: str) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        (_declare_conflict if how == "declared" else _detect_conflict)(panel, "r3")
        with pytest.raises(funding.ConflictOfInterest):
            funding.commit(proposal(panel, "tb"), db.session.get(Donor, panel.donors["d2"]),
                           40_000_00, by=user(panel, "r3"))
        db.session.rollback()
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    login(panel.emails["r3"])
    assert _post(client, panel, "40000").status_code == 403
    assert client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/commit",
                       data={"action": "withdraw"}).status_code == 403
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert _commitments(panel) == 0
        assert funding.funding_row(proposal(panel, "tb")).committed == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_committing_more_than_asked_needs_the_delegates_confirmation(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
    login(panel.emails["r3"])  # D2 is asked for 40,000
    refused = _post(client, panel, "50000")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "asks Donor Two of alpha for €40,000.00" in html and "€10,000.00 more" in html
    assert "Yes, commit more than the budget asks" in html
    assert 'value="50000"' in html  # the typed amount is kept
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert _commitments(panel) == 0
    done = _post(client, panel, "50000", **{f"p{panel.tb}-above_asked": "y"})
    assert done.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert funding.funding_split(proposal(panel, "tb")) == {panel.donors["d2"]: 50_000_00}
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "funding.committed", AuditEvent.object_id == panel.tb))
        assert event.details["above_asked"] is True and event.details["asked"] == 40_000_00


def test_committing_what_was_asked_or_less_needs_no_confirmation(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
    login(panel.emails["r3"])
    assert _post(client, panel, "40000").status_code == 302
    assert "Yes, commit more" not in _board(client, panel)
