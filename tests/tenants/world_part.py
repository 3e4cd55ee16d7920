"""The tenants module's objects in the test world: a waiting invitation, a membership to
revoke and a visa regime on each side, so the cross-tenant route walk has their ids to try."""

from __future__ import annotations

from sqlalchemy import select

from center.auth.models import User
from center.core.db import db
from center.tenants import services, visas
from center.tenants.models import Membership, Role, Tenant, VisaRegimeKind


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    invitation, _token = services.invite_member(tenant, email=f"newcomer@{side.slug}.example",
                                                role_key="officer", by=platform)
    side.ids["invitation_id"] = invitation.id
    side.ids["membership_id"] = db.session.scalar(select(Membership.id).where(
        Membership.user_id == side.user_ids[Role.applicant]))
    regime = visas.save_regime(
        name="Test bloc", kind=VisaRegimeKind.bloc, countries={"member": ["MN", "UZ"]},
        source="A treaty for tests", by=platform)
    side.ids["regime_id"] = regime.id
