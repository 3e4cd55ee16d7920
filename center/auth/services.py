"""Accounts: registration, password checks with throttling, password reset tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from center.auth import sessions
from center.auth.models import LoginAttempt, PendingRegistration, User
from center.core import audit, clock
from center.core.db import db
from center.core.notifications import send_email
from center.core.security import secret_digest
from center.tenants.models import Membership, Role, Tenant

#: Argon2id with the library's defaults (RFC 9106 low-memory profile). Tests use the
#: cheapest parameters through PASSWORD_HASH_FAST, so hashing does not dominate the suite.
_HASHERS = {False: PasswordHasher(), True: PasswordHasher(time_cost=1, memory_cost=1024,
                                                           parallelism=1)}


def _hasher() -> PasswordHasher:
    return _HASHERS[bool(current_app.config.get("PASSWORD_HASH_FAST"))]


_RESET_SALT = "password-reset"
#: How long a registration link works.
REGISTRATION_MAX_AGE = dt.timedelta(days=1)


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



def register_applicant(tenant: Tenant, *, email: str, name: str, password: str,
                       confirm_url_for: Callable[[str], str],
                       sign_in_url: str, reset_url: str) -> None:
    """Start a registration; answer the same whether or not the address has an account.

    Effects: for a new address, a `PendingRegistration` and an e-mail with the link that
    creates the account; for an address in use, an e-mail to its owner saying someone tried
    to register with it (with links to sign in and to reset the password). Nothing else, so
    the page cannot tell anyone which addresses have accounts.
    """
    email = normalize_email(email)
    password_hash = hash_password(password)  # in both branches, so timing tells nothing
    if find_user(email) is not None:
        send_email(email, _l("Registration at %(center)s", center=tenant.name),
                   "registration_exists",
                   tenant_id=tenant.id, tenant=tenant, sign_in_url=sign_in_url,
                   reset_url=reset_url)
        return
    secret = secrets.token_urlsafe(32)
    db.session.execute(delete(PendingRegistration).where(
        PendingRegistration.created_at < clock.now() - REGISTRATION_MAX_AGE))
    db.session.add(PendingRegistration(
        tenant_id=tenant.id, secret_hash=secret_digest(secret), email=email, name=name.strip(),
        password_hash=password_hash, created_at=clock.now()))
    db.session.flush()
    send_email(email, _l("Confirm your registration at %(center)s", center=tenant.name),
               "registration_confirm",
               tenant_id=tenant.id, tenant=tenant, name=name.strip(),
               url=confirm_url_for(secret),
               hours=int(REGISTRATION_MAX_AGE.total_seconds()) // 3600)


def pending_registration(secret: str) -> PendingRegistration | None:
    """Return the unexpired registration this link was made for (in the tenant in scope)."""
    if not secret or len(secret) > 100:
        return None
    pending = db.session.scalar(select(PendingRegistration).where(
        PendingRegistration.secret_hash == secret_digest(secret)))
    if pending is None or clock.now() - pending.created_at > REGISTRATION_MAX_AGE:
        return None
    return pending


def complete_registration(pending: PendingRegistration, tenant: Tenant) -> User:
    """Create the applicant account of a followed registration link.

    Effects: a user and an applicant membership (audited), a welcome e-mail, and every
    pending registration for the address is dropped. Raises `EmailTaken` if the address got
    an account meanwhile (another link, a concurrent request).
    """
    email = pending.email
    if find_user(email) is not None:
        raise EmailTaken(email)
    user = User(email=email, name=pending.name, password_hash=pending.password_hash,
                created_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise EmailTaken(email) from None
    db.session.execute(delete(PendingRegistration).where(PendingRegistration.email == email))
    add_membership(user, tenant, Role.applicant, by=user)
    audit.record("user.registered", user, actor=user, tenant_id=tenant.id)
    send_email(user.email, _l("Welcome to %(center)s", center=tenant.name),
               "welcome", tenant_id=tenant.id,
               user=user, tenant=tenant)
    return user


# --- sign-in throttling ------------------------------------------------------------------

def _window_start() -> dt.datetime:
    return clock.now() - dt.timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def _counted_failures(column, value: str) -> int:  # noqa: ANN001
    return db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.at >= _window_start(),
            LoginAttempt.succeeded.is_(False), LoginAttempt.counted.is_(True))
    ) or 0


def record_login_attempt(email: str, *, ip: str) -> LoginAttempt:
    """Add a sign-in attempt, counted as a failure until `check_login_attempt` clears it.

    The caller commits before checking: a concurrent attempt then already counts this one,
    so of any number of simultaneous guesses at most LOGIN_MAX_FAILURES are checked.
    """
    attempt = LoginAttempt(email=normalize_email(email)[:255], ip=ip[:64], at=clock.now(),
                           succeeded=False, counted=True)
    db.session.add(attempt)
    db.session.flush()
    return attempt


def check_login_attempt(attempt: LoginAttempt, password: str) -> User:
    """Return the user whose credentials these are; raise `AuthError` otherwise.

    Throttled: once LOGIN_MAX_FAILURES failures for one address (or LOGIN_IP_MAX_FAILURES
    from one client address) fall in the last LOGIN_WINDOW_SECONDS, including attempts being
    checked at this moment, every attempt is refused, right password or not, until the
    window has passed. Refused attempts are logged but not counted, so the lock does not
    renew itself; a password reset lifts it.
    """
    config = current_app.config
    if (_counted_failures(LoginAttempt.email, attempt.email) > config["LOGIN_MAX_FAILURES"]
            or _counted_failures(LoginAttempt.ip, attempt.ip) > config["LOGIN_IP_MAX_FAILURES"]):
        attempt.counted = False
        raise TooManyAttempts()
    user = find_user(attempt.email)
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher().verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    else:
        _hasher().hash(password)  # as slow as a real check: timing tells nothing
    if not ok:
        raise AuthError()
    attempt.succeeded = True
    return user


def authenticate(email: str, password: str, *, ip: str) -> User:
    """Record and check one attempt in the current transaction (scripts and tests)."""
    return check_login_attempt(record_login_attempt(email, ip=ip), password)


def lift_login_lock(email: str) -> None:
    """Stop the failures so far counting against this address (after a password reset)."""
    db.session.execute(update(LoginAttempt).where(
        LoginAttempt.email == normalize_email(email), LoginAttempt.counted.is_(True),
        LoginAttempt.succeeded.is_(False)).values(counted=False))


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
    send_email(user.email, _l("Reset your Center password"), "password_reset", user=user,
               url=reset_url_for(token),
               hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600)


def reset_password(user: User, new_password: str) -> None:
    """Set a new password from a reset link.

    Effects: every session of the user ends, the reset link and older ones stop working,
    the sign-in lock on the address is lifted, and the change is audited.
    """
    user.password_hash = hash_password(new_password)
    sessions.end_other_sessions(user, keep=None, reason="password")
    lift_login_lock(user.email)
    sessions.audit_account_event("user.password_reset", user, actor=user)


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, *, current: str, new: str, keep_session: str | None) -> int:
    """Change the password of a signed-in user who knows the current one.

    Effects: the new hash, every other session of the user ends (their count is returned),
    reset links made before stop working, and the change is audited. Raises `AuthError` if
    ``current`` is wrong.
    """
    if not verify_password(user, current):
        raise AuthError()
    user.password_hash = hash_password(new)
    ended = sessions.end_other_sessions(user, keep=keep_session, reason="password")
    sessions.audit_account_event("user.password_changed", user, actor=user)
    return ended


def disable_account(user: User, *, by: User) -> None:
    """Disable an account: it cannot sign in, and every one of its sessions ends now."""
    user.active = False
    sessions.end_other_sessions(user, keep=None, reason="disabled")
    sessions.audit_account_event("user.disabled", user, actor=by)


def update_account(user: User, *, name: str, locale: str | None, timezone: str | None,
                   orcid: str | None = None) -> None:
    """Change a user's name, interface language, time zone and ORCID iD (canonical, or
    "" for none; None leaves it)."""
    user.name = name.strip()
    user.locale = locale or None
    user.timezone = timezone or None
    if orcid is not None and orcid != user.orcid:
        user.orcid = orcid
        sessions.audit_account_event("user.orcid_changed", user, actor=user, orcid=orcid or None)
