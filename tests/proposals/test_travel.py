"""The travel plan: needs from the visa rules, impossible trips refused, passports flagged,
trip costs covered by the travel budget before submission."""

from __future__ import annotations

import datetime as dt

import pytest

from center.auth.models import User
from center.core import clock
from center.core.db import db, tenant_scope
from center.proposals import services, travel, workflow
from center.proposals.models import Proposal
from center.tenants import visas
from center.tenants.models import Role
from tests.proposals.test_proposals import _complete
from tests.world import World


@pytest.fixture()
def draft(in_tenant: World) -> tuple[Proposal, User]:
    """The world's proposal of tenant A, complete, with the shipped visa rules loaded."""
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, applicant, in_tenant.a)
    visas.load_shipped_rules(by=None)
    db.session.commit()
    return proposal, applicant


def _trip(proposal: Proposal, applicant: User, to: str, *, cost: int = 0,
          days: int = 7, depart: dt.date = dt.date(2027, 5, 3)):  # noqa: ANN202
    return services.add_trip(proposal, by=applicant, traveller=proposal.team[0],
                             origin_country="KZ", origin_city="Almaty", destination_country=to,
                             destination_city="", depart_on=depart,
                             return_on=depart + dt.timedelta(days=days), purpose="Workshop",
                             cost=cost)


def test_an_eaeu_trip_needs_neither_visa_nor_letter_and_a_trip_to_japan_needs_both(
        draft) -> None:
    proposal, applicant = draft
    to_armenia, to_japan, at_home = (_trip(proposal, applicant, to) for to in ("AM", "JP", "KZ"))
    assert (to_armenia.visa_needed, to_armenia.invitation_needed) == (False, False)
    assert (to_japan.visa_needed, to_japan.invitation_needed) == (True, True)
    assert (at_home.visa_needed, at_home.invitation_needed) == (False, False)


def test_the_travel_budget_must_cover_the_trips_before_submission(draft) -> None:
    proposal, applicant = draft
    _trip(proposal, applicant, "JP", cost=2_400_00)
    _trip(proposal, applicant, "AM", cost=900_00)
    db.session.commit()
    coverage = travel.travel_coverage(proposal)
    assert (coverage.trips, coverage.budget, coverage.shortfall) == (3_300_00, 0, 3_300_00)
    problems = [p for p in services.checklist(proposal) if p.section == "travel"]
    assert len(problems) == 1 and "€3,300.00" in problems[0].message
    with pytest.raises(workflow.GuardFailed, match="travel budget"):
        workflow.fire(proposal, "submit", by=applicant, roles=frozenset({Role.applicant}))
    db.session.rollback()

    d1 = proposal.call.donors[0].donor_id
    services.add_budget_line(proposal, by=applicant, category="travel",
                             description="Travel", amount=3_000_00, splits={d1: 3_000_00})
    assert travel.travel_coverage(proposal).shortfall == 300_00  # still short
    services.add_budget_line(proposal, by=applicant, category="travel",
                             description="More travel", amount=300_00, splits={d1: 300_00})
    assert [p for p in services.checklist(proposal) if p.section == "travel"] == []


