"""A concurrence official sees their own government's request only: in the list, on the
request page and in the proposal's concurrence panel; another country's request is 404."""

from __future__ import annotations

import re

from flask import Flask
from flask_login import login_user
from sqlalchemy import select

from center.auth.models import User
from center.core.db import db, tenant_scope
from center.proposals.models import Proposal, ProposalStatus
from center.screening import services
from center.screening.models import ConcurrenceRequest
from center.screening.views import screening_panel
from center.tenants.models import Role
from tests.screening.test_views import _read, _setup
from tests.world import World

S = ProposalStatus
ARMENIAN_COMMENT = "The Armenian ministry agrees, with a note for the centre."


def _armenia_concurs(app: Flask, world: World, pid: int) -> tuple[int, int]:
    """Armenia's official concurs with a comment; return the (KZ, AM) request ids."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        by_country = {r.country_code: r for r in services.requests_of(
            db.session.get(Proposal, pid))}
        minister = db.session.scalar(select(User).where(
            User.email == "minister.am@alpha.example"))
        services.concur(by_country["AM"], by=minister, comment=ARMENIAN_COMMENT,
                        expected_version=by_country["AM"].version)
        db.session.commit()
        ids = by_country["KZ"].id, by_country["AM"].id
        db.session.remove()
    return ids


def test_an_official_lists_and_reads_only_their_own_governments_request(
        app, client, world, login) -> None:
    pid = _setup(app, world, state=S.concurrence, official_am=True)
    kz, am = _armenia_concurs(app, world, pid)
    login(world.a.emails[Role.concurrence])
    listing = client.get(f"/{world.a.slug}/concurrence/").get_data(as_text=True)
    assert f"/concurrence/{kz}" in listing and f"/concurrence/{am}" not in listing
    assert "Armenia" not in listing and ARMENIAN_COMMENT not in listing
    page = client.get(f"/{world.a.slug}/concurrence/{kz}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Answer for Kazakhstan" in html
    assert "Other countries asked" not in html  # the consortium still names Armenia
    assert ARMENIAN_COMMENT not in html


def test_another_governments_request_is_not_found_by_url(app, client, world, login) -> None:
    pid = _setup(app, world, state=S.concurrence, official_am=True)
    kz, am = _armenia_concurs(app, world, pid)
    login(world.a.emails[Role.concurrence])
    url = f"/{world.a.slug}/concurrence/{am}"
    assert client.get(url).status_code == 404
    page = client.get(f"/{world.a.slug}/concurrence/{kz}").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    assert client.post(url, data={"version": version, "decision": "object",
                                  "comment": "Overruled."}).status_code == 404
    decided = _read(app, world, lambda: db.session.get(ConcurrenceRequest, am).comment)
    assert decided == ARMENIAN_COMMENT


def _panel_countries(app: Flask, world: World, pid: int, email: str) -> list[str]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        user = db.session.scalar(select(User).where(User.email == email))
        with app.test_request_context(f"/{world.a.slug}/dashboard"):
            login_user(user)
            app.preprocess_request()
            panel = screening_panel(db.session.get(Proposal, pid))
            found = [r.country_code for r in panel["requests"]]
            summary = panel["summary"]
        db.session.remove()
    assert summary["consented"] + summary["open"] + summary["objected"] == len(found)
    return found


def test_the_proposal_panel_shows_an_official_their_own_country_and_others_every_country(
        app, world) -> None:
    pid = _setup(app, world, state=S.concurrence, official_am=True)
    _armenia_concurs(app, world, pid)
    assert _panel_countries(app, world, pid, world.a.emails[Role.concurrence]) == ["KZ"]
    assert _panel_countries(app, world, pid, "minister.am@alpha.example") == ["AM"]
    for role in (Role.officer, Role.admin, Role.applicant):
        assert _panel_countries(app, world, pid, world.a.emails[role]) == ["AM", "KZ"]
