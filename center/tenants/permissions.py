"""Who may call a view. Every view declares exactly one of these; a test enforces it.

- `public`: anyone, signed in or not.
- `signed_in`: any signed-in user.
- `roles(...)`: a member of the current tenant holding one of the roles. Someone who is not a
  member of the tenant at all gets 404, as if the page did not exist; a member without the
  role gets 403.
- `platform_admin`: the platform administrator (creates tenants, reads the outbox).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from center.core.db import db
from center.extensions import login_manager
from center.tenants.models import Membership, Role

F = TypeVar("F", bound=Callable[..., Any])


def _declare(view: F, access: str, check: Callable[[], None]) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check()
        return view(*args, **kwargs)

    wrapper.access = access  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def public(view: F) -> F:
    """Let anyone call the view."""
    view.access = "public"  # type: ignore[attr-defined]
    return view


def _require_login() -> None:
    if not current_user.is_authenticated:
        # Redirects to the login page with ?next=, keeping a POST's input (core.forms).
        abort(login_manager.unauthorized())


def signed_in(view: F) -> F:
    """Let any signed-in user call the view."""
    return _declare(view, "signed_in", _require_login)


def current_memberships() -> list[Membership]:
    """Return the signed-in user's memberships in the current tenant (cached per request)."""
    if "memberships" not in g:
        if not current_user.is_authenticated or g.get("tenant") is None:
            g.memberships = []
        else:
            g.memberships = list(
                db.session.scalars(select(Membership).where(Membership.user_id == current_user.id))
            )
    return g.memberships


def current_roles() -> frozenset[Role]:
    """Return the roles the signed-in user holds in the current tenant."""
    return frozenset(Role(m.role) for m in current_memberships())


def has_role(*roles: Role) -> bool:
    """Tell whether the signed-in user holds any of ``roles`` in the current tenant."""
    return bool(current_roles() & set(roles))


def membership_for(role: Role) -> Membership | None:
    """Return the signed-in user's membership with ``role`` in this tenant, if any."""
    return next((m for m in current_memberships() if m.role == role), None)


def roles(*allowed: Role) -> Callable[[F], F]:
    """Let members of the current tenant with one of ``allowed`` roles call the view."""
    if not allowed:
        raise ValueError("roles() needs at least one role")

    def decorator(view: F) -> F:
        def check() -> None:
            _require_login()
            if g.get("tenant") is None:
                raise RuntimeError(f"{view.__name__} declares roles but has no tenant in its URL")
            if not current_memberships():
                abort(404)
            if not has_role(*allowed):
                abort(403)

        return _declare(view, "roles:" + ",".join(sorted(allowed)), check)

    return decorator


def platform_admin(view: F) -> F:
    """Let only the platform administrator call the view."""

    def check() -> None:
        _require_login()
        if not current_user.is_platform_admin:
            abort(404)

    return _declare(view, "platform_admin", check)
