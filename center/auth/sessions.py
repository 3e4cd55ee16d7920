"""Server-side sessions: every signed-in browser is a `UserSession` row that can be revoked.

The browser holds a random secret (in the session cookie and, with "keep me signed in", in
the remember cookie); the row holds its SHA-256. A session ends when it is revoked (logout,
password change or reset, disabled account, "sign out everywhere else"), after
SESSION_IDLE_SECONDS without a request, or SESSION_MAX_SECONDS after sign-in. A remembered
session is not subject to the idle limit and ends REMEMBER_SECONDS after sign-in.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from sqlalchemy import delete, select, update

from center.auth.models import User, UserSession
from center.core import audit, clock
from center.core.db import all_tenants, db
from center.core.security import secret_digest
from center.tenants.models import Membership

#: last_seen_at is written at most this often, so reading a page is not a write each time.
_TOUCH_EVERY = dt.timedelta(minutes=1)
#: How long an ended session's row is kept after it could have lasted at most.
_KEEP_ENDED = dt.timedelta(days=30)


class SessionEnded(Exception):
    """The session exists but timed out; ``user_id`` says whose it was."""

    def __init__(self, user_id: int) -> None:
        super().__init__(user_id)
        self.user_id = user_id


def audit_account_event(action: str, user: User, *, actor: User | None, **details: object) -> None:
    """Audit an event of a (global) account in every tenant the user is a member of.

    The audit trail is per tenant, and each center's administrators may see what happened
    to their members' accounts; an account with no membership (the platform administrator)
    has its sign-ins and sessions in `LoginAttempt` and `UserSession` only.
    """
    with all_tenants():
        tenant_ids = db.session.scalars(select(Membership.tenant_id).where(
            Membership.user_id == user.id).distinct()).all()
    for tenant_id in tenant_ids:
        audit.record(action, user, actor=actor, tenant_id=tenant_id, **details)



def start_session(user: User, *, remember: bool, user_agent: str, ip: str) -> str:
    """Open a session for ``user`` and return its secret (it is stored only hashed)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    # Rows that ended a while ago say nothing the account page shows; keep the table small.
    longest = max(current_app.config["REMEMBER_SECONDS"], current_app.config["SESSION_MAX_SECONDS"])
    db.session.execute(delete(UserSession).where(
        UserSession.user_id == user.id,
        UserSession.created_at < now - dt.timedelta(seconds=longest) - _KEEP_ENDED))
    db.session.add(UserSession(user_id=user.id, secret_hash=secret_digest(secret),
                               remember=remember,
                               created_at=now, last_seen_at=now, user_agent=user_agent[:300],
                               ip=ip[:64]))
    db.session.flush()
    user.session_secret = secret
    return secret


def _expired(row: UserSession, now: dt.datetime) -> bool:
    config = current_app.config
    if row.remember:
        return now - row.created_at > dt.timedelta(seconds=config["REMEMBER_SECONDS"])
    return (now - row.created_at > dt.timedelta(seconds=config["SESSION_MAX_SECONDS"])
            or now - row.last_seen_at > dt.timedelta(seconds=config["SESSION_IDLE_SECONDS"]))


def find_session(secret: str) -> UserSession | None:
    return db.session.scalar(select(UserSession).where(
        UserSession.secret_hash == secret_digest(secret)))


def resume_session(secret: str) -> User | None:
    """Return the user of a live session and mark it seen (the caller commits).

    Returns None for an unknown or revoked secret or a disabled account; raises
    `SessionEnded` for a session that timed out, and revokes it.
    """
    if not secret or len(secret) > 100:
        return None
    row = find_session(secret)
    if row is None or not row.user.active:
        return None
    if row.revoked_reason == "expired":
        raise SessionEnded(row.user_id)
    if row.revoked_at is not None:
        return None
    now = clock.now()
    if _expired(row, now):
        row.revoked_at, row.revoked_reason = now, "expired"
        raise SessionEnded(row.user_id)
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
    row.user.session_secret = secret
    return row.user


def end_session(secret: str | None, *, reason: str = "logout") -> None:
    """Revoke the session with this secret."""
    if secret:
        db.session.execute(update(UserSession).where(
            UserSession.secret_hash == secret_digest(secret), UserSession.revoked_at.is_(None))
            .values(revoked_at=clock.now(), revoked_reason=reason))


def end_other_sessions(user: User, *, keep: str | None, reason: str) -> int:
    """Revoke every live session of ``user`` except the one with secret ``keep``; count them.

    Effects: the rows are revoked and the revocation is audited.
    """
    condition = [UserSession.user_id == user.id, UserSession.revoked_at.is_(None)]
    if keep:
        condition.append(UserSession.secret_hash != secret_digest(keep))
    result = db.session.execute(update(UserSession).where(*condition)
                                .values(revoked_at=clock.now(), revoked_reason=reason))
    audit_account_event("user.sessions_revoked", user, actor=user, reason=reason,
                        count=result.rowcount)
    return result.rowcount


def active_sessions(user: User) -> list[UserSession]:
    """Return the user's sessions that are still live, most recent first."""
    now = clock.now()
    rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())).all()
    return [row for row in rows if not _expired(row, now)]


def is_current(row: UserSession, secret: str | None) -> bool:
    return bool(secret) and row.secret_hash == secret_digest(secret)
