"""Fixtures for screening tests: the world's users of tenant A and its proposal, submitted."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call
from center.core.db import db
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import Proposal
from center.screening import services
from center.tenants.models import Institute, Role, Tenant
from tests.proposals.test_proposals import _complete
from tests.world import PASSWORD, TINY_PNG, World

HEADER = "name,aliases,country,type,list,reference\n"


@dataclass
class People:
    """Tenant A's members, one per role, plus helpers to act as them."""

    by_role: dict[Role, User]

    def __getitem__(self, role: Role) -> User:
        return self.by_role[role]


def as_role(role: Role) -> frozenset[Role]:
    return frozenset({role})


@pytest.fixture()
def people(in_tenant: World) -> People:
    return People({role: db.session.get(User, in_tenant.a.user_ids[role]) for role in Role})


def add_official(world: World, country: str, email: str | None = None) -> User:
    """Give tenant A a concurrence official for ``country`` (the world has one for KZ)."""
    tenant = db.session.get(Tenant, world.a.tenant_id)
    user = accounts.create_user(email or f"minister.{country.lower()}@alpha.example",
                                f"Minister of {country}", PASSWORD)
    accounts.add_membership(user, tenant, Role.concurrence, by=None, country_code=country)
    return user


def import_list(rows: str, *, by: User, label: str = "Test list") -> None:
    services.import_sanctions_list(filename="list.csv", data=(HEADER + rows).encode(),
                                   label=label, by=by)


def new_proposal(world: World, applicant: User, call_id: int | None = None) -> Proposal:
    """Another complete proposal of tenant A, ready to submit (same PI as the world's)."""
    call = db.session.get(Call, call_id or world.a.ids["call_id"])
    proposal = proposals.start_proposal(call, by=applicant)
    proposals.add_partner(proposal, db.session.get(Institute, world.a.institute_ids[0]),
                          lead=True, by=applicant)
    proposals.upload_attachment(proposal, by=applicant, kind="cv", filename="cv.png",
                                data=TINY_PNG)
    _complete(proposal, applicant, world.a)
    return proposal


def submit(proposal: Proposal, applicant: User) -> None:
    workflow.fire(proposal, "submit", by=applicant, roles=as_role(Role.applicant),
                  expected_version=proposal.version, declaration="I declare.")


@pytest.fixture()
def submitted(in_tenant: World, people: People) -> Proposal:
    """The world's proposal of tenant A, complete and submitted (v1), against a clean list."""
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, people[Role.applicant], in_tenant.a)
    submit(proposal, people[Role.applicant])
    db.session.commit()
    return proposal


@pytest.fixture()
def in_screening(submitted: Proposal, people: People) -> Proposal:
    workflow.fire(submitted, "start_screening", by=people[Role.officer],
                  roles=as_role(Role.officer))
    db.session.commit()
    return submitted


@pytest.fixture()
def in_concurrence(in_screening: Proposal, people: People, in_tenant: World) -> Proposal:
    """Passed screening: KZ (the world's official) and AM (an official added here) asked."""
    add_official(in_tenant, "AM")
    workflow.fire(in_screening, "pass_screening", by=people[Role.officer],
                  roles=as_role(Role.officer))
    db.session.commit()
    return in_screening
