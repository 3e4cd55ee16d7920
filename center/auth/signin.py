"""Start a signed-in session in this browser: the one way every page signs a user in."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user, login_user

from center.auth import sessions
from center.auth.models import User


def client_ip() -> str:
    """The client's address (ProxyFix, set by PROXY_COUNT, has already put it here)."""
    return request.remote_addr or "-"


def sign_in(user: User, *, remember: bool = False) -> None:
    """Start a new server-side session for ``user`` in this browser.

    The old session (if any) ends and the cookie session is emptied, so the CSRF token and
    every other value rotate at sign-in and a planted session id is worthless.
    """
    if current_user.is_authenticated:
        sessions.end_session(current_user.session_secret, reason="logout")
    session.clear()
    sessions.start_session(user, remember=remember, user_agent=request.user_agent.string,
                           ip=client_ip())
    login_user(user, remember=remember,
               duration=current_app.config["REMEMBER_COOKIE_DURATION"] if remember else None)
