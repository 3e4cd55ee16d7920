"""HTTP security headers on every response."""

from __future__ import annotations

from flask import Flask, Response, abort, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def register_input_guard(app: Flask) -> None:
    """Answer 400 to a request with a NUL byte in its path, query or form fields.

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
