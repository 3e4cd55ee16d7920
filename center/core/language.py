"""Which language a page, an e-mail or a document is written in.

A visitor's language is, in order: the one stored on their account, the one they chose with
the switch on every page (kept in a cookie, so it holds before signing in and after signing
out), and the first time the best match of the browser's ``Accept-Language``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, g, has_app_context, has_request_context, request
from flask_babel import force_locale, get_locale, refresh
from flask_login import current_user

#: The languages the portal is written in; English is the source.
LOCALES = ("en", "ko", "ru")
#: Each language by its own name, as the switch shows it.
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "ru": "Русский"}
COOKIE = "locale"
COOKIE_AGE = dt.timedelta(days=365)
_UNSET = object()


def chosen_locale(user: Any) -> str | None:
    """The language for this request: the account's, the cookie's, else the browser's."""
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in LOCALES:
        return user.locale
    if not request:
        return None
    cookie = request.cookies.get(COOKIE)
    if cookie in LOCALES:
        return cookie
    return request.accept_languages.best_match(LOCALES)


def remember_locale(response: Response, locale: str, user: Any) -> None:
    """Keep ``locale`` in the browser and, for a signed-in user, on the account.

    Effects: the ``locale`` cookie on ``response``; ``user.locale`` (the caller commits).
    """
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    response.set_cookie(COOKIE, locale, max_age=int(COOKIE_AGE.total_seconds()),
                        secure=request.is_secure, httponly=True, samesite="Lax")
    if user is not None and getattr(user, "is_authenticated", False):
        user.locale = locale


#: ``(e-mail) -> (locale or None, time zone or None)`` of a known person: set by the app,
#: which knows the accounts; ``core`` does not.
recipient_lookup: Callable[[str], tuple[str | None, str | None]] | None = None


@contextmanager
def recipient_terms(recipient: str) -> Iterator[None]:
    """Render what is inside in the recipient's language and zone, not the sender's.

    A recipient whose language is unknown gets the page's language when they asked for the
    message themselves (registration, password reset: nobody is signed in), else English; a
    recipient whose zone is unknown gets the center's.
    """
    if not has_app_context():
        yield
        return
    locale, zone = recipient_lookup(recipient) if recipient_lookup else (None, None)
    if locale not in LOCALES:
        anonymous = has_request_context() and not getattr(current_user, "is_authenticated",
                                                          False)
        locale = str(get_locale() or "en") if anonymous else "en"
    saved = g.pop("recipient_zone", _UNSET)
    g.recipient_zone = zone  # read by the app's zone selector and `center_time`
    refresh()
    try:
        with force_locale(locale):
            yield
    finally:
        g.pop("recipient_zone", None)
        if saved is not _UNSET:
            g.recipient_zone = saved
        refresh()
