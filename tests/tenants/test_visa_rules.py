"""Visa rules as data: the shipped regimes, the precedence, the administrator's page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals import services as proposals
from center.proposals.models import Proposal, Trip
from center.tenants import services as tenants
from center.tenants import visas
from center.tenants.models import Role, VisaRegime, VisaRegimeKind, VisaRule
from tests.world import World

SOURCE = {"source": "Treaty of tests, article 1", "source_date": "2026-01-15"}


@pytest.fixture()
def shipped(in_tenant: World) -> World:
    """Tenant A with the portal's shipped rules loaded (the world starts without them)."""
    visas.load_shipped_rules(by=None)
    db.session.flush()
    return in_tenant


def test_a_new_center_gets_the_shipped_rules_with_their_sources(app, world: World) -> None:
    with app.app_context():
        platform = db.session.scalar(select(User).where(User.email == world.platform_admin))
        tenant = tenants.create_tenant(slug="gamma", name="Center Gamma", short_name="G",
                                       currency="EUR", by=platform)
        with tenant_scope(tenant.id):
            names = {r.name: r for r in visas.regimes()}
            shipped = visas.shipped_rules()
            assert set(names) == {r["name"] for r in shipped["regimes"]}
            eaeu = names["Eurasian Economic Union"]
            assert eaeu.codes("member") == ["AM", "BY", "KG", "KZ", "RU"]
            assert eaeu.source.startswith("Treaty on the Eurasian Economic Union")
            assert eaeu.source_date == dt.date(2015, 1, 1)
            assert all(r.source and r.source_date for r in names.values())
            assert len(visas.pair_rules()) == len(shipped["pairs"])
            assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "visa_rules.loaded")) == 1
            # Loading again adds nothing and keeps what the center edited.
            eaeu.source = "Edited by the center"
            assert visas.load_shipped_rules(by=platform) == 0
            assert eaeu.source == "Edited by the center"
        db.session.rollback()


@pytest.mark.parametrize(("citizenship", "destination", "visa", "letter", "basis"), [
    ("KZ", "KZ", False, False, "domestic"),      # same country: nothing
    ("KZ", "RU", False, False, "regime"),        # EAEU (and CIS)
    ("AM", "KG", False, False, "regime"),        # EAEU
    ("TJ", "UZ", False, False, "regime"),        # CIS only
    ("DE", "FR", False, False, "regime"),        # Schengen area
    ("RU", "KR", False, False, "regime"),        # Korea's waiver lists Russia
    ("KZ", "KR", False, True, "pair"),           # the world's KZ -> KR rule beats the waiver
    ("KR", "DE", False, False, "regime"),        # Schengen Annex II lists Korea
    ("JP", "GE", False, False, "regime"),        # Georgia's visa-free regime
    ("RU", "AZ", False, False, "pair"),          # a shipped pair rule
    ("UZ", "KR", True, True, "default"),         # Korea does not list Uzbekistan
    ("KR", "KZ", True, True, "default"),         # a waiver is one-sided
    ("KZ", "DE", True, True, "default"),         # Kazakhs need a Schengen visa
    ("MN", "JP", True, True, "default"),         # nothing covers it: the safe default
])
def test_the_shipped_rules_decide_what_a_trip_needs(shipped, citizenship, destination, visa,
                                                    letter, basis) -> None:
    need = visas.visa_needs(citizenship, destination)
    assert (need.visa, need.invitation, need.basis) == (visa, letter, basis)


def test_a_pair_rule_overrides_a_bloc(shipped) -> None:
    assert visas.visa_needs("KZ", "RU").basis == "regime"
    tenants.set_visa_rule("KZ", "RU", visa_required=True, invitation_required=True, by=None)
    need = visas.visa_needs("KZ", "RU")
    assert (need.visa, need.invitation, need.basis) == (True, True, "pair")
    assert visas.visa_needs("RU", "KZ").visa is False  # the other direction keeps the bloc


def test_a_regime_that_asks_for_letters_asks_only_when_every_covering_regime_does(
        shipped) -> None:
    eaeu = next(r for r in visas.regimes() if r.name == "Eurasian Economic Union")
    eaeu.invitation_required = True
    # KZ -> RU is also under the CIS regime, which asks for no letter.
    assert visas.visa_needs("KZ", "RU").invitation is False
    cis = next(r for r in visas.regimes() if r.name == "CIS visa-free movement")
    cis.invitation_required = True
    need = visas.visa_needs("KZ", "RU")
    assert (need.visa, need.invitation) == (False, True)


def test_without_any_rule_a_trip_needs_a_visa_and_a_letter(in_tenant: World) -> None:
    for regime in visas.regimes():
        db.session.delete(regime)
    need = visas.visa_needs("KZ", "RU")
    assert (need.visa, need.invitation, need.basis) == (True, True, "default")


