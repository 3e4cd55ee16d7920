"""A review panel on tenant A of the world: two proposals under review, reviewers of the
call's two donors with their expertise, a donor outside the call and a partner funder.

`panel` builds it in its own application context and returns ids, so that a test can drive
the portal through the test client (each request in its own context) and check the database
in `scope`, without sharing a session with the requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from center.auth import services as accounts
from center.auth.models import User
from center.core.db import db, tenant_scope
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funding, services
from center.reviews.models import Assignment
from center.tenants import services as tenants
from center.tenants.models import Donor, DonorKind, Institute, Role, Tenant
from tests.support.states import put_in_state
from tests.world import PASSWORD, World

TB_ABSTRACT = ("We map drug resistance of tuberculosis across Kazakhstan and Armenia with "
               "whole-genome sequencing of clinical isolates, and build a shared genomic "
               "surveillance database for the national laboratories. Aigerim Nurlanovna's "
               "group at the Institute of Physics alpha leads the sequencing.")
WATER_ABSTRACT = ("Heavy metals and nitrates in small rivers reach drinking water. We measure "
                  "water quality along two watersheds, model the hydrology of pollution and "
                  "relate it to public health records of the villages downstream.")


@dataclass
class Panel:
    """Ids of tenant A's review set-up (users by key, proposals, donors)."""

    world: World
    slug: str
    tenant_id: int
    call_id: int
    officer: int
    applicant: int
    tb: int  #: the world's proposal: tuberculosis genomics, PI Aigerim Nurlanovna
    water: int  #: a second proposal: water quality, PI Armen Sargsyan
    donors: dict[str, int] = field(default_factory=dict)  #: d1, d2 (in the call), d3, partner
    users: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


#: key -> (name, donor key, expertise, nationality)
REVIEWERS = {
    "r2": ("Bea Wasser", "d1", "hydrology, water quality, watershed pollution", "DE"),
    "r3": ("Chen Genome", "d2", "genomics, tuberculosis, drug resistance, sequencing", "KR"),
    "r4": ("Dana Hydro", "d2", "water pollution, public health, epidemiology", "NO"),
    "r5": ("Emil Outside", "d3", "tuberculosis genomics", "JP"),
    "p1": ("Pat Partner", "partner", "", "FR"),
}


