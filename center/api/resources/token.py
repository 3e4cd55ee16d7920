"""The token itself: whom it acts for, in which center, with which roles."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user

from center.api.auth import api_blueprint, current_token, token_roles
from center.api.schemas import TokenInfo
from center.tenants.models import Role
from center.tenants.permissions import current_roles

blp = api_blueprint("api_token", "Token", "The token the request carries.")


@blp.route("/token", endpoint="show")
@token_roles(*Role)
@blp.response(200, TokenInfo)
def show_token() -> dict[str, Any]:
    """Whom the token acts for: a program checks here that it holds the token it expects."""
    token = current_token()
    return {"name": token.name, "scope": token.scope, "expires_at": token.expires_at,
            "user": current_user.name, "email": current_user.email, "center": g.tenant.slug,
            "roles": sorted(current_roles())}
