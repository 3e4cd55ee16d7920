"""The tenants module's part of the test world: a visa regime for the route walk."""

from __future__ import annotations

from center.auth.models import User
from center.tenants import visas
from center.tenants.models import Tenant, VisaRegimeKind


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    regime = visas.save_regime(
        name="Test bloc", kind=VisaRegimeKind.bloc, countries={"member": ["MN", "UZ"]},
        source="A treaty for tests", by=platform)
    side.ids["regime_id"] = regime.id
