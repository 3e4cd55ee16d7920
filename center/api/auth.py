"""Who calls the API: a bearer token of the center in the URL, never a browser's session.

The API's blueprints take no cookies into account: a request is its token's owner, with the
roles the owner holds in the center at that moment, or it is refused (401). So no page of
another site can make a signed-in browser call the API (CSRF), and the API's answers are
the same whoever's browser sends them. Every endpoint declares who may call it with
`token_roles`, as every page does with `center.tenants.permissions.roles`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, Blueprint, abort
from werkzeug.exceptions import HTTPException

from center.api import tokens
from center.api.models import TokenScope
from center.core.db import db
from center.core.json_api import API_BLUEPRINTS
from center.core.security import secret_digest
from center.extensions import csrf, limit
from center.tenants.models import Role
from center.tenants.permissions import current_memberships, has_role

F = TypeVar("F", bound=Callable[..., Any])

#: Where the API of a center lives.
URL_PREFIX = "/<tenant>/api/v1"


class CenterApi(Api):
    """flask-smorest's Api, leaving the app's error pages alone: `center.core.errors`
    hands the API's own errors to `handle_http_exception` (JSON), the rest stay pages."""

    def _register_error_handlers(self) -> None:
        pass

    def handle_http_exception(self, error: HTTPException) -> tuple[dict, int, dict]:
        """smorest's payload, always with a message: a field error says where to look, any
        other error says what the status means (in the caller's language where we wrote
        it)."""
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload:
            payload["message"] = (_("Check the fields named in errors.") if "errors" in payload
                                  else str(MESSAGES.get(code) or error.description))
        return payload, code, headers


#: What an error without a message of its own says.
MESSAGES = {400: _l("The request is malformed: check its JSON and its characters."),
            403: _l("Your roles in this center do not allow this."),
            404: _l("Nothing here: check the address and the id."),
            405: _l("This address does not take this method."),
            409: _l("This conflicts with the current state: read it again first."),
            429: _l("Too many requests with this token: wait a minute and try again."),
            500: _l("Something went wrong on our side; it has been logged.")}


def _rate_key() -> str:
    """Count requests per token (its digest), else per client address."""
    header = request.headers.get("Authorization", "")
    return "api:" + (secret_digest(header)[:32] if header else (request.remote_addr or ""))


def api_blueprint(name: str, title: str, description: str) -> Blueprint:
    """A blueprint of the API: token authentication, no CSRF (no cookies), rate limits.
    ``title`` names its part of the document (its tag)."""
    blp = Blueprint(name, __name__, url_prefix=URL_PREFIX, description=description)
    blp.title = title
    blp.before_request(authenticate)
    csrf.exempt(blp)
    limit("LIMIT_API", key_func=_rate_key)(blp)
    API_BLUEPRINTS.add(name)
    return blp


def _refuse_unauthenticated() -> None:
    abort(401, message=_("Send a personal API token of this center as “Authorization: Bearer "
                         "<token>”. Tokens are issued under Account, API tokens."),
          headers={"WWW-Authenticate": 'Bearer realm="center"'})


def authenticate() -> None:
    """Find the request's token; act as its owner for this request only (no session)."""
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    token = tokens.find(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        _refuse_unauthenticated()
    if db.session.dirty:
        db.session.commit()  # last_used_at, on its own: the view may commit nothing
    g._login_user = token.user  # flask-login's current_user, for this request
    g.api_token = token


def current_token() -> tokens.ApiToken:
    token = g.get("api_token")
    if token is None:
        _refuse_unauthenticated()
    return token


def token_roles(*allowed: Role, write: bool = False,
                loads: Callable[..., Any] | None = None) -> Callable[[F], F]:
    """Let a token of a member holding one of ``allowed`` call the endpoint (``write``: a
    token that may write). A member without the role gets 403; a token whose owner is no
    longer a member gets 404, as the pages answer. ``loads`` is the endpoint's object
    permission: called with the URL's arguments before the request's body is read, it loads
    the object the URL names and refuses (404) whoever may not reach it, so an object of
    someone else is never told apart by a validation error."""

    def check() -> None:
        token = current_token()
        if write and token.scope != TokenScope.write:
            abort(403, message=_("This token may only read. Issue a token that may read and "
                                 "write to change anything."))
        if not current_memberships():
            abort(404)
        if not has_role(*allowed):
            abort(403, message=_("Your roles in this center do not allow this."))

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()
            if loads is not None:
                loads(**kwargs)
            return view(*args, **kwargs)

        scope = "write" if write else "read"
        wrapper.access = f"token:{scope}:roles:" + ",".join(sorted(allowed))  # type: ignore[attr-defined]
        wrapper.loads = loads  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def register_api(app: Flask, blueprints: list[Blueprint]) -> None:
    """Set up flask-smorest on ``app`` and register the API's blueprints."""
    app.config.setdefault("API_TITLE", "Center")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # the document: center.api.views
    api = CenterApi(app, spec_kwargs={"info": {"description": _DESCRIPTION}})
    api.spec.components.security_scheme("token", {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token (Account, API tokens)."})
    for blp in blueprints:
        api.register_blueprint(blp)


_DESCRIPTION = (
    "The portal's data for programs: calls, your proposals, your review assignments, the "
    "funded portfolio and agreements. Each request carries a personal token of one center "
    "(`Authorization: Bearer ctr_…`), issued under Account, API tokens; it acts with your "
    "roles in that center and sees exactly what your pages show. Amounts are decimal strings "
    "in units of the named currency. Errors are JSON with `code`, `status`, `message` and, "
    "for invalid input, `errors` by field.")
