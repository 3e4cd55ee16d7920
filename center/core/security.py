"""HTTP security headers on every response, and how stored secrets are hashed."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, Response, abort, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character in any key or string."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def register_input_guard(app: Flask) -> None:
    """Answer 400 to a request with a NUL byte in its path, query, form fields or JSON body.

    No text we store may hold one (PostgreSQL refuses it), and no honest browser sends one.
    """

    @app.before_request
    def refuse_nul_bytes() -> None:
        if "\x00" in request.path:
            abort(400)
        for data in (request.args, request.form):
            for key, value in data.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400)
        if request.is_json and _holds_nul(request.get_json(silent=True)):
            abort(400)


def register_security_headers(app: Flask) -> None:
    """Send CSP, frame, sniffing, referrer and (in production) HSTS headers."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


def secret_digest(secret: str) -> str:
    """The sha256 under which a random secret (a session, a link's token, an API token) is
    stored: the database holds no secret that would open anything. The secrets are long and
    random, so a fast hash suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()
