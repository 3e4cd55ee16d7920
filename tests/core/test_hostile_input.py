"""Numbers no page would send, in URL parts, query strings and hidden fields, are answered
with a clear 4xx (or simply the first page), never a server error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from center.core.db import db, tenant_scope
from center.tenants.models import Institute
from tests.world import World

HUGE = "9" * 30


@pytest.mark.parametrize("path", [
    "/proposals/{huge}", "/proposals/{huge}/preview", "/proposals/{huge}/files/1",
    "/proposals/{pid}/files/{huge}", "/calls/{huge}", "/screening/{huge}",
    "/proposals/2147483648",
])
def test_a_huge_id_in_the_url_is_not_found(client, world: World, login, path: str) -> None:
    login(world.a.emails["officer"])
    url = f"/{world.a.slug}" + path.format(huge=HUGE, pid=world.a.ids["proposal_id"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("query", [f"page={HUGE}", "page=-5", "page=abc", f"per_page={HUGE}",
                                   "page=2147483648&per_page=1"])
def test_list_pages_take_any_page_number(client, world: World, login, query: str) -> None:
    login(world.a.emails["officer"])
    for path in ("/proposals/all", "/admin/institutes", "/calls/", "/agreements/"):
        response = client.get(f"/{world.a.slug}{path}?{query}")
        assert response.status_code in (200, 404), (path, query, response.status_code)


@pytest.mark.parametrize("version", ["abc", HUGE, "-1", "1e9", "٣", "Infinity", ""])
def test_a_damaged_hidden_version_is_refused(app, client, world: World, login,
                                             version: str) -> None:
    login(world.a.emails["applicant"])
    response = client.post(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/do/withdraw",
                           data={"version": version})
    assert response.status_code == 400


def test_a_huge_row_number_when_opening_a_row_is_not_found(client, world, login) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/team?item={HUGE}"
    assert client.get(url).status_code in (200, 404)


def test_an_institute_listed_twice_is_refused_next_to_its_name(app, client, world,
                                                               login) -> None:
    login(world.a.emails["officer"])
    with app.app_context(), tenant_scope(world.a.tenant_id):
        existing = db.session.get(Institute, world.a.institute_ids[0])
        name, country = existing.name, existing.country_code
    response = client.post(f"/{world.a.slug}/admin/institutes", data={
        "name": "  " + name.upper().replace(" ", "  ") + " ", "country_code": country,
        "city": "Almaty", "kind": "institute"})
    assert response.status_code == 422
    assert "is already listed in this country" in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Institute).where(
            Institute.country_code == country, func.lower(Institute.name) == name.lower())) == 1
