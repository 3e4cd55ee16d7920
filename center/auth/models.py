"""Users and sign-in attempts. A user is global; what they may do lives in memberships."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, db

if TYPE_CHECKING:
    from center.tenants.models import Membership


class User(UserMixin, db.Model):
    """A person with a login. Memberships give them roles in tenants."""

    __tenant_scope__ = "global: one account may belong to several tenants"
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The person's ORCID iD in canonical form, if given: conflict checks find them by it
    #: in any proposal's team, whatever name or e-mail the team gives.
    orcid: Mapped[str] = mapped_column(String(19), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    #: The secret of the session this request runs in (set at sign-in and by the session
    #: loader); flask-login keeps it in the session cookie and in the remember cookie.
    session_secret = None

    def get_id(self) -> str | None:
        """Identify the browser session, not the user: a revoked session row ends it."""
        return self.session_secret


#: Substrings of a User-Agent header and what they name, checked in order (Edge and Opera
#: also say "Chrome", Chrome also says "Safari", Android also says "Linux").
_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari")]
_SYSTEMS = [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux")]


class UserSession(db.Model):
    """A signed-in browser. The cookie holds a random secret; this row holds its hash.

    Logout, a password change or reset, disabling the account and "sign out everywhere
    else" revoke rows, so a copied cookie (session or remember) stops working at once.
    """

    __tenant_scope__ = "global: one sign-in serves every tenant of the user"
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Why the session ended: logout, password, disabled, others, expired.
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()

    @property
    def device(self) -> str:
        """A short name for the browser, e.g. "Firefox on Windows" (else the raw string)."""
        ua = self.user_agent
        browser = next((name for token, name in _BROWSERS if token in ua), None)
        system = next((name for token, name in _SYSTEMS if token in ua), None)
        if browser and system:
            return f"{browser} · {system}"
        return ua[:80]

    __table_args__ = (
        CheckConstraint("(revoked_at IS NULL) = (revoked_reason IS NULL)",
                        name="revoked_with_reason"),
    )


class PendingRegistration(TenantScoped, db.Model):
    """A registration waiting for its e-mail link; the account exists only once followed."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginAttempt(db.Model):
    """A sign-in attempt, kept for throttling and as the security log."""

    __tenant_scope__ = "global: sign-in is not tied to a tenant"
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    #: Whether a failure counts towards throttling: attempts refused by the throttle do not
    #: (or a lock would renew itself), nor failures before a password reset.
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
