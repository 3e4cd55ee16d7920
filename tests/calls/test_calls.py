"""Calls: officers write and edit them, anyone browses them, edits never overwrite each other."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from center.auth.models import User
from center.calls import services
from center.calls.models import Call
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.tenants import services as tenants
from center.tenants.models import Tenant
from tests.world import World

UTC = dt.UTC
#: The moment "now" for tests that depend on a call's state.
NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def frozen() -> Iterator[dt.datetime]:
    with clock.frozen_at(NOW):
        yield NOW


def form_data(world: World, **changes: Any) -> dict[str, Any]:
    """A valid call form for tenant A, with ``changes`` applied (None removes a field)."""
    d1, d2 = world.a.donor_ids
    data: dict[str, Any] = {
        "title": "Clean water for Central Asia",
        "description": "Research on water treatment.\n\nJoint projects only.",
        "topics": "Water treatment\nMembrane materials\n\nWater treatment",
        "eligible_countries": ["KZ", "AM"],
        "opens_at": "2026-03-01T09:00",
        "closes_at": "2026-06-01T18:00",
        "budget_ceiling": "150,000.50",
        "max_duration_months": "24",
        "overhead_cap_percent": "10",
        "required_attachments": ["cv", "ethics"],
        "review_mode": "double_blind",
        "rubric": "Scientific merit | 60 | 5\nRelevance to the call | 40 | 5",
        f"offer_{d1}": "500000",
        f"offer_{d2}": "",
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def set_zone(app, side, zone: str) -> None:  # noqa: ANN001
    with app.app_context():
        db.session.get(Tenant, side.tenant_id).timezone = zone
        db.session.commit()


def make_call(app, side, title: str, opens_at: dt.datetime, closes_at: dt.datetime,  # noqa: ANN001
              **fields: Any) -> int:
    """Create a call in ``side`` through the service and return its id."""
    with app.app_context(), tenant_scope(side.tenant_id):
        officer = db.session.get(User, side.user_ids["officer"])
        call = services.create_call(
            by=officer, offers={side.donor_ids[0]: 10_000_000},
            **{"title": title, "opens_at": opens_at, "closes_at": closes_at,
               "budget_ceiling": 5_000_000, "eligible_countries": [],
               "rubric": [{"name": "Merit", "weight": 100, "scale": 5}], **fields})
        db.session.commit()
        return call.id


def load_call(app, side, call_id: int) -> Call:  # noqa: ANN001
    with app.app_context(), tenant_scope(side.tenant_id):
        call = db.session.get(Call, call_id)
        call.donors  # noqa: B018  (load before the session closes)
        db.session.expunge_all()
        return call


def new_calls(app, side) -> list[Call]:  # noqa: ANN001
    """Return the calls of ``side`` other than the ones the world starts with."""
    known = [*side.world_call_ids, side.ids.get("agreements_call_id", 0)]
    with app.app_context(), tenant_scope(side.tenant_id):
        return list(db.session.scalars(select(Call).where(Call.id.not_in(known))))


def empty_tenant(app) -> str:  # noqa: ANN001
    """Add a center with no calls at all and return its address name."""
    with app.app_context():
        tenants.create_tenant(slug="gamma", name="Center GAMMA", short_name="gamma",
                              currency="EUR", by=None)
        db.session.commit()
    return "gamma"


def audit_actions(app, side, call_id: int) -> list[tuple[str, int | None]]:  # noqa: ANN001
    with app.app_context(), tenant_scope(side.tenant_id):
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "Call", AuditEvent.object_id == call_id
        ).order_by(AuditEvent.id))
        return [(e.action, e.actor_id) for e in events]


def error_text(page: str, field_id: str) -> str:
    """Return the error shown next to a field (its ``<id>-error`` element), or ''."""
    match = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</p>', page, re.S)
    return html_lib.unescape(match.group(1)) if match else ""


def hidden_version(page: str) -> str:
    return re.search(r'name="version"[^>]*value="(\d*)"|value="(\d*)"[^>]*name="version"',
                     page).group(1) or ""


# Creating ------------------------------------------------------------------------------------

def test_an_officer_creates_a_call_stored_in_utc_and_minor_units(app, world: World,
                                                                 login) -> None:
    set_zone(app, world.a, "Asia/Almaty")  # UTC+5 all year
    client = login(world.a.emails["officer"])
    response = client.post(f"/{world.a.slug}/calls/new", data=form_data(world))
    assert response.status_code == 302, error_text(response.get_data(as_text=True), "offers")
    [call] = new_calls(app, world.a)
    assert response.headers["Location"] == f"/{world.a.slug}/calls/{call.id}"
    assert call.opens_at == dt.datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    assert call.closes_at == dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert call.budget_ceiling == 15_000_050
    assert call.topics == ["Water treatment", "Membrane materials"]
    assert sorted(call.eligible_countries) == ["AM", "KZ"]
    assert call.required_attachments == ["cv", "ethics"]
    assert call.review_mode == "double_blind"
    assert call.rubric == [{"name": "Scientific merit", "weight": 60, "scale": 5},
                           {"name": "Relevance to the call", "weight": 40, "scale": 5}]
    assert (call.max_duration_months, call.overhead_cap_percent) == (24, 10)
    call = load_call(app, world.a, call.id)
    assert {(d.donor_id, d.offered) for d in call.donors} == {(world.a.donor_ids[0], 50_000_000)}
    assert audit_actions(app, world.a, call.id) == [
        ("call.created", world.a.user_ids["officer"])]


def test_the_form_says_which_zone_its_times_are_in(app, world: World, login) -> None:
    set_zone(app, world.a, "Asia/Almaty")
    page = login(world.a.emails["officer"]).get(f"/{world.a.slug}/calls/new")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'type="datetime-local"' in text and "Time in Asia/Almaty" in text


def test_amounts_are_read_in_the_interface_language(app, world: World, login) -> None:
    client = login(world.a.emails["officer"])
    response = client.post(f"/{world.a.slug}/calls/new", headers={"Accept-Language": "ru"},
                           data=form_data(world, budget_ceiling="150 000,50"))
    assert response.status_code == 302
    assert new_calls(app, world.a)[0].budget_ceiling == 15_000_050


def test_a_stored_amount_is_shown_in_the_language_and_saves_back_unchanged(
        app, world: World, login) -> None:
    call_id = make_call(app, world.a, "Water", NOW, NOW + dt.timedelta(days=30),
                        budget_ceiling=15_000_050)
    client = login(world.a.emails["officer"])
    page = client.get(f"/{world.a.slug}/calls/{call_id}/edit",
                      headers={"Accept-Language": "ru"}).get_data(as_text=True)
    [ceiling] = re.findall(r'<input[^>]*name="budget_ceiling"[^>]*>', page)
    assert 'type="text"' in ceiling and 'inputmode="decimal"' in ceiling
    assert 'value="150\u00a0000,50"' in ceiling
    d1 = world.a.donor_ids[0]
    assert re.search(rf'name="offer_{d1}"[^>]*value="100\u00a0000,00"', page)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        created = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "call.created", AuditEvent.object_id == call_id))
        assert (created.details["currency"], created.details["budget_ceiling"]) == (
            "EUR", 15_000_050)


@pytest.mark.parametrize(("changes", "field_id", "message"), [
    ({"closes_at": "2026-02-01T09:00"}, "closes_at", "must close after it opens"),
    ({"rubric": "Merit | 50 | 5\nRelevance | 40 | 5"}, "rubric",
     "The weights add up to 90; they must add up to 100."),
    ({"rubric": "Merit | 60 | 5\nRelevance 40 5"}, "rubric", "Line 2, “Relevance 40 5”"),
    ({"rubric": "Merit | 60 | 5\nRelevance | forty | 5"}, "rubric", "Line 2"),
    ({"budget_ceiling": "1000.505"}, "budget_ceiling", "EUR amounts have at most 2 decimals."),
    ({"budget_ceiling": "0"}, "budget_ceiling", "above zero"),
    ({"budget_ceiling": "a lot"}, "budget_ceiling", "Enter the amount in digits"),
    ({"offer_D1": ""}, "offers", "at least one donor"),
    ({"offer_D1": "12.3456"}, "offer_D1", "at most 2 decimals"),
    ({"budget_ceiling": "Infinity"}, "budget_ceiling", "Enter the amount in digits"),
    ({"budget_ceiling": "NaN"}, "budget_ceiling", "Enter the amount in digits"),
    ({"budget_ceiling": "1e999"}, "budget_ceiling", "Enter the amount in digits"),
    ({"budget_ceiling": "9" * 400}, "budget_ceiling", "Enter at most"),
    ({"budget_ceiling": "1000000000001"}, "budget_ceiling", "Enter at most"),
    ({"budget_ceiling": "150.000"}, "budget_ceiling", "could mean 150,000.00 or 150.00"),
    ({"offer_D1": "Infinity"}, "offer_D1", "Enter the amount in digits"),
    ({"offer_D1": "-500"}, "offer_D1", "zero or more"),
    ({"offer_D1": "9" * 400}, "offer_D1", "Enter at most"),
    ({"eligible_countries": None}, "eligible_countries", "at least one country"),
    ({"max_duration_months": "61"}, "max_duration_months", "60"),
    ({"overhead_cap_percent": "101"}, "overhead_cap_percent", "100"),
    ({"title": ""}, "title", "required"),
])
def test_each_rule_is_explained_next_to_its_field_and_nothing_is_stored(
        app, world: World, login, changes: dict[str, Any], field_id: str, message: str) -> None:
    d1 = world.a.donor_ids[0]
    changes = {k.replace("D1", str(d1)): v for k, v in changes.items()}
    field_id = field_id.replace("D1", str(d1))
    response = login(world.a.emails["officer"]).post(f"/{world.a.slug}/calls/new",
                                                     data=form_data(world, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in error_text(page, field_id), page[:3000]
    assert 'value="Clean water for Central Asia"' in page or field_id == "title"
    assert new_calls(app, world.a) == []


# Editing and optimistic locking ----------------------------------------------------------

def test_an_officer_edits_a_call_and_the_edit_is_audited(app, world: World, login) -> None:
    call_id = make_call(app, world.a, "Old title", NOW, NOW + dt.timedelta(days=30))
    client = login(world.a.emails["officer"])
    page = client.get(f"/{world.a.slug}/calls/{call_id}/edit").get_data(as_text=True)
    assert hidden_version(page) == "1" and 'value="Old title"' in page
    response = client.post(f"/{world.a.slug}/calls/{call_id}/edit",
                           data=form_data(world, title="New title", version="1"))
    assert response.status_code == 302
    call = load_call(app, world.a, call_id)
    assert call.title == "New title" and call.version == 2
    assert audit_actions(app, world.a, call_id) == [
        ("call.created", world.a.user_ids["officer"]),
        ("call.updated", world.a.user_ids["officer"])]


def test_a_second_edit_of_the_same_version_is_refused_and_keeps_what_was_typed(
        app, world: World, login) -> None:
    call_id = make_call(app, world.a, "Original", NOW, NOW + dt.timedelta(days=30))
    client = login(world.a.emails["officer"])
    url = f"/{world.a.slug}/calls/{call_id}/edit"
    first = client.post(url, data=form_data(world, title="First edit", version="1"))
    assert first.status_code == 302
    second = client.post(url, data=form_data(world, title="Second edit", version="1"))
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else saved this call after you opened it" in page
    assert 'value="Second edit"' in page
    assert hidden_version(page) == "2"  # saving again knowingly replaces the first edit
    assert load_call(app, world.a, call_id).title == "First edit"
    assert [a for a, _ in audit_actions(app, world.a, call_id)].count("call.updated") == 1


def test_changing_only_the_donors_still_moves_the_version_on(app, world: World, login) -> None:
    call_id = make_call(app, world.a, "Clean water for Central Asia", NOW,
                        NOW + dt.timedelta(days=30))
    client = login(world.a.emails["officer"])
    url = f"/{world.a.slug}/calls/{call_id}/edit"
    assert client.post(url, data=form_data(world, version="1")).status_code == 302
    assert load_call(app, world.a, call_id).version == 2
    d2 = world.a.donor_ids[1]
    assert client.post(url, data=form_data(world, version="2",
                                           **{f"offer_{d2}": "1000"})).status_code == 302
    call = load_call(app, world.a, call_id)
    assert call.version == 3
    assert {d.donor_id: d.offered for d in call.donors} == {
        world.a.donor_ids[0]: 50_000_000, d2: 100_000}
    stale = client.post(url, data=form_data(world, version="2", title="Stale"))
    assert stale.status_code == 409


def test_set_call_donors_adds_changes_removes_and_refuses_other_tenants_donors(
        app, world: World) -> None:
    call_id = make_call(app, world.a, "Donors", NOW, NOW + dt.timedelta(days=30))
    d1, d2 = world.a.donor_ids
    with app.app_context(), tenant_scope(world.a.tenant_id):
        officer = db.session.get(User, world.a.user_ids["officer"])
        call = db.session.get(Call, call_id)
        services.set_call_donors(call, {d2: 700}, by=officer)
        db.session.commit()
        assert {d.donor_id: d.offered for d in call.donors} == {d2: 700}
        assert call.version == 2
        with pytest.raises(ValueError, match="unknown donors"):
            services.set_call_donors(call, {world.b.donor_ids[0]: 5}, by=officer)
        db.session.rollback()
    assert ("call.donors_set", world.a.user_ids["officer"]) in audit_actions(app, world.a,
                                                                              call_id)
    assert d1 not in {d.donor_id for d in load_call(app, world.a, call_id).donors}


def test_update_call_refuses_a_stale_version(app, world: World) -> None:
    call_id = make_call(app, world.a, "Locked", NOW, NOW + dt.timedelta(days=30))
    with app.app_context(), tenant_scope(world.a.tenant_id):
        officer = db.session.get(User, world.a.user_ids["officer"])
        call = db.session.get(Call, call_id)
        with pytest.raises(services.StaleEdit):
            services.update_call(call, by=officer, expected_version=7, title="Never")
        assert call.title == "Locked"


# Access --------------------------------------------------------------------------------------

def test_an_applicant_may_not_write_calls(world: World, login) -> None:
    client = login(world.a.emails["applicant"])
    assert client.get(f"/{world.a.slug}/calls/new").status_code == 403
    assert client.post(f"/{world.a.slug}/calls/new", data={"title": "x"}).status_code == 403


def test_a_member_of_another_tenant_gets_404_on_the_edit_page(app, world: World,
                                                               login) -> None:
    call_id = make_call(app, world.a, "Alpha only", NOW, NOW + dt.timedelta(days=30))
    client = login(world.b.emails["officer"])
    assert client.get(f"/{world.a.slug}/calls/{call_id}/edit").status_code == 404
    # and asking beta's own pages for alpha's call finds nothing either
    assert client.get(f"/{world.b.slug}/calls/{call_id}/edit").status_code == 404
    assert client.get(f"/{world.b.slug}/calls/{call_id}").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_for_the_form(client, world: World) -> None:
    response = client.get(f"/{world.a.slug}/calls/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# Browsing ----------------------------------------------------------------------------------

def test_anyone_lists_and_reads_an_open_call(app, client, world: World, frozen) -> None:
    call_id = make_call(app, world.a, "Open water call", NOW - dt.timedelta(days=1),
                        NOW + dt.timedelta(days=10), topics=["Membranes"],
                        eligible_countries=["KZ"], required_attachments=["cv"])
    listing = client.get(f"/{world.a.slug}/calls/")
    assert listing.status_code == 200
    assert "Open water call" in listing.get_data(as_text=True)
    response = client.get(f"/{world.a.slug}/calls/{call_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kazakhstan" in page and "Membranes" in page
    assert "€100,000.00" in page  # the donor's offer, in the tenant currency
    assert "Coordinated Universal Time" in page  # the viewer's zone, named
    assert "CVs of the principal investigators" in page
    if "proposals.start" in app.view_functions:
        assert f'href="/{world.a.slug}/proposals/new/{call_id}"' in page
    assert f"/{world.a.slug}/calls/{call_id}/edit" not in page


def test_the_description_keeps_its_paragraphs_and_is_escaped(app, world: World,
                                                             login) -> None:
    client = login(world.a.emails["officer"])
    response = client.post(f"/{world.a.slug}/calls/new", data=form_data(
        world, description="First <b>part</b>.\r\n\r\nSecond part."))
    [call] = new_calls(app, world.a)
    assert call.description == "First <b>part</b>.\n\nSecond part."
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<p>First &lt;b&gt;part&lt;/b&gt;.</p>" in page and "<p>Second part.</p>" in page


def test_a_closed_call_offers_no_apply_link(app, client, world: World, frozen) -> None:
    call_id = make_call(app, world.a, "Past call", NOW - dt.timedelta(days=60),
                        NOW - dt.timedelta(days=1))
    page = client.get(f"/{world.a.slug}/calls/{call_id}").get_data(as_text=True)
    assert "/proposals/new/" not in page and "This call closed on" in page


def test_the_list_filters_by_state_and_searches_titles(app, client, world: World,
                                                       frozen) -> None:
    day = dt.timedelta(days=1)
    make_call(app, world.a, "Water purification", NOW - day, NOW + 10 * day)
    make_call(app, world.a, "Seismic risk", NOW + 5 * day, NOW + 50 * day)
    make_call(app, world.a, "Water quality 2025", NOW - 90 * day, NOW - 30 * day)
    make_call(app, world.b, "Water in beta", NOW - day, NOW + 10 * day)

    def titles(query: str) -> set[str]:
        page = client.get(f"/{world.a.slug}/calls/{query}").get_data(as_text=True)
        return {t for t in ("Water purification", "Seismic risk", "Water quality 2025",
                            "Water in beta") if t in page}

    assert titles("") == {"Water purification", "Seismic risk", "Water quality 2025"}
    assert titles("?state=open") == {"Water purification"}
    assert titles("?state=upcoming") == {"Seismic risk"}
    assert titles("?state=closed") == {"Water quality 2025"}
    assert titles("?q=water") == {"Water purification", "Water quality 2025"}
    assert titles("?q=water&state=closed") == {"Water quality 2025"}
    assert titles("?state=nonsense") == titles("")
    empty = client.get(f"/{world.a.slug}/calls/?q=volcano").get_data(as_text=True)
    assert "No call matches your search." in empty


def test_a_tenant_without_calls_says_so(app, client, world: World) -> None:
    slug = empty_tenant(app)
    page = client.get(f"/{slug}/calls/").get_data(as_text=True)
    assert "This center has published no calls yet." in page
    assert "No call is open at the moment." in client.get(f"/{slug}/").get_data(as_text=True)


def test_the_home_page_shows_the_open_calls_with_their_donors(app, client, world: World,
                                                              frozen) -> None:
    make_call(app, world.a, "Open water call", NOW - dt.timedelta(days=1),
              NOW + dt.timedelta(days=10))
    make_call(app, world.a, "Future call", NOW + dt.timedelta(days=1),
              NOW + dt.timedelta(days=10))
    page = client.get(f"/{world.a.slug}/").get_data(as_text=True)
    assert "Open water call" in page and "Donor One of alpha" in page
    assert "Future call" not in page


def test_the_officer_dashboard_lists_calls_and_their_states(app, world: World, login,
                                                            frozen) -> None:
    make_call(app, world.a, "Open water call", NOW - dt.timedelta(days=1),
              NOW + dt.timedelta(days=10))
    page = login(world.a.emails["officer"]).get(f"/{world.a.slug}/dashboard")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Open water call" in text and "badge--open" in text
    assert f'href="/{world.a.slug}/calls/new"' in text
