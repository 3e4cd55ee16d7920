"""The API's objects in the test world: a token of each side's applicant, so the route walk
has a ``token_id`` (the revoke button) to try."""

from __future__ import annotations

from center.api import tokens
from center.api.models import TokenScope
from center.auth.models import User
from center.core.db import db
from center.tenants.models import Role


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    token, _secret = tokens.issue(applicant, tenant, name="World's spreadsheet",
                                  scope=TokenScope.read, days=None)
    side.ids["token_id"] = token.id
