"""The demo data that `make run` seeds: two centers, every role, a realistic call and proposals."""

from __future__ import annotations

from sqlalchemy import func, select

from center import demo
from center.auth.services import authenticate
from center.calls.models import Call
from center.core.db import all_tenants, db, tenant_scope
from center.dedup.models import SimilarityMatch
from center.proposals.models import Proposal, ProposalStatus
from center.reviews.models import DonorDelegate
from center.tenants.models import Membership, Role, Tenant


def test_the_demo_seeds_two_centers_with_working_logins_and_flagged_duplicates(app) -> None:
    with app.app_context():
        logins = demo.seed()
        db.session.commit()
        assert len(db.session.scalars(select(Tenant)).all()) == 2
        assert {email for email, _ in logins} == {email for email, _ in demo.logins()}
        for email, _what in logins:
            assert authenticate(email, demo.DEMO_PASSWORD, ip="127.0.0.1").email == email
        with all_tenants():
            assert db.session.scalar(select(func.count()).select_from(Proposal)) >= 12
            submitted = db.session.scalar(select(func.count()).select_from(Proposal).where(
                Proposal.status != ProposalStatus.draft))
            assert submitted >= 9
        # The duplicate checks at work: the cross-border TB pair and the Russian copy are
        # flagged, nothing else is.
        istc = db.session.scalar(select(Tenant).where(Tenant.slug == "istc-demo"))
        with tenant_scope(istc.id):
            matches = db.session.scalars(select(SimilarityMatch)).all()
            titles = {(m.proposal.title, (m.other_proposal or m.project).title)
                      for m in matches}
            assert any(m.cross_country and m.method != "cross-lingual" for m in matches)
            assert any(m.same_pi and m.method == "cross-lingual" for m in matches)
            assert all("uberculos" in a + b or "Геном" in a + b for a, b in titles)


def test_every_donor_of_a_demo_call_has_a_reviewer_and_a_delegate(app) -> None:
    with app.app_context():
        demo.seed()
        db.session.commit()
        for tenant in db.session.scalars(select(Tenant)):
            with tenant_scope(tenant.id):
                reviewers = db.session.scalars(select(Membership).where(
                    Membership.role == Role.reviewer)).all()
                delegates = {(d.donor_id, d.user_id)
                             for d in db.session.scalars(select(DonorDelegate))}
                for call in db.session.scalars(select(Call)):
                    for offer in call.donors:
                        acting = [m for m in reviewers if m.donor_id == offer.donor_id]
                        scoring = [m for m in acting if (m.donor_id, m.user_id) not in delegates]
                        funding = [m for m in acting if (m.donor_id, m.user_id) in delegates]
                        assert scoring and funding, (tenant.slug, offer.donor_id)
