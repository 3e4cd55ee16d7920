"""Institutes proposed by applicants: they block screening until an officer confirms them or
merges them into the institute they duplicate; the merge re-points every reference."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import BackgroundIP, BudgetLine, Proposal, Task, TeamMember
from center.screening import institutes
from center.tenants import services as tenants
from center.tenants.models import Institute, Role
from tests.proposals.test_proposals import _complete
from tests.screening.conftest import as_role, submit
from tests.world import World


def _propose(proposal: Proposal, applicant: User, name: str, country: str = "KZ",
             city: str = "Almaty") -> Institute:
    """What the consortium editor does when an applicant proposes an unlisted institute."""
    institute = tenants.add_institute(by=applicant, verified=False, name=name,
                                      country_code=country, city=city)
    db.session.flush()
    proposals.add_partner(proposal, institute, by=applicant)
    return institute


@pytest.fixture()
def with_proposed(in_tenant: World):
    """The world's proposal of tenant A, complete, with an applicant-proposed partner that
    duplicates the lead (same name but for the spelling, same city), submitted and in
    screening."""
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    officer = db.session.get(User, in_tenant.a.user_ids[Role.officer])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, applicant, in_tenant.a)
    duplicate = _propose(proposal, applicant, "Institut of Physics alpha")
    member = proposals.add_team_member(proposal, by=applicant, name="Daulet Serikov",
                                       role="scientist", institute_id=duplicate.id,
                                       citizenship="KZ")
    proposals.add_task(proposal, by=applicant, efforts={member.id: 40}, title="Calibration",
                       institute_id=duplicate.id, start_month=1, end_month=6)
    d1, _d2 = in_tenant.a.donor_ids
    proposals.add_budget_line(proposal, by=applicant, category="equipment",
                              description="Detector", amount=10_000_00,
                              splits={d1: 10_000_00}, institute_id=duplicate.id)
    proposals.add_background_ip(proposal, by=applicant, institute_id=duplicate.id,
                                description="Detector firmware")
    submit(proposal, applicant)
    workflow.fire(proposal, "start_screening", by=officer, roles=as_role(Role.officer))
    db.session.commit()
    return proposal, duplicate, officer


def _pass(proposal: Proposal, officer: User) -> None:
    workflow.fire(proposal, "pass_screening", by=officer, roles=as_role(Role.officer),
                  expected_version=proposal.version)


def test_an_unconfirmed_institute_blocks_screening_with_a_reason(with_proposed) -> None:
    proposal, duplicate, officer = with_proposed
    with pytest.raises(workflow.GuardFailed) as refused:
        _pass(proposal, officer)
    assert any(duplicate.name in p and "not confirmed" in p for p in refused.value.problems)
    db.session.rollback()

    institutes.confirm(duplicate, by=officer)
    _pass(proposal, officer)
    assert proposal.status == "concurrence"


def test_the_officer_page_lists_it_with_its_likely_match(app, client, world, login,
                                                         with_proposed) -> None:
    _proposal, duplicate, _officer = with_proposed
    login(world.a.emails["officer"])
    response = client.get(f"/{world.a.slug}/screening/institutes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert duplicate.name in html
    listed = html[html.index("Likely the same as"):]
    assert "Institute of Physics alpha" in listed and "same city" in listed
    assert "Budget lines: 1" in html  # what it is named by, in words, not table names


def test_only_officers_and_administrators_reach_the_page(client, world, login) -> None:
    login(world.a.emails["applicant"])
    assert client.get(f"/{world.a.slug}/screening/institutes").status_code == 403


def test_the_merge_re_points_every_reference_and_is_audited(app, client, world, login,
                                                            with_proposed) -> None:
    proposal, duplicate, _officer = with_proposed
    dup_id, into_id = duplicate.id, world.a.institute_ids[0]
    db.session.commit()
    login(world.a.emails["officer"])
    url = f"/{world.a.slug}/screening/institutes/{dup_id}/merge"
    page = client.get(url, query_string={f"m{dup_id}-into": into_id})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "cannot be undone" in html and "Team members: 1" in html
    assert client.post(url, data={"into": into_id}).status_code == 302

    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Institute, dup_id) is None
        proposal = db.session.get(Proposal, proposal.id)
        # The lead and the duplicate were both in the consortium: one row, still the lead.
        assert [(p.institute_id, p.is_lead) for p in proposal.partners].count(
            (into_id, True)) == 1
        assert all(p.institute_id != dup_id for p in proposal.partners)
        for model in (TeamMember, Task, BudgetLine, BackgroundIP):
            assert db.session.scalar(select(model).where(model.institute_id == dup_id)) is None
        assert db.session.scalar(select(TeamMember.institute_id).where(
            TeamMember.name == "Daulet Serikov")) == into_id
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "institute.merged"))
        assert event is not None and event.details["merged_id"] == dup_id
        assert event.details["moved"]["budget_lines"] == 1
        assert event.details["moved"]["proposal_institutes"] == 1


def test_a_merged_institute_no_longer_blocks_screening(with_proposed) -> None:
    proposal, duplicate, officer = with_proposed
    lead = db.session.get(Institute, proposal.lead.institute_id)
    institutes.merge(duplicate, lead, by=officer)
    _pass(proposal, officer)
    assert proposal.status == "concurrence"


def test_a_merge_into_itself_an_unconfirmed_or_from_a_confirmed_institute_is_refused(
        with_proposed) -> None:
    proposal, duplicate, officer = with_proposed
    lead = db.session.get(Institute, proposal.lead.institute_id)
    with pytest.raises(institutes.MergeRefused, match="itself"):
        institutes.merge(duplicate, duplicate, by=officer)
    with pytest.raises(institutes.MergeRefused, match="confirm"):
        institutes.merge(lead, duplicate, by=officer)
    other = tenants.add_institute(by=officer, verified=False, name="Another one",
                                  country_code="KZ")
    db.session.flush()
    with pytest.raises(institutes.MergeRefused, match="confirmed institute"):
        institutes.merge(duplicate, other, by=officer)


def test_a_duplicate_elsewhere_in_a_consortium_takes_its_place(in_tenant: World) -> None:
    """A proposal naming only the duplicate gets the existing institute in the same role."""
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    officer = db.session.get(User, in_tenant.a.user_ids[Role.officer])
    proposal = proposals.start_proposal(db.session.get(Proposal, in_tenant.a.ids[
        "proposal_id"]).call, by=applicant)
    duplicate = tenants.add_institute(by=applicant, verified=False,
                                      name="Inst. of Botany alpha", country_code="AM")
    db.session.flush()
    proposals.add_partner(proposal, duplicate, lead=True, by=applicant)
    botany = db.session.get(Institute, in_tenant.a.institute_ids[1])
    assert [m.institute.id for m in institutes.likely_matches(
        duplicate, tenants.institutes(verified_only=True))][:1] == [botany.id]
    institutes.merge(duplicate, botany, by=officer)
    assert [(p.institute_id, p.is_lead) for p in proposal.partners] == [(botany.id, True)]
