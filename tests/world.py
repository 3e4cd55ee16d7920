"""A small two-tenant world built through the real services, for tests."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call, CallDonor
from center.core import clock
from center.core.db import db, tenant_scope
from center.core.jobs import Job
from center.proposals import services as proposals
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
    #: every call the world's parts open, so that a test can tell the calls it made
    world_call_ids: list[int] = field(default_factory=list)


@dataclass
class World:
    a: Side
    b: Side
    platform_admin: str = "root@platform.example"


def build_side(slug: str, countries: list[str], platform) -> Side:  # noqa: ANN001
    side = Side(slug=slug)
    # The world's visa table holds only the rules tests set, not the shipped regimes
    # (tests/tenants/test_visa_rules.py loads those), so that each test states its rules.
    tenant = tenants.create_tenant(slug=slug, name=f"Center {slug.upper()}", short_name=slug,
                                   currency="EUR", partner_countries=countries, by=platform,
                                   visa_rules=False)
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
        side.ids["rule_id"] = tenants.set_visa_rule(
            countries[0], "KR", visa_required=False, invitation_required=True, by=platform).id
        side.ids["institute_id"] = institutes[0].id
        side.ids["donor_id"] = donors[0].id
        for role in Role:
            email = f"{role}@{slug}.example"
            user = accounts.create_user(email, f"{role.capitalize()} of {slug}", PASSWORD)
            accounts.add_membership(
                user, tenant, role, by=platform,
                donor_id=donors[0].id if role == Role.reviewer else None,
                country_code=countries[0] if role == Role.concurrence else None,
                institute_id=institutes[0].id if role == Role.signatory else None,
            )
            side.emails[role] = email
            side.user_ids[role] = user.id
        call = open_call(donor_ids=side.donor_ids, countries=countries)
        side.ids["call_id"] = call.id
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        proposal = proposals.start_proposal(call, by=applicant)
        proposals.add_partner(proposal, institutes[0], lead=True, by=applicant)
        side.ids["proposal_id"] = proposal.id
        side.ids["section"] = "consortium"
        side.ids["item_id"] = proposal.partners[0].id
        side.ids["attachment_id"] = proposals.upload_attachment(
            proposal, by=applicant, kind="cv", filename="cv.png", data=TINY_PNG).id
        side.ids["transition"] = "submit"
        side.ids["export"] = "proposals"
        invitation = proposals.invite_collaborator(
            proposal, f"colleague@{slug}.example", by=applicant, tenant=tenant,
            accept_url_for=lambda token: f"/invitations/{token}")
        side.ids["token"] = invitation.token
        for part in world_parts():
            part.extend_side(side, tenant=tenant, platform=platform)
        db.session.flush()
        side.world_call_ids = list(db.session.scalars(select(Call.id).order_by(Call.id)))
        job = Job(task="world.example", created_at=clock.now())
        db.session.add(job)
        db.session.flush()
        side.ids["job_id"] = job.id
    return side


def world_parts() -> list:
    """Return each test package's ``world_part`` module (tests/<module>/world_part.py).

    A module adds its own objects to each side with ``extend_side(side, *, tenant,
    platform)`` and records the ids its URLs take in ``side.ids``, so the cross-tenant
    route walk covers its routes without everyone editing this file.
    """
    root = Path(__file__).resolve().parent
    return [importlib.import_module(f"tests.{path.parent.name}.world_part")
            for path in sorted(root.glob("*/world_part.py"))]


#: The smallest valid PNG: one transparent pixel.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def open_call(*, donor_ids: list[int], countries: list[str], **fields) -> Call:  # noqa: ANN003
    """Add a call open from yesterday for thirty days, with every donor offering 200,000."""
    now = clock.now()
    values = {"title": "Sustainable watersheds and public health", "description": "A call.",
              "topics": ["Watersheds", "Public health"], "eligible_countries": countries,
              "opens_at": now - dt.timedelta(days=1), "closes_at": now + dt.timedelta(days=30),
              "budget_ceiling": 300_000_00, "max_duration_months": 36,
              "overhead_cap_percent": 15, "required_attachments": ["cv"],
              "rubric": [{"name": "Scientific merit", "weight": 60, "scale": 5},
                         {"name": "Team", "weight": 40, "scale": 5}],
              "created_at": now, **fields}
    call = Call(**values)
    call.donors = [CallDonor(donor_id=d, offered=200_000_00) for d in donor_ids]
    db.session.add(call)
    db.session.flush()
    return call


def build_world() -> World:
    platform = accounts.create_user("root@platform.example", "Platform Root", PASSWORD,
                                    platform_admin=True)
    a = build_side("alpha", ["KZ", "AM"], platform)
    b = build_side("beta", ["MN", "UZ"], platform)
    return World(a=a, b=b)
