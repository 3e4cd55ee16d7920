"""A small two-tenant world built through the real services, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from center.auth import services as accounts
from center.core import clock
from center.core.db import db, tenant_scope
from center.core.jobs import Job
from center.tenants import services as tenants
from center.tenants.models import DonorKind, Role

PASSWORD = "correct horse battery"  # noqa: S105


@dataclass
class Side:
    """One tenant of the world and the ids of what it holds."""

    slug: str
    tenant_id: int = 0
    emails: dict[str, str] = field(default_factory=dict)  #: role -> e-mail
    user_ids: dict[str, int] = field(default_factory=dict)
    donor_ids: list[int] = field(default_factory=list)
    institute_ids: list[int] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  #: URL argument name -> an object id


@dataclass
class World:
    a: Side
    b: Side
    platform_admin: str = "root@platform.example"


def build_side(slug: str, countries: list[str], platform) -> Side:  # noqa: ANN001
    side = Side(slug=slug)
    tenant = tenants.create_tenant(slug=slug, name=f"Center {slug.upper()}", short_name=slug,
                                   currency="EUR", partner_countries=countries, by=platform)
    side.tenant_id = tenant.id
    with tenant_scope(tenant.id):
        donors = [
            tenants.add_donor(by=platform, name=f"Donor One of {slug}", short_name="D1",
                              kind=DonorKind.government, country_code="US"),
            tenants.add_donor(by=platform, name=f"Donor Two of {slug}", short_name="D2",
                              kind=DonorKind.organisation),
        ]
        institutes = [
            tenants.add_institute(by=platform, name=f"Institute of Physics {slug}",
                                  country_code=countries[0], city="Almaty"),
            tenants.add_institute(by=platform, name=f"Institute of Botany {slug}",
                                  country_code=countries[1], city="Yerevan"),
        ]
        db.session.flush()
        side.donor_ids = [d.id for d in donors]
        side.institute_ids = [i.id for i in institutes]
        side.ids["institute_id"] = institutes[0].id
        side.ids["donor_id"] = donors[0].id
        for role in Role:
            email = f"{role}@{slug}.example"
            user = accounts.create_user(email, f"{role.capitalize()} of {slug}", PASSWORD)
            accounts.add_membership(
                user, tenant, role, by=platform,
                donor_id=donors[0].id if role == Role.reviewer else None,
                country_code=countries[0] if role == Role.concurrence else None,
            )
            side.emails[role] = email
            side.user_ids[role] = user.id
        job = Job(task="world.example", created_at=clock.now())
        db.session.add(job)
        db.session.flush()
        side.ids["job_id"] = job.id
    return side


def build_world() -> World:
    platform = accounts.create_user("root@platform.example", "Platform Root", PASSWORD,
                                    platform_admin=True)
    a = build_side("alpha", ["KZ", "AM"], platform)
    b = build_side("beta", ["MN", "UZ"], platform)
    return World(a=a, b=b)
