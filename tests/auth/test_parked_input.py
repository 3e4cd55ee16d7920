"""Parked input: kept only for a user's own expired session, bounded, never secrets."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from center import create_app
from center.core import clock
from center.core.db import db
from center.core.forms import PendingInput
from tests.conftest import _test_settings
from tests.world import PASSWORD, World

START = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
DONOR = {"name": "Typed before expiry", "short_name": "TBE", "kind": "foundation"}


def _same_origin(app) -> dict[str, str]:  # noqa: ANN001
    return {"Origin": app.config["PUBLIC_URL"]}


def _parked(app) -> list[PendingInput]:  # noqa: ANN001
    with app.app_context():
        rows = list(db.session.scalars(select(PendingInput).order_by(PendingInput.id)))
        db.session.expunge_all()
        return rows


def _expire(app) -> None:  # noqa: ANN001
    clock.advance(dt.timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] + 1))


def test_an_expired_session_keeps_what_was_typed(app, client, world: World, login) -> None:
    path = f"/{world.a.slug}/admin/donors"
    with clock.frozen_at(START):
        login(world.a.emails["admin"])
        _expire(app)
        response = client.post(path, data=DONOR, headers=_same_origin(app))
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        login(world.a.emails["admin"])
        page = client.get(path).get_data(as_text=True)
    assert 'value="Typed before expiry"' in page
    assert _parked(app) == []  # taken once, then forgotten


def test_a_post_without_a_session_parks_nothing(app, client, world: World) -> None:
    response = client.post(f"/{world.a.slug}/admin/donors", data={**DONOR, "name": "x" * 4000},
                           headers=_same_origin(app))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _parked(app) == []


def test_a_post_after_logout_parks_nothing(app, client, world: World, login) -> None:
    login(world.a.emails["admin"])
    with client.session_transaction() as sess:
        kept = dict(sess)
    client.post("/logout")
    with client.session_transaction() as sess:
        sess.update(kept)  # the old cookie, replayed
    client.post(f"/{world.a.slug}/admin/donors", data=DONOR, headers=_same_origin(app))
    assert _parked(app) == []


def test_parked_input_is_only_given_back_to_its_owner(app, client, world, login) -> None:
    path = f"/{world.a.slug}/admin/donors"
    with clock.frozen_at(START):
        login(world.a.emails["admin"])
        _expire(app)
        client.post(path, data=DONOR, headers=_same_origin(app))
        other = app.test_client()
        other.post("/login", data={"email": world.a.emails["officer"], "password": PASSWORD})
        other.post("/logout")
        # Someone else signing in on this browser does not get the admin's input.
        client.post("/login", data={"email": world.a.emails["officer"], "password": PASSWORD})
        assert "Typed before expiry" not in client.get(path).get_data(as_text=True)
    assert len(_parked(app)) == 1


def test_password_fields_and_credential_forms_are_never_parked(app, client, world, login) -> None:
    with clock.frozen_at(START):
        login(world.a.emails["admin"])
        _expire(app)
        client.post(f"/{world.a.slug}/admin/donors",
                    data={**DONOR, "password": "hunter2 hunter2", "new_password": "x",
                          "client_secret": "s"}, headers=_same_origin(app))
        _expire(app)
        client.post("/account/password", data={"current": PASSWORD, "password": "p" * 12,
                                                "confirm": "p" * 12}, headers=_same_origin(app))
    rows = _parked(app)
    assert [row.path for row in rows] == [f"/{world.a.slug}/admin/donors"]
    assert sorted(k for k, _v in rows[0].fields) == ["kind", "name", "short_name"]


def test_a_cross_site_post_is_never_parked(app, client, world: World, login) -> None:
    path = f"/{world.a.slug}/admin/donors"
    hostile = [{"Origin": "https://evil.example"},
               {"Referer": "https://evil.example/page"},
               {"Sec-Fetch-Site": "cross-site", "Origin": app.config["PUBLIC_URL"]},
               {"Sec-Fetch-Site": "same-site"},
               {"Origin": "null"},
               {}]
    with clock.frozen_at(START):
        login(world.a.emails["admin"])
        for headers in hostile:
            _expire(app)
            client.post(path, data=DONOR, headers=headers)
        assert _parked(app) == []
        _expire(app)
        client.post(path, data=DONOR, headers={"Sec-Fetch-Site": "same-origin"})
    assert len(_parked(app)) == 1


def test_parked_input_is_bounded_in_size_and_count(app, client, world: World, login) -> None:
    proposal = world.a.ids["proposal_id"]
    with clock.frozen_at(START):
        login(world.a.emails["applicant"])
        _expire(app)
        big = "x" * (app.config["PENDING_INPUT_MAX_BYTES"] + 1)
        client.post(f"/{world.a.slug}/proposals/{proposal}/edit/summary",
                    data={"abstract": big}, headers=_same_origin(app))
        assert _parked(app) == []
        for section in ("summary", "consortium", "team", "budget", "travel", "workplan",
                        "ip"):
            client.post(f"/{world.a.slug}/proposals/{proposal}/edit/{section}",
                        data={"abstract": "kept"}, headers=_same_origin(app))
    rows = _parked(app)
    assert len(rows) == app.config["PENDING_INPUT_MAX_PER_USER"]
    assert rows[-1].path.endswith("/ip")  # the newest are kept


def test_a_stale_csrf_token_keeps_what_was_typed(tmp_root, world: World) -> None:
    strict = create_app(_test_settings(tmp_root, WTF_CSRF_ENABLED=True))
    client = strict.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": world.a.emails["admin"], "password": PASSWORD,
                                "csrf_token": token})
    path = f"/{world.a.slug}/admin/donors"
    response = client.post(path, data={**DONOR, "name": "Kept despite CSRF",
                                       "csrf_token": "stale"}, headers=_same_origin(strict))
    assert response.status_code == 302
    assert 'value="Kept despite CSRF"' in client.get(path).get_data(as_text=True)
    # A credential form with a stale token keeps nothing.
    client.post("/account/password", data={"current": PASSWORD, "password": "p" * 12,
                                            "csrf_token": "stale"},
                headers=_same_origin(strict))
    with strict.app_context():
        assert db.session.scalar(select(func.count()).select_from(PendingInput)) == 0
