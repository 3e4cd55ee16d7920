"""Accounts: registration, password checks with throttling, password reset tokens."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from center.auth.models import LoginAttempt, User
from center.core import audit, clock
from center.core.db import db
from center.core.notifications import send_email
from center.tenants.models import Membership, Role, Tenant

#: Argon2id with the library's defaults (RFC 9106 low-memory profile). Tests use the
#: cheapest parameters through PASSWORD_HASH_FAST, so hashing does not dominate the suite.
_HASHERS = {False: PasswordHasher(), True: PasswordHasher(time_cost=1, memory_cost=1024,
                                                           parallelism=1)}


def _hasher() -> PasswordHasher:
    return _HASHERS[bool(current_app.config.get("PASSWORD_HASH_FAST"))]
_RESET_SALT = "password-reset"


class AuthError(Exception):
    """A sign-in or account action that cannot go ahead; the message is for the user."""


class TooManyAttempts(AuthError):
    """Sign-in is throttled for this address or network."""


class EmailTaken(AuthError):
    """Another account already uses this e-mail address."""


def hash_password(password: str) -> str:
    """Return the Argon2id hash of ``password``."""
    return _hasher().hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(email: str, name: str, password: str, *, platform_admin: bool = False) -> User:
    """Add a user; raise `EmailTaken` if the address is in use."""
    if find_user(email) is not None:
        raise EmailTaken(email)
    user = User(email=normalize_email(email), name=name.strip(),
                password_hash=hash_password(password), is_platform_admin=platform_admin,
                created_at=clock.now())
    db.session.add(user)
    db.session.flush()
    return user


def add_membership(user: User, tenant: Tenant, role: Role, *, by: User | None,
                   donor_id: int | None = None, country_code: str | None = None,
                   institute_id: int | None = None) -> Membership:
    """Give ``user`` a role in ``tenant`` and audit it."""
    membership = Membership(user_id=user.id, tenant_id=tenant.id, role=role, donor_id=donor_id,
                            country_code=country_code, institute_id=institute_id,
                            created_at=clock.now())
    db.session.add(membership)
    db.session.flush()
    audit.record("membership.granted", membership, actor=by, role=str(role), user=user.email)
    return membership


def register_applicant(tenant: Tenant, *, email: str, name: str, password: str) -> User:
    """Create an account and make it an applicant of ``tenant``.

    Effects: a user and a membership, an audit event, a welcome e-mail in the outbox.
    """
    user = create_user(email, name, password)
    add_membership(user, tenant, Role.applicant, by=user)
    send_email(user.email, f"Welcome to {tenant.name}", "welcome", tenant_id=tenant.id,
               user=user, tenant=tenant)
    return user


def _recent_failures(column, value: str) -> int:  # noqa: ANN001
    since = clock.now() - dt.timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    return db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
        )
    ) or 0


def authenticate(email: str, password: str, *, ip: str) -> User:
    """Return the user whose credentials these are; raise `AuthError` otherwise.

    Throttled: after LOGIN_MAX_FAILURES failures for one address in LOGIN_WINDOW_SECONDS (or
    four times that from one network address) every attempt is refused until the window
    passes, right password or not. Every attempt is recorded.
    """
    email = normalize_email(email)
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if (_recent_failures(LoginAttempt.email, email) >= limit
            or _recent_failures(LoginAttempt.ip, ip) >= 4 * limit):
        db.session.add(LoginAttempt(email=email, ip=ip, at=clock.now(), succeeded=False))
        raise TooManyAttempts()
    user = find_user(email)
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher().verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    db.session.add(LoginAttempt(email=email, ip=ip, at=clock.now(), succeeded=ok))
    if not ok:
        raise AuthError()
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def password_reset_token(user: User) -> str:
    """Return a signed token for ``user``; it dies when the password changes or it expires."""
    return _serializer().dumps({"uid": user.id, "pw": user.password_hash[-12:]})


def user_for_reset_token(token: str) -> User | None:
    """Return the user a valid, unexpired, unused token was made for, or None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or user.password_hash[-12:] != data.get("pw"):
        return None
    return user


def request_password_reset(email: str, *, reset_url_for) -> None:  # noqa: ANN001
    """E-mail a reset link if an account has this address; say nothing either way."""
    user = find_user(email)
    if user is None or not user.active:
        return
    token = password_reset_token(user)
    send_email(user.email, "Reset your Center password", "password_reset", user=user,
               url=reset_url_for(token),
               hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600)


def reset_password(user: User, new_password: str) -> None:
    """Set a new password; older sessions and reset links stop working."""
    user.password_hash = hash_password(new_password)


def update_account(user: User, *, name: str, locale: str | None, timezone: str | None) -> None:
    """Change a user's name, interface language and time zone."""
    user.name = name.strip()
    user.locale = locale or None
    user.timezone = timezone or None