def test_the_admin_page_lists_blocs_and_pairs_with_source_and_date(app, client, world,
                                                                   login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        visas.load_shipped_rules(by=None)
        db.session.commit()
    login(world.a.emails["admin"])
    response = client.get(f"/{world.a.slug}/admin/visa-rules")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Eurasian Economic Union" in html and "Treaty on the Eurasian Economic Union" in html
    assert "Jan 1, 2015" in html and "Republic of Korea visa-free entry" in html
    assert "Agreement between the Russian Federation and the Republic of Azerbaijan" in html
    check = client.get(f"/{world.a.slug}/admin/visa-rules?from=KZ&to=KR").get_data(as_text=True)
    assert "No visa" in check and "Republic of Korea visa-free entry" in check


def test_an_admin_adds_a_bloc_and_its_trips_follow(app, client, world: World, login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        trip_id = _trip(world, citizenship="KZ", destination="AM").id
        db.session.commit()
    login(world.a.emails["admin"])
    response = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/new", data={
        "name": "Caucasus–Central Asia science mobility", "kind": "bloc",
        "member": "kz, AM  KG", **SOURCE})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        regime = db.session.scalar(select(VisaRegime).where(
            VisaRegime.name == "Caucasus–Central Asia science mobility"))
        assert (regime.kind, regime.codes("member")) == (VisaRegimeKind.bloc, ["AM", "KG", "KZ"])
        assert regime.source_date == dt.date(2026, 1, 15)
        trip = db.session.get(Trip, trip_id)
        assert (trip.visa_needed, trip.invitation_needed) == (False, False)
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "visa_regime.saved", AuditEvent.object_id == regime.id))
        assert event.details["added"] == ["member:AM", "member:KG", "member:KZ"]
        regime_id, version = regime.id, regime.version
    # Removing Armenia from the bloc brings the visa back.
    client.post(f"/{world.a.slug}/admin/visa-rules/regimes/{regime_id}", data={
        "name": "Caucasus–Central Asia science mobility", "kind": "bloc",
        "member": "KZ KG", "version": version, **SOURCE})
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(VisaRegime, regime_id).codes("member") == ["KG", "KZ"]
        trip = db.session.get(Trip, trip_id)
        assert (trip.visa_needed, trip.invitation_needed) == (True, True)


def test_unknown_codes_are_refused_next_to_the_field_keeping_the_input(app, client, world,
                                                                       login) -> None:
    login(world.a.emails["admin"])
    response = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/new", data={
        "name": "Typo bloc", "kind": "bloc", "member": "KZ XX Россия", **SOURCE})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="member-error"' in html and "XX, РОССИЯ are not ISO 3166 country codes" in html
    assert "KZ XX Россия" in html and "Typo bloc" in html
    lonely = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/new", data={
        "name": "Lonely", "kind": "bloc", "member": "KZ", **SOURCE}).get_data(as_text=True)
    assert 'id="member-error"' in lonely and "at least two members" in lonely
    waiver = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/new", data={
        "name": "No destination", "kind": "waiver", "nationality": "KZ", **SOURCE})
    assert 'id="destination-error"' in waiver.get_data(as_text=True)
    undated = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/new", data={
        "name": "Undated", "kind": "bloc", "member": "KZ AM", "source": ""})
    assert 'id="source-error"' in undated.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert [r.name for r in visas.regimes()] == ["Test bloc"]  # the world's, nothing new


def test_a_regime_changed_meanwhile_is_not_overwritten(app, client, world: World,
                                                       login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        regime = visas.save_regime(name="Bloc", kind=VisaRegimeKind.bloc,
                                   countries={"member": ["KZ", "AM"]}, by=None)
        db.session.commit()
        regime_id, opened_at = regime.id, regime.version
        visas.save_regime(name="Bloc", kind=VisaRegimeKind.bloc,
                          countries={"member": ["KZ", "AM", "KG"]}, regime=regime, by=None)
        db.session.commit()
    login(world.a.emails["admin"])
    response = client.post(f"/{world.a.slug}/admin/visa-rules/regimes/{regime_id}", data={
        "name": "Bloc", "kind": "bloc", "member": "KZ", "version": opened_at, **SOURCE})
    assert "Someone changed this regime" in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(VisaRegime, regime_id).codes("member") == ["AM", "KG", "KZ"]


def test_an_admin_edits_and_removes_a_pair_rule(app, client, world: World, login) -> None:
    login(world.a.emails["admin"])
    rule_id = world.a.ids["rule_id"]  # KZ -> KR in the world
    page = client.get(f"/{world.a.slug}/admin/visa-rules?rule={rule_id}").get_data(as_text=True)
    assert f'value="{rule_id}"' in page
    client.post(f"/{world.a.slug}/admin/visa-rules", data={
        "rule_id": rule_id, "citizenship": "KZ", "destination": "JP", "visa_required": "y",
        "invitation_required": "y", **SOURCE})
    with app.app_context(), tenant_scope(world.a.tenant_id):
        rule = db.session.get(VisaRule, rule_id)
        assert (rule.destination, rule.source) == ("JP", SOURCE["source"])
    client.post(f"/{world.a.slug}/admin/visa-rules/{rule_id}/delete")
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(VisaRule, rule_id) is None
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "visa_rule.deleted")) is not None


def test_the_shipped_rules_reach_a_center_that_lacks_them(app, client, world, login) -> None:
    login(world.a.emails["admin"])
    client.post(f"/{world.a.slug}/admin/visa-rules/load")
    with app.app_context(), tenant_scope(world.a.tenant_id):
        names = {r.name for r in visas.regimes()}
        assert names == {r["name"] for r in visas.shipped_rules()["regimes"]} | {"Test bloc"}


def _trip(world: World, *, citizenship: str, destination: str) -> Trip:
    applicant = db.session.get(User, world.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
    member = proposals.add_team_member(proposal, by=applicant, name="Traveller",
                                       role="scientist", institute_id=world.a.institute_ids[0],
                                       citizenship=citizenship)
    return proposals.add_trip(proposal, by=applicant, traveller=member,
                              origin_country=citizenship, destination_country=destination,
                              depart_on=dt.date(2027, 4, 1), return_on=dt.date(2027, 4, 9),
                              purpose="Workshop")
