"""Sign-in throttling that concurrent guesses cannot outrun, and request rate limits."""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from center import create_app
from center.auth import services
from center.auth.models import LoginAttempt, User
from center.core import clock
from center.core.db import db
from tests.conftest import _test_settings
from tests.world import PASSWORD, World

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def _fail(client, email: str, **kwargs):  # noqa: ANN001, ANN003, ANN202
    return client.post("/login", data={"email": email, "password": "wrong password"},
                       **kwargs)


def test_a_lock_does_not_renew_itself_while_someone_keeps_trying(app, client, world) -> None:
    email = world.a.emails["officer"]
    window = dt.timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"])
    with clock.frozen_at(START):
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            _fail(client, email)
        for _ in range(10):  # an attacker keeps going during the lock
            clock.advance(window / 12)
            assert "Too many failed attempts" in _fail(client, email).get_data(as_text=True)
        clock.advance(window - 10 * window / 12 + dt.timedelta(seconds=1))
        ok = client.post("/login", data={"email": email, "password": PASSWORD})
        assert ok.status_code == 302


def test_a_password_reset_lifts_the_lock(app, client, world: World) -> None:
    email = world.a.emails["applicant"]
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _fail(client, email)
    assert "Too many failed attempts" in client.post(
        "/login", data={"email": email, "password": PASSWORD}).get_data(as_text=True)
    with app.app_context():
        token = services.password_reset_token(
            db.session.scalar(select(User).where(User.email == email)))
    client.post(f"/password/reset/{token}", data={"password": "brand new secret",
                                                  "confirm": "brand new secret"})
    response = client.post("/login", data={"email": email, "password": "brand new secret"})
    assert response.status_code == 302


def test_the_address_limit_is_keyed_on_the_real_client_behind_the_proxy(
        tmp_root, world: World) -> None:
    proxied = create_app(_test_settings(tmp_root, PROXY_COUNT=1))
    client = proxied.test_client()
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    for index in range(proxied.config["LOGIN_IP_MAX_FAILURES"] + 1):
        _fail(client, f"guess{index}@alpha.example", headers=attacker)
    refused = client.post("/login", data={"email": world.a.emails["officer"],
                                          "password": PASSWORD}, headers=attacker)
    assert "Too many failed attempts" in refused.get_data(as_text=True)
    colleague = proxied.test_client().post(
        "/login", data={"email": world.a.emails["officer"], "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"})
    assert colleague.status_code == 302
    with proxied.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == "203.0.113.5")) == proxied.config["LOGIN_IP_MAX_FAILURES"] + 2


def test_parallel_guesses_cannot_outrun_the_limit(tmp_root, world: World) -> None:
    """Fifteen simultaneous guesses against a live threaded server: at most five checked."""
    live = create_app(_test_settings(tmp_root))
    server = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/login"
    body = urllib.parse.urlencode({"email": world.a.emails["officer"],
                                   "password": "wrong password"}).encode()
    answers: Counter[str] = Counter()
    barrier = threading.Barrier(15)

    def guess() -> None:
        barrier.wait()
        try:
            with urllib.request.urlopen(url, data=body, timeout=60) as response:
                page = response.read().decode()
        except urllib.error.HTTPError as error:
            page = error.read().decode()
        answers["throttled" if "Too many failed attempts" in page else
                "checked" if "E-mail or password is wrong" in page else "other"] += 1

    guesses = [threading.Thread(target=guess) for _ in range(15)]
    try:
        for t in guesses:
            t.start()
        for t in guesses:
            t.join()
    finally:
        server.shutdown()
    limit = live.config["LOGIN_MAX_FAILURES"]
    assert answers["other"] == 0
    assert 1 <= answers["checked"] <= limit
    assert answers["checked"] + answers["throttled"] == 15
    with live.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.counted.is_(True))) == answers["checked"]


@pytest.fixture()
def limited(tmp_root):  # noqa: ANN001, ANN201
    """An app whose rate limits are on, with one request a minute for each action."""
    from center.extensions import limiter

    app = create_app(_test_settings(
        tmp_root, RATE_LIMITS=True, PROXY_COUNT=1, LIMIT_SIGN_IN="2 per minute",
        LIMIT_PASSWORD_RESET="1 per minute", LIMIT_REGISTRATION="1 per minute",
        LIMIT_INVITATIONS="1 per minute", LIMIT_UPLOADS="1 per minute",
        LIMIT_JOBS="1 per minute"))
    limiter.reset()
    yield app
    limiter.reset()


@pytest.mark.parametrize(("path", "data"), [
    ("/login", {"email": "x@alpha.example", "password": "wrong password"}),
    ("/password/forgot", {"email": "x@alpha.example"}),
    ("/alpha/register", {"name": "N", "email": "n@alpha.example", "password": "a long pw 1",
                         "confirm": "a long pw 1"}),
])
def test_sign_in_reset_and_registration_are_rate_limited_per_client(
        limited, world: World, path: str, data: dict[str, str]) -> None:
    client = limited.test_client()
    here = {"X-Forwarded-For": "203.0.113.5"}
    codes = [client.post(path, data=data, headers=here).status_code for _ in range(3)]
    assert codes[-1] == 429 and 429 not in codes[:1]
    assert client.get(path, headers=here).status_code == 200  # only POSTs count
    other = client.post(path, data=data, headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code != 429


def test_invitations_uploads_and_job_triggers_are_rate_limited(limited, world) -> None:
    here = {"X-Forwarded-For": "203.0.113.5"}
    applicant, officer = limited.test_client(), limited.test_client()
    applicant.post("/login", data={"email": world.a.emails["applicant"],
                                   "password": PASSWORD}, headers=here)
    officer.post("/login", data={"email": world.a.emails["officer"], "password": PASSWORD},
                 headers={"X-Forwarded-For": "203.0.113.6"})
    proposal, call = world.a.ids["proposal_id"], world.a.ids["call_id"]
    invite = f"/{world.a.slug}/proposals/{proposal}/invite"
    upload = f"/{world.a.slug}/proposals/{proposal}/edit/attachments"
    job = f"/{world.a.slug}/overlaps/calls/{call}/check"
    for client, path, headers in ((applicant, invite, here), (applicant, upload, here),
                                  (officer, job, {"X-Forwarded-For": "203.0.113.6"})):
        first = client.post(path, data={"invite-email": "c@alpha.example"}, headers=headers)
        assert first.status_code != 429, path
        assert client.post(path, data={}, headers=headers).status_code == 429, path
    # Editing another section of the proposal is not an upload.
    other = applicant.post(f"/{world.a.slug}/proposals/{proposal}/edit/summary", data={},
                           headers=here)
    assert other.status_code != 429