def test_the_travel_editor_compares_costs_with_the_travel_budget(app, client, world,
                                                                 login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        _complete(proposal, applicant, world.a)
        _trip(proposal, applicant, "JP", cost=1_250_00)
        db.session.commit()
    login(world.a.emails["applicant"])
    html = client.get(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/travel"
                      ).get_data(as_text=True)
    assert "€1,250.00" in html and "short by €1,250.00" in html


def _form(world: World, **changes: str) -> dict[str, str]:
    with tenant_scope(world.a.tenant_id):
        pi = db.session.get(Proposal, world.a.ids["proposal_id"]).team[0]
    values = {"traveller_id": str(pi.id), "origin_country": "KZ", "origin_city": "Almaty",
              "destination_country": "JP", "destination_city": "Tokyo",
              "depart_on": "2027-05-03", "return_on": "2027-05-10",
              "purpose": "Typed purpose of the visit", "cost": "1200.00"}
    return {**values, **changes}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"depart_on": "2020-01-01", "return_on": "2020-01-05"}, "depart_on",
     "The departure is in the past."),
    ({"destination_country": "KZ", "destination_city": " almaty "}, "destination_city",
     "the destination is the place of departure"),
    ({"return_on": "2027-05-01"}, "return_on", "The return cannot be before the departure."),
    ({"cost": "12,5"}, "cost", "Group the digits by threes"),
    ({"cost": "99999999"}, "cost", "One trip costs at most"),
    ({"cost": "-5"}, "cost", "without a minus sign"),
    ({"cost": "10.555"}, "cost", "could mean"),
])
def test_an_impossible_trip_is_refused_next_to_the_field_keeping_the_input(
        app, client, world, login, changes, field, message) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        _complete(proposal, applicant, world.a)
        db.session.commit()
    login(world.a.emails["applicant"])
    with app.app_context():
        data = _form(world, **changes)
    response = client.post(
        f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/travel", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in html and message in html
    assert "Typed purpose of the visit" in html
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Proposal, world.a.ids["proposal_id"]).trips == []


def test_the_service_also_refuses_a_trip_in_the_past(draft) -> None:
    proposal, applicant = draft
    with pytest.raises(services.ProposalError, match="in the past"):
        _trip(proposal, applicant, "JP", depart=clock.now().date() - dt.timedelta(days=1))


@pytest.mark.parametrize(("expires", "flagged"), [
    (dt.date(2027, 5, 5), "before the return"),   # the trip returns on 10 May 2027
    (dt.date(2027, 9, 1), "less than 6 months"),
    (dt.date(2027, 11, 10), None),                 # exactly six months after the return
    (dt.date(2030, 1, 1), None),
])
def test_a_passport_that_does_not_last_the_trip_is_flagged(draft, expires, flagged) -> None:
    proposal, applicant = draft
    pi = proposal.team[0]
    pi.passport_number, pi.passport_expires_on = "N1234567", expires
    _trip(proposal, applicant, "JP")
    flags = travel.passport_flags(proposal)
    if flagged is None:
        assert flags == []
    else:
        assert len(flags) == 1 and flagged in flags[0].message


def test_a_trip_needing_a_letter_flags_a_missing_passport_number(draft) -> None:
    proposal, applicant = draft
    _trip(proposal, applicant, "AM")  # visa-free: no letter, nothing to flag
    assert travel.passport_flags(proposal) == []
    _trip(proposal, applicant, "JP")
    assert "passport number is missing" in travel.passport_flags(proposal)[0].message


def test_an_applicant_records_the_consular_data_of_a_team_member(app, client, world,
                                                                 login) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/team"
    member = {"name": "Aigerim Nurlanovna", "role": "principal_investigator",
              "institute_id": str(world.a.institute_ids[0]), "citizenship": "KZ",
              "position": "Head of the genomics laboratory", "date_of_birth": "1981-04-12",
              "passport_number": "N12345678", "passport_expires_on": "2031-02-28"}
    bad = client.post(url, data={**member, "passport_number": "№ 12/34",
                                 "date_of_birth": "2090-01-01"}).get_data(as_text=True)
    assert 'id="passport_number-error"' in bad and 'id="date_of_birth-error"' in bad
    assert "Head of the genomics laboratory" in bad
    assert client.post(url, data=member).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        pi = db.session.get(Proposal, world.a.ids["proposal_id"]).team[0]
        assert (pi.position, pi.date_of_birth, pi.passport_number, pi.passport_expires_on) == (
            "Head of the genomics laboratory", dt.date(1981, 4, 12), "N12345678",
            dt.date(2031, 2, 28))
        assert "passport" not in str(services.snapshot(pi.proposal)).lower()
