"""Personal API tokens for tests: issue one for a person of the world, send it."""

from __future__ import annotations

from flask import Flask

from center.api import tokens
from center.api.models import TokenScope
from center.auth.models import User
from center.core.db import db, tenant_scope
from center.tenants.models import Tenant
from tests.world import Side


def issue_token(app: Flask, side: Side, email: str, *, scope: str = TokenScope.write,
                days: int | None = None) -> str:
    """Issue a token of ``side``'s center for the person with ``email``; return its secret."""
    with app.app_context(), tenant_scope(side.tenant_id):
        user = db.session.query(User).filter_by(email=email).one()
        _token, secret = tokens.issue(user, db.session.get(Tenant, side.tenant_id),
                                      name=f"test {email}", scope=TokenScope(scope), days=days)
        db.session.commit()
        db.session.remove()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def is_api_rule(rule) -> bool:  # noqa: ANN001
    """A route of the JSON API (a token, not a session, authenticates it)."""
    return rule.endpoint.startswith("api_")
