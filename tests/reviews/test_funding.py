"""Multi-donor funding: delegates commit within their offer, the commitment covering the
budget approves the proposal and keeps the split, donors see only their own commitments, and
two donors committing at once cannot pass the budget."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from center.auth.models import User
from center.calls import services as calls
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funding, services
from center.reviews.models import DonorBudget, FundingCommitment, ProposalFunding
from center.tenants.models import Donor, Role
from tests.reviews.conftest import Panel, accepted, proposal, review, user
from tests.support.states import put_in_state


def _donor(panel: Panel, key: str) -> Donor:
    return db.session.get(Donor, panel.donors[key])


def _open(panel: Panel, key: str = "tb") -> Proposal:
    """Put a proposal straight into funding, with its funding row (test set-up, committed)."""
    p = put_in_state(proposal(panel, key), ProposalStatus.funding, by=user(panel, "officer"))
    funding.open_funding(p)
    db.session.commit()
    return p


def test_the_commitment_that_covers_the_budget_approves_and_keeps_the_split(
        scope: Panel) -> None:
    officer = user(scope, "officer")
    review(accepted(scope, "tb", "r3"), 5, 4, to_applicants="Excellent.")
    tb = proposal(scope, "tb")
    services.decide([(tb, tb.version)], services.Decision.recommend, "Top of the list.",
                    by=officer, roles=frozenset({Role.officer}))
    assert tb.status == ProposalStatus.funding
    assert funding.funding_row(tb).budget == 100_000_00
    funding.commit(tb, _donor(scope, "d1"), 55_000_00, by=user(scope, "r1"))
    assert tb.status == ProposalStatus.funding
    funding.commit(tb, _donor(scope, "d1"), 60_000_00, by=user(scope, "r1"))  # raised
    funding.commit(tb, _donor(scope, "d2"), 40_000_00, by=user(scope, "r3"))
    assert tb.status == ProposalStatus.approved
    assert funding.funding_split(tb) == {scope.donors["d1"]: 60_000_00,
                                         scope.donors["d2"]: 40_000_00}
    assert funding.funding_row(tb).approved_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.approve",
                                                       AuditEvent.object_id == tb.id))
    assert event.actor_id == scope.users["r3"] and event.to_state == "approved"
    mail = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.subject == f"Funded: {tb.title}"))
    assert "Donor One of alpha: €60,000.00" in mail.body
    # The state in words, never the stored value (found by the stateful workflow test).
    with pytest.raises(funding.FundingError,
                       match=r"not open for commitments \(it is approved for funding\)"):
        funding.commit(tb, _donor(scope, "d2"), 30_000_00, by=user(scope, "r3"))


def test_a_commitment_past_what_the_proposal_still_needs_is_refused(scope: Panel) -> None:
    tb = _open(scope)
    funding.commit(tb, _donor(scope, "d1"), 70_000_00, by=user(scope, "r1"), above_asked=True)
    db.session.commit()
    with pytest.raises(funding.OverCommitment, match="needs only €30,000.00 more"):
        funding.commit(tb, _donor(scope, "d2"), 40_000_00, by=user(scope, "r3"))
    db.session.rollback()
    assert funding.funding_row(proposal(scope, "tb")).committed == 70_000_00


def test_a_donor_commits_at_most_what_it_offers_the_call(scope: Panel) -> None:
    tb, water = _open(scope, "tb"), _open(scope, "water")
    call = tb.call
    calls.update_call(call, by=user(scope, "officer"), expected_version=call.version,
                      offers={scope.donors["d1"]: 90_000_00, scope.donors["d2"]: 200_000_00})
    funding.commit(tb, _donor(scope, "d1"), 60_000_00, by=user(scope, "r1"))
    db.session.commit()
    with pytest.raises(funding.OverCommitment, match="€30,000.00 left of its offer"):
        funding.commit(water, _donor(scope, "d1"), 50_000_00, by=user(scope, "r1"))
    db.session.rollback()
    funding.commit(proposal(scope, "water"), _donor(scope, "d1"), 30_000_00,
                   by=user(scope, "r1"))
    assert funding.donor_position(call, _donor(scope, "d1")).left == 0


def test_a_partner_funder_outside_the_call_may_commit_without_an_offer(scope: Panel) -> None:
    tb = _open(scope)
    partner = _donor(scope, "partner")
    assert tb.call in funding.funding_calls(partner)
    with pytest.raises(funding.AboveAsked, match="asks Acme Pharma for €0.00"):
        funding.commit(tb, partner, 100_000_00, by=user(scope, "p1"))
    funding.commit(tb, partner, 100_000_00, by=user(scope, "p1"), above_asked=True)
    assert tb.status == ProposalStatus.approved
    assert funding.funding_split(tb) == {partner.id: 100_000_00}


def test_withdrawing_a_commitment_or_the_proposal_gives_the_money_back(scope: Panel) -> None:
    tb = _open(scope)
    d1 = _donor(scope, "d1")
    funding.commit(tb, d1, 50_000_00, by=user(scope, "r1"))
    funding.commit(tb, d1, 0, by=user(scope, "r1"))
    assert funding.funding_split(tb) == {} and funding.funding_row(tb).committed == 0
    funding.commit(tb, d1, 50_000_00, by=user(scope, "r1"))
    workflow.fire(tb, "withdraw", by=user(scope, "applicant"),
                  roles=frozenset({Role.applicant}))
    assert funding.funding_split(tb) == {}
    assert funding.committed_in_call(tb.call, d1) == 0


def _board(client, panel: Panel):  # noqa: ANN001, ANN202
    return client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/funding")


def test_each_donor_sees_its_own_commitment_and_the_totals_only(app, client, login,
                                                                panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        tb = _open(panel)
        funding.commit(tb, _donor(panel, "d1"), 12_345_00, by=user(panel, "r1"))
        funding.commit(tb, _donor(panel, "partner"), 20_000_00, by=user(panel, "p1"),
                       above_asked=True)
        db.session.commit()
        rows = funding.funding_board(tb.call, donor=_donor(panel, "d2"))
        assert all(r.by_donor == {} for r in rows)
    login(panel.emails["r3"])
    html = _board(client, panel).get_data(as_text=True)
    assert "€32,345.00" in html  # the total
    assert "€12,345.00" not in html and "€20,000.00" not in html and "ACME" not in html
    assert "€40,000.00" in html  # what the budget asks of D2
    client.post("/logout")
    login(panel.emails["officer"])
    html = _board(client, panel).get_data(as_text=True)
    assert "€12,345.00" in html and "€20,000.00" in html and "ACME" in html


def test_a_delegate_commits_through_the_board_and_errors_stay_by_the_field(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
        db.session.commit()
    login(panel.emails["r3"])
    url = f"/{panel.slug}/reviews/proposals/{panel.tb}/commit"
    garbled = client.post(url, data={f"p{panel.tb}-amount": "forty"})
    assert garbled.status_code == 422 and f'id="p{panel.tb}-amount-error"' in (
        garbled.get_data(as_text=True))
    too_much = client.post(url, data={f"p{panel.tb}-amount": "100000.01"})
    assert too_much.status_code == 409 and "needs only" in too_much.get_data(as_text=True)
    done = client.post(url, data={f"p{panel.tb}-amount": "40000"}, follow_redirects=True)
    assert "Committed €40,000.00" in done.get_data(as_text=True)
    with app.app_context(), tenant_scope(panel.tenant_id):
        commitment = db.session.scalar(select(FundingCommitment).where(
            FundingCommitment.proposal_id == panel.tb))
        assert (commitment.donor_id, commitment.amount, commitment.committed_by_id) == (
            panel.donors["d2"], 40_000_00, panel.users["r3"])


@pytest.mark.parametrize(("typed", "message"), [
    ("Infinity", "Enter the amount in digits"), ("NaN", "Enter the amount in digits"),
    ("1e999", "Enter the amount in digits"), ("9" * 300, "Enter at most"),
    ("-5", "zero or more"), ("40.000", "could mean"), ("0", "above zero"),
])
def test_an_impossible_commitment_is_explained_next_to_the_field(
        app, client, login, panel: Panel, typed: str, message: str) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
        db.session.commit()
    login(panel.emails["r3"])
    response = client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/commit",
                           data={f"p{panel.tb}-amount": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html[html.index(f'id="p{panel.tb}-amount-error"'):][:400]
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(FundingCommitment).where(
            FundingCommitment.proposal_id == panel.tb)) == 0


@pytest.mark.parametrize("who,expected", [
    ("r2", 403),  # a reviewer of a donor of the call, not its delegate
    ("r5", 404),  # the delegate of a donor outside the call
    ("applicant", 403),
    ("officer", 403),  # officers follow funding; donors commit
])
def test_only_a_delegate_of_a_donor_that_may_fund_commits(app, client, login, panel: Panel,
                                                          who: str, expected: int) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
        funding.add_delegate(_donor(panel, "d3"), user(panel, "r5"), by=user(panel, "officer"))
        db.session.commit()
    login(panel.emails[who])
    response = client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/commit",
                           data={f"p{panel.tb}-amount": "1000"})
    assert response.status_code == expected
    if who in ("r2", "r5"):
        assert _board(client, panel).status_code == expected
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(FundingCommitment).where(
            FundingCommitment.proposal_id == panel.tb)) == 0


def test_two_donors_committing_at_once_cannot_pass_the_budget(app, panel: Panel) -> None:
    """Each donor commits 70,000 of a 100,000 budget in its own thread and transaction;
    exactly one commitment stands, whatever the timing (row lock on PostgreSQL, version
    check on SQLite)."""
    with app.app_context(), tenant_scope(panel.tenant_id):
        _open(panel)
        db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def commit(donor_key: str, user_key: str) -> None:
        with app.app_context(), tenant_scope(panel.tenant_id):
            tb = db.session.get(Proposal, panel.tb)
            donor = db.session.get(Donor, panel.donors[donor_key])
            by = db.session.get(User, panel.users[user_key])
            funding.funding_row(tb)  # both have read the funding state before either writes
            barrier.wait(timeout=10)
            try:
                funding.commit(tb, donor, 70_000_00, by=by, above_asked=True)
                db.session.commit()
                outcomes[donor_key] = "committed"
            except (funding.FundingError, StaleDataError, IntegrityError,
                    OperationalError) as exc:
                db.session.rollback()
                outcomes[donor_key] = type(exc).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=commit, args=args)
               for args in (("d1", "r1"), ("d2", "r3"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()).count("committed") == 1, outcomes
    with app.app_context(), tenant_scope(panel.tenant_id):
        row = db.session.scalar(select(ProposalFunding).where(
            ProposalFunding.proposal_id == panel.tb))
        total = db.session.scalar(select(func.sum(FundingCommitment.amount)).where(
            FundingCommitment.proposal_id == panel.tb))
        assert row.committed == total == 70_000_00
        budgets = db.session.scalars(select(DonorBudget.committed).where(
            DonorBudget.call_id == panel.call_id)).all()
        assert sum(budgets) == 70_000_00
        assert db.session.get(Proposal, panel.tb).status == ProposalStatus.funding