def fill(proposal: Proposal, applicant: User, *, title: str, abstract: str, keywords: str,
         institutes: list[Institute], pi: str, budget: dict[int, int]) -> None:
    """Write a proposal's content: lead and partners, a PI, one task, one budget line."""
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              title=title, abstract=abstract, objectives="Objectives.",
                              keywords=keywords, duration_months=24, topic="Public health")
    present = {p.institute_id for p in proposal.partners}
    for n, institute in enumerate(institutes):
        if institute.id not in present:
            proposals.add_partner(proposal, institute, lead=n == 0, by=applicant)
    member = proposals.add_team_member(proposal, by=applicant, name=pi,
                                       role="principal_investigator",
                                       institute_id=institutes[0].id,
                                       citizenship=institutes[0].country_code,
                                       email=f"{pi.split()[0].lower()}@lab.example")
    proposals.add_task(proposal, by=applicant, efforts={member.id: 100},
                       title=f"Field work led by {pi}", institute_id=institutes[0].id,
                       start_month=1, end_month=12)
    proposals.add_budget_line(proposal, by=applicant, category="personnel",
                              description="Salaries", amount=sum(budget.values()),
                              splits=budget)
    proposals.update_sections(proposal, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", publication_policy="Open access.")


def add_reviewer(tenant: Tenant, key: str, donor_id: int, *, name: str, expertise: str,
                 nationality: str | None) -> User:
    user = accounts.create_user(f"{key}@alpha.example", name, PASSWORD)
    accounts.add_membership(user, tenant, Role.reviewer, by=None, donor_id=donor_id)
    services.save_profile(user, by=user, expected_version=0, expertise=expertise,
                          institute_id=None, nationality=nationality, collaborators="",
                          max_load=6)
    return user


def build_panel(world: World) -> Panel:
    side = world.a
    tenant = db.session.get(Tenant, side.tenant_id)
    officer = db.session.get(User, side.user_ids[Role.officer])
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    d1, d2 = side.donor_ids
    d3 = tenants.add_donor(by=officer, name="Donor Three of alpha", short_name="D3",
                           kind=DonorKind.government, country_code="JP")
    partner = tenants.add_donor(by=officer, name="Acme Pharma", short_name="ACME",
                                kind=DonorKind.partner, country_code="CH")
    db.session.flush()
    donors = {"d1": d1, "d2": d2, "d3": d3.id, "partner": partner.id}
    physics, botany = (db.session.get(Institute, i) for i in side.institute_ids)

    # The world part's bare assignment on the draft would only confuse these tests.
    for assignment in db.session.scalars(db.select(Assignment)):
        services.unassign(assignment, by=officer)

    tb = db.session.get(Proposal, side.ids["proposal_id"])
    fill(tb, applicant, title="Genomic surveillance of drug-resistant tuberculosis",
         abstract=TB_ABSTRACT, keywords="tuberculosis, genomics, drug resistance",
         institutes=[physics, botany], pi="Aigerim Nurlanovna",
         budget={d1: 60_000_00, d2: 40_000_00})
    water = proposals.start_proposal(tb.call, by=applicant)
    fill(water, applicant, title="Small rivers, heavy metals and village health",
         abstract=WATER_ABSTRACT, keywords="water quality, hydrology, public health",
         institutes=[botany], pi="Armen Sargsyan", budget={d1: 50_000_00, d2: 30_000_00})
    for proposal in (tb, water):
        put_in_state(proposal, ProposalStatus.under_review, by=officer)

    users = {"officer": officer.id, "applicant": applicant.id,
             "r1": side.user_ids[Role.reviewer], "admin": side.user_ids[Role.admin]}
    emails = {"officer": officer.email, "applicant": applicant.email,
              "r1": side.emails[Role.reviewer], "admin": side.emails[Role.admin]}
    for key, (name, donor_key, expertise, nationality) in REVIEWERS.items():
        user = add_reviewer(tenant, key, donors[donor_key], name=name, expertise=expertise,
                            nationality=nationality)
        users[key], emails[key] = user.id, user.email
    funding.add_delegate(db.session.get(Donor, d2), db.session.get(User, users["r3"]),
                         by=officer)
    funding.add_delegate(partner, db.session.get(User, users["p1"]), by=officer)
    return Panel(world=world, slug=side.slug, tenant_id=side.tenant_id, call_id=tb.call_id,
                 officer=officer.id, applicant=applicant.id, tb=tb.id, water=water.id,
                 donors=donors, users=users, emails=emails)


@pytest.fixture()
def panel(app: Flask, world: World) -> Panel:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        built = build_panel(world)
        db.session.commit()
        db.session.remove()
    return built


@pytest.fixture()
def scope(app: Flask, panel: Panel) -> Iterator[Panel]:
    """An application context in tenant A, for calling services and checking the database."""
    with app.app_context(), tenant_scope(panel.tenant_id):
        yield panel
        db.session.remove()


def user(panel: Panel, key: str) -> User:
    return db.session.get(User, panel.users[key])


def proposal(panel: Panel, key: str) -> Proposal:
    return db.session.get(Proposal, getattr(panel, key))


def membership(panel: Panel, key: str) -> Any:
    from center.tenants.models import Membership

    return db.session.scalar(db.select(Membership).where(
        Membership.user_id == panel.users[key], Membership.role == Role.reviewer))


def accepted(panel: Panel, proposal_key: str, reviewer_key: str) -> Assignment:
    """Assign a reviewer and have them declare no conflict (flushes, no commit)."""
    assignment = services.assign(proposal(panel, proposal_key), membership(panel, reviewer_key),
                                 by=user(panel, "officer"))
    services.declare(assignment, by=user(panel, reviewer_key), conflict=False)
    return assignment


def review(assignment: Assignment, merit: int, team: int, *, to_applicants: str = "Solid.",
           confidential: str = "", submit: bool = True) -> None:
    services.save_review(assignment, by=assignment.reviewer,
                         expected_version=assignment.review.version if assignment.review else 0,
                         scores={"Scientific merit": merit, "Team": team},
                         comments_to_applicants=to_applicants,
                         confidential_comments=confidential, submit=submit)
