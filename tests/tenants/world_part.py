"""The tenants module's objects in the test world: a waiting invitation and a membership to
revoke on each side, so the cross-tenant route walk has their ids to try."""

from __future__ import annotations

from sqlalchemy import select

from center.core.db import db
from center.tenants import services
from center.tenants.models import Membership, Role


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    invitation, _token = services.invite_member(tenant, email=f"newcomer@{side.slug}.example",
                                                role_key="officer", by=platform)
    side.ids["invitation_id"] = invitation.id
    side.ids["membership_id"] = db.session.scalar(select(Membership.id).where(
        Membership.user_id == side.user_ids[Role.applicant]))
