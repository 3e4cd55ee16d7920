"""A government official answering a concurrence request never sees passports."""

from __future__ import annotations

import datetime as dt

from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from center.screening import services
from tests.world import World

PASSPORT = "K55501234"


def test_an_official_sees_the_team_without_passport_birth_date_or_position(
        app, client, login, in_concurrence: Proposal, in_tenant: World) -> None:
    pi = in_concurrence.team[0]
    pi.passport_number, pi.date_of_birth, pi.position = PASSPORT, dt.date(1980, 2, 29), "Dean"
    request_id = {r.country_code: r for r in services.requests_of(in_concurrence)}["KZ"].id
    name, proposal_id = pi.name, in_concurrence.id
    db.session.commit()
    world = in_tenant
    login(world.a.emails["concurrence"])
    page = client.get(f"/{world.a.slug}/concurrence/{request_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and name in html
    assert PASSPORT not in html and "1980-02-29" not in html and ">Dean<" not in html
    assert client.get(f"/{world.a.slug}/proposals/{proposal_id}").status_code == 403
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Proposal, proposal_id).team[0].passport_number == PASSPORT
