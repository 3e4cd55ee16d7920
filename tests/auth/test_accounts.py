"""Sign-in, password reset, language and time zone (registration, sessions, throttling and
parked input have their own files)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from center.auth.models import LoginAttempt, User
from center.core import clock
from center.core.db import db
from center.core.notifications import OutboxMessage
from tests.world import PASSWORD, World


def test_each_role_lands_on_its_dashboard(client, world: World, login) -> None:
    for role, email in world.a.emails.items():
        client.post("/logout")
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.headers["Location"] == f"/{world.a.slug}/dashboard", role
        page = client.get(f"/{world.a.slug}/dashboard")
        assert page.status_code == 200
        assert f'id="panel-{role}"' in page.get_data(as_text=True)


def test_wrong_password_is_refused_and_recorded(app, client, world: World) -> None:
    response = client.post("/login", data={"email": world.a.emails["officer"],
                                           "password": "wrong password"})
    assert response.status_code == 422
    assert "E-mail or password is wrong." in response.get_data(as_text=True)
    with app.app_context():
        attempt = db.session.scalar(select(LoginAttempt))
        assert attempt.succeeded is False


def test_sign_in_is_throttled_after_repeated_failures(app, client, world: World) -> None:
    email = world.a.emails["officer"]
    start = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    with clock.frozen_at(start):
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            client.post("/login", data={"email": email, "password": "wrong password"})
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert "Too many failed attempts" in response.get_data(as_text=True)
        clock.advance(dt.timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1))
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302


def test_password_reset_by_emailed_link(app, client, world: World) -> None:
    email = world.a.emails["applicant"]
    client.post("/password/forgot", data={"email": email})
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == email).order_by(OutboxMessage.id.desc()))
    link = re.search(r"http://[^\s]+/password/reset/(\S+)", body).group(0)
    path = urlsplit(link).path
    response = client.post(path, data={"password": "brand new secret", "confirm":
                                       "brand new secret"})
    assert response.status_code == 302
    assert response.status_code == 302
    assert client.post("/login", data={"email": email, "password": "brand new secret"}
                       ).status_code == 302
    # The link is used up: the password it was made for has changed.
    client.post("/logout")
    again = client.get(path)
    assert again.status_code == 302 and "forgot" in again.headers["Location"]


def test_password_reset_links_expire(app, client, world: World) -> None:
    email = world.a.emails["applicant"]
    client.post("/password/forgot", data={"email": email})
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == email).order_by(OutboxMessage.id.desc()))
    path = "/password/reset/" + body.split("/password/reset/")[1].split()[0]
    import itsdangerous.timed as timed

    real = timed.time.time
    try:
        timed.time.time = lambda: real() + app.config["PASSWORD_RESET_MAX_AGE"] + 5
        response = client.get(path)
    finally:
        timed.time.time = real
    assert response.status_code == 302 and "forgot" in response.headers["Location"]


def test_reset_request_for_unknown_address_reveals_nothing(app, client, world) -> None:
    response = client.post("/password/forgot", data={"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.subject.like("Reset%"))) is None


def test_logout_needs_a_post(client, world, login) -> None:
    login(world.a.emails["officer"])
    client.get("/logout", follow_redirects=True)
    assert client.get(f"/{world.a.slug}/dashboard").status_code == 200
    client.post("/logout")
    assert client.get(f"/{world.a.slug}/dashboard").status_code == 302


def test_a_user_chooses_language_and_time_zone(app, client, world: World, login) -> None:
    login(world.a.emails["officer"])
    response = client.post("/account", data={"name": "Elena Sokolova", "locale": "ru",
                                              "timezone": "Asia/Almaty"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.a.emails["officer"]))
        assert (user.name, user.locale, user.timezone) == ("Elena Sokolova", "ru", "Asia/Almaty")
    page = client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert '<html lang="ru">' in page


def test_an_unknown_time_zone_is_refused(client, world: World, login) -> None:
    login(world.a.emails["officer"])
    response = client.post("/account", data={"name": "X", "locale": "", "timezone": "Mars/Base"})
    assert 'id="timezone-error"' in response.get_data(as_text=True)
