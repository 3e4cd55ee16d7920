"""Issuing, revoking and checking personal API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from center.api.models import ApiToken, TokenScope
from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.security import secret_digest
from center.tenants.models import Tenant

#: Every secret starts so, so that a secret pasted where it should not be is recognisable
#: (secret scanners, logs) and a header holding something else is refused at once.
SECRET_PREFIX = "ctr_"  # noqa: S105 (a marker, not a secret)
#: Characters of the secret kept in clear, to tell one's tokens apart in the list.
SHOWN = len(SECRET_PREFIX) + 6
#: Live tokens one person may hold in one center.
MAX_LIVE = 20
#: How often using a token is written down (``last_used_at``): not at every request.
USE_RESOLUTION = dt.timedelta(minutes=5)


class TokenError(Exception):
    """A token cannot be issued (the message says why)."""


def live_tokens(user: User) -> list[ApiToken]:
    """``user``'s tokens in the center in scope that still work, newest first."""
    now = clock.now()
    rows = db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [t for t in rows if t.is_live(now)]


def issue(user: User, tenant: Tenant, *, name: str, scope: TokenScope,
          days: int | None) -> tuple[ApiToken, str]:
    """Make a token for ``user`` in ``tenant``; return it with its secret, shown only once.

    Effects: a token row holding the secret's sha256 and an audit event (without the
    secret). Refused (`TokenError`) when the person holds `MAX_LIVE` live tokens already.
    """
    if len(live_tokens(user)) >= MAX_LIVE:
        raise TokenError(_("You hold %(n)d working tokens in this center already: revoke one "
                           "you no longer use first.", n=MAX_LIVE))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(tenant_id=tenant.id, user_id=user.id, name=name.strip(),
                     prefix=secret[:SHOWN], secret_hash=secret_digest(secret),
                     scope=TokenScope(scope), created_at=now,
                     expires_at=now + dt.timedelta(days=days) if days else None)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.issued", token, actor=user, name=token.name, scope=str(scope),
                 expires_at=token.expires_at)
    return token, secret


def revoke(token: ApiToken, *, by: User) -> None:
    """Stop ``token`` for good (a second revocation changes nothing)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    audit.record("api_token.revoked", token, actor=by, name=token.name)
    db.session.flush()


def find(secret: str) -> ApiToken | None:
    """The live token of the center in scope that ``secret`` opens, else None.

    A token of another center is not found: the tenant scope filters the query.
    """
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.secret_hash == secret_digest(secret)))
    now = clock.now()
    if token is None or not token.is_live(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > USE_RESOLUTION:
        token.last_used_at = now
    return token

