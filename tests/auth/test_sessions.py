"""Server-side sessions: revocable cookies, timeouts, password change, no caching."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from center.auth import services
from center.auth.models import User, UserSession
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import all_tenants, db
from config.settings import load_settings
from tests.world import PASSWORD, World

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _dashboard(client, world: World) -> int:  # noqa: ANN001
    return client.get(f"/{world.a.slug}/dashboard").status_code


def _signed_in_client(app, email: str, *, remember: bool = False):  # noqa: ANN001, ANN202
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    return client


def test_a_copied_session_cookie_dies_at_logout(app, world: World) -> None:
    browser = _signed_in_client(app, world.a.emails["officer"])
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert _dashboard(thief, world) == 200
    browser.post("/logout")
    assert _dashboard(thief, world) == 302
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        assert (row.revoked_reason, row.revoked_at is not None) == ("logout", True)


def test_the_session_cookie_holds_a_random_secret_not_the_password_hash(app, world) -> None:
    browser = _signed_in_client(app, world.a.emails["officer"])
    with browser.session_transaction() as sess:
        secret = sess["_user_id"]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["officer"]))
        assert user.password_hash[-12:] not in secret and str(user.id) != secret
        assert db.session.scalar(select(UserSession.secret_hash)) != secret  # stored hashed


def test_the_remember_cookie_is_revocable_and_same_site(app, world: World) -> None:
    browser = _signed_in_client(app, world.a.emails["officer"], remember=True)
    cookie = browser.get_cookie("remember_token")
    assert cookie is not None and cookie.same_site == "Lax" and cookie.http_only
    lifetime = cookie.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29) < lifetime <= dt.timedelta(days=30)
    # Only the remember cookie, as after the browser was closed.
    later = app.test_client()
    later.set_cookie("remember_token", cookie.value)
    assert _dashboard(later, world) == 200
    other = _signed_in_client(app, world.a.emails["officer"])
    assert other.post("/account/sessions/end-others").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert _dashboard(fresh, world) == 302
    assert _dashboard(other, world) == 200


def test_a_session_ends_after_the_idle_timeout(app, world: World) -> None:
    idle = app.config["SESSION_IDLE_SECONDS"]
    with clock.frozen_at(START):
        browser = _signed_in_client(app, world.a.emails["officer"])
        clock.advance(dt.timedelta(seconds=idle - 60))
        assert _dashboard(browser, world) == 200
        clock.advance(dt.timedelta(seconds=idle - 60))
        assert _dashboard(browser, world) == 200  # activity kept it alive
        clock.advance(dt.timedelta(seconds=idle + 1))
        assert _dashboard(browser, world) == 302


def test_a_busy_session_still_ends_at_the_absolute_timeout(app, world: World) -> None:
    limit = app.config["SESSION_MAX_SECONDS"]
    step = dt.timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] // 2)
    with clock.frozen_at(START):
        browser = _signed_in_client(app, world.a.emails["officer"])
        while clock.now() + step < START + dt.timedelta(seconds=limit):
            clock.advance(step)
            assert _dashboard(browser, world) == 200
        clock.advance(step + dt.timedelta(seconds=1))
        assert _dashboard(browser, world) == 302


def test_a_remembered_session_ends_after_its_lifetime(app, world: World) -> None:
    with clock.frozen_at(START):
        browser = _signed_in_client(app, world.a.emails["officer"], remember=True)
        cookie = browser.get_cookie("remember_token").value
        clock.advance(dt.timedelta(days=3))
        later = app.test_client()
        later.set_cookie("remember_token", cookie)
        assert _dashboard(later, world) == 200
        clock.advance(dt.timedelta(seconds=app.config["REMEMBER_SECONDS"]))
        gone = app.test_client()
        gone.set_cookie("remember_token", cookie)
        assert _dashboard(gone, world) == 302


def test_changing_the_password_ends_every_other_session(app, world: World) -> None:
    email = world.a.emails["officer"]
    here, elsewhere = _signed_in_client(app, email), _signed_in_client(app, email)
    response = here.post("/account/password", data={
        "current": PASSWORD, "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert _dashboard(here, world) == 200
    assert _dashboard(elsewhere, world) == 302
    assert app.test_client().post("/login", data={
        "email": email, "password": "a brand new passphrase"}).status_code == 302
    with app.app_context(), all_tenants():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"user.password_changed", "user.sessions_revoked"} <= actions


def test_a_password_change_needs_the_current_password_and_refuses_common_ones(
        app, world: World) -> None:
    browser = _signed_in_client(app, world.a.emails["officer"])
    wrong = browser.post("/account/password", data={
        "current": "not my password", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert wrong.status_code == 422
    assert 'id="current-error"' in wrong.get_data(as_text=True)
    common = browser.post("/account/password", data={
        "current": PASSWORD, "password": "qwertyuiop", "confirm": "qwertyuiop"})
    assert common.status_code == 422
    assert "most commonly used" in common.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["officer"]))
        assert services.verify_password(user, PASSWORD)


def test_a_password_reset_ends_every_session(app, world: World) -> None:
    email = world.a.emails["applicant"]
    browser = _signed_in_client(app, email)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        token = services.password_reset_token(user)
    response = app.test_client().post(f"/password/reset/{token}", data={
        "password": "brand new secret", "confirm": "brand new secret"})
    assert response.status_code == 302
    assert _dashboard(browser, world) == 302


def test_disabling_an_account_ends_its_sessions(app, world: World) -> None:
    browser = _signed_in_client(app, world.a.emails["officer"])
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["officer"]))
        admin = db.session.scalar(select(User).where(User.email == world.a.emails["admin"]))
        services.disable_account(user, by=admin)
        db.session.commit()
        assert db.session.scalar(select(UserSession.revoked_reason)) == "disabled"
    assert _dashboard(browser, world) == 302


def test_the_account_page_lists_sessions_and_signs_out_the_others(app, world) -> None:
    email = world.a.emails["officer"]
    elsewhere = app.test_client()
    elsewhere.post("/login", data={"email": email, "password": PASSWORD},
                   headers={"User-Agent": "Firefox on a shared computer"})
    here = _signed_in_client(app, email)
    page = here.get("/account").get_data(as_text=True)
    assert "Firefox on a shared computer" in page and "this browser" in page
    assert "Sign out everywhere else" in page
    here.post("/account/sessions/end-others")
    assert elsewhere.get(f"/{world.a.slug}/dashboard",
                         headers={"User-Agent": "Firefox on a shared computer"}
                         ).status_code == 302
    assert "Firefox on a shared computer" not in here.get("/account").get_data(as_text=True)


def test_the_csrf_token_rotates_at_sign_in(tmp_root, world: World) -> None:
    from center import create_app
    from tests.conftest import _test_settings

    strict = create_app(_test_settings(tmp_root, WTF_CSRF_ENABLED=True))
    client = strict.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    with client.session_transaction() as sess:
        before = sess["csrf_token"]
    client.post("/login", data={"email": world.a.emails["admin"], "password": PASSWORD,
                                "csrf_token": token})
    client.get("/account")
    with client.session_transaction() as sess:
        assert sess["csrf_token"] != before
    # A token from before sign-in no longer works for a signed-in form.
    response = client.post("/account", data={"name": "X", "locale": "", "timezone": "",
                                              "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    with strict.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["admin"]))
        assert user.name != "X"


def test_signed_in_pages_are_not_cached(app, client, world: World, login) -> None:
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(world.a.emails["officer"])
    assert client.get(f"/{world.a.slug}/dashboard").headers["Cache-Control"] == "no-store"
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_production_cookies_use_the_host_prefix_and_are_secure() -> None:
    settings = load_settings({"CENTER_ENV": "production", "SECRET_KEY": "k" * 40,
                              "DATABASE_URL": "postgresql+psycopg://center@db/center",
                              "STORAGE_URL": "s3://files/center", "REDIS_URL": "redis://r/0"})
    assert settings["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert settings["REMEMBER_COOKIE_NAME"].startswith("__Host-")
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_PATH"] == settings["REMEMBER_COOKIE_PATH"] == "/"
    assert settings["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert "SESSION_COOKIE_NAME" not in load_settings({"CENTER_ENV": "test"})
