"""E-mails go out in the recipient's language and time zone, whoever sends them."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from sqlalchemy import select

from center import center_time, format_moment
from center.auth.models import User
from center.core.db import db
from center.core.language import recipient_terms
from center.core.notifications import send_email
from tests.i18n.conftest import translation
from tests.world import World

MOMENT = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _set_terms(app: Flask, email: str, locale: str | None, zone: str | None) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.locale, user.timezone = locale, zone
        db.session.commit()


def test_an_email_is_written_in_the_recipients_language_not_the_senders(
        app: Flask, world: World, compiled: None) -> None:
    email = world.a.emails["applicant"]
    _set_terms(app, email, "ru", "Asia/Seoul")
    with app.test_request_context("/", headers={"Accept-Language": "ko"}):
        assert str(get_locale()) == "ko"
        user = db.session.scalar(select(User).where(User.email == email))
        message = send_email(email, _l("Reset your Center password"), "password_reset",
                             user=user, url="https://portal.example/reset", hours=2)
        assert str(get_locale()) == "ko"  # the sender's page stays in the sender's language
    assert message.subject == translation("ru", "Reset your Center password")
    assert translation(
        "ru", "If it was not you, ignore this message: your password stays as it is."
    ) in message.body
    assert "If it was not you" not in message.body


def test_dates_in_an_email_are_in_the_recipients_zone(app: Flask, world: World) -> None:
    email = world.a.emails["officer"]
    _set_terms(app, email, "en", "Asia/Seoul")
    with app.test_request_context("/"):
        with recipient_terms(email):
            assert center_time(MOMENT, None) == "2026-01-15 21:00 (Asia/Seoul)"
            assert "9:00" in format_moment(MOMENT)
        assert center_time(MOMENT, None) == "2026-01-15 12:00 (UTC)"


def test_a_recipient_without_an_account_gets_the_visitors_language_or_english(
        app: Flask, world: World) -> None:
    stranger = "official@ministry.example"
    with app.test_request_context("/", headers={"Accept-Language": "ru"}), \
            recipient_terms(stranger):
        assert str(get_locale()) == "ru"  # nobody signed in: the visitor asked for it
    with app.test_request_context("/", headers={"Accept-Language": "ru"}):
        login_user(db.session.scalar(select(User).where(
            User.email == world.a.emails["officer"])))
        with recipient_terms(stranger):
            assert str(get_locale()) == "en"  # a member's language is not the stranger's
