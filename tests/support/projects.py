"""Active projects for the post-award tests, built through the real services.

`active_project` writes a complete proposal (two institutes, a PI at the lead and a
scientist at the partner, one task, personnel and equipment lines split between the side's
two donors), funds it as asked, generates, issues, has every party acknowledge and
countersigns its agreement, the countersignature with the clock at ``signed_at``: the
project starts that day. Agreement PDFs are memoised like
the agreements world's.
"""

from __future__ import annotations

import datetime as dt

from center.agreements import services as agreements
from center.agreements.models import Party
from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call
from center.core import clock
from center.core.db import db, tenant_scope
from center.projects import reports, tranches
from center.projects.models import Project
from center.proposals import services as proposals
from center.proposals.models import Proposal
from center.reviews import funding
from center.tenants.models import Donor, Institute, Role, Tenant
from tests.agreements.world_part import fund_as_asked, memoised_render
from tests.world import PASSWORD, open_call

ADMIN = frozenset({Role.admin})
#: The countersignature's moment: projects start on 15 January 2027 (month 1: January).
SIGNED_AT = dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC)


def user(side, role: str) -> User:  # noqa: ANN001
    return db.session.get(User, side.user_ids[role])


def delegate_for(side, index: int, tenant: Tenant) -> User:  # noqa: ANN001
    """A delegate of the side's donor ``index`` (the world's reviewer is D1's)."""
    if index == 0:
        return user(side, Role.reviewer)
    email = f"delegate.d{index + 1}@{side.slug}.example"
    found = accounts.find_user(email)
    if found is not None:
        return found
    person = accounts.create_user(email, f"Delegate of D{index + 1}", PASSWORD)
    donor = db.session.get(Donor, side.donor_ids[index])
    accounts.add_membership(person, tenant, Role.reviewer, by=user(side, Role.admin),
                            donor_id=donor.id)
    db.session.flush()
    funding.add_delegate(donor, person, by=user(side, Role.admin))
    return person


def active_project(side, tenant: Tenant, *, title: str = "Glacier melt and water security",  # noqa: ANN001, PLR0913
                   abstract: str = "Glaciers melt. " * 30, pi_name: str = "Aigerim Nurlanovna",
                   pi_email: str = "aigerim@ncpt.example", pi_days: int = 100,
                   signed_at: dt.datetime = SIGNED_AT, countersign: bool = True) -> Proposal:
    """Return an active project of ``side`` (see the module docstring); with
    ``countersign=False`` the agreement is left acknowledged by every party, for a test
    that countersigns it itself."""
    applicant = user(side, Role.applicant)
    admin = user(side, Role.admin)
    world_call = db.session.get(Call, side.ids["call_id"])
    call = open_call(donor_ids=side.donor_ids, countries=world_call.eligible_countries,
                     title=f"Funded projects: {title}")  # a call each: offers stay ample
    proposal = proposals.start_proposal(call, by=applicant)
    lead, partner = (db.session.get(Institute, i) for i in side.institute_ids)
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposals.add_partner(proposal, partner, lead=False, by=applicant)
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              title=title, acronym="PRJ", abstract=abstract,
                              objectives="Measure it.", keywords="water",
                              duration_months=24)
    pi = proposals.add_team_member(proposal, by=applicant, name=pi_name, email=pi_email,
                                   role="principal_investigator", institute_id=lead.id,
                                   citizenship=lead.country_code)
    scientist = proposals.add_team_member(proposal, by=applicant, name="Armen Sargsyan",
                                          role="scientist", institute_id=partner.id,
                                          citizenship=partner.country_code)
    proposals.add_task(proposal, by=applicant, title="Field measurements",
                       description="Measure the melt.", institute_id=lead.id,
                       start_month=1, end_month=12,
                       efforts={pi.id: pi_days, scientist.id: 50})
    d1, d2 = side.donor_ids
    proposals.add_budget_line(proposal, by=applicant, category="personnel",
                              description="Salaries, lead", amount=100_000_00,
                              institute_id=lead.id, splits={d1: 60_000_00, d2: 40_000_00})
    proposals.add_budget_line(proposal, by=applicant, category="personnel",
                              description="Salaries, partner", amount=25_000_00,
                              institute_id=partner.id, splits={d1: 25_000_00})
    proposals.add_budget_line(proposal, by=applicant, category="equipment",
                              description="Weather station", amount=40_000_00,
                              institute_id=lead.id, splits={d1: 20_000_00, d2: 20_000_00})
    fund_as_asked(proposal, by=user(side, Role.officer))
    agreement = agreements.generate_agreement(proposal, by=admin, tenant=tenant,
                                              render=memoised_render)
    agreements.issue_agreement(agreement, by=admin, roles=ADMIN, tenant=tenant,
                               expected_version=proposal.version)
    agreements.acknowledge(agreement, by=user(side, Role.signatory),
                           party=Party.lead_institute, donor_id=None,
                           typed_name="Lead Signatory", sha256=agreement.sha256)
    for index, donor_id in enumerate(side.donor_ids):
        agreements.acknowledge(agreement, by=delegate_for(side, index, tenant),
                               party=Party.donor, donor_id=donor_id,
                               typed_name=f"Delegate {index + 1}", sha256=agreement.sha256)
    if not countersign:
        db.session.flush()
        return proposal
    with clock.frozen_at(signed_at):
        agreements.countersign(agreement, by=admin, roles=ADMIN, typed_name="Admin Person",
                               tenant=tenant, expected_version=proposal.version)
    db.session.flush()
    return proposal


def committed_project(app, world, **fields) -> int:  # noqa: ANN001, ANN003
    """Build an active project of the world's side A in its own context, commit it and
    return its id (for tests that then make HTTP requests)."""
    from center.core.db import tenant_scope

    with app.app_context(), tenant_scope(world.a.tenant_id):
        project = active_project(world.a, db.session.get(Tenant, world.a.tenant_id), **fields)
        db.session.commit()
        project_id = project.id
        db.session.remove()
    return project_id


def signed_in(app, email: str):  # noqa: ANN001, ANN201
    """A test client signed in as ``email`` (the world's password)."""
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def settle_the_rest(app, side, project_id: int) -> None:  # noqa: ANN001
    """What a browser walk does not click through: every report not yet accepted written,
    submitted and accepted, every due tranche approved and every approved one paid, each
    through the services (their own tests check them)."""
    with app.app_context(), tenant_scope(side.tenant_id):
        tenant = db.session.get(Tenant, side.tenant_id)
        project = db.session.get(Project, project_id)
        applicant, officer, admin = (user(side, r) for r in
                                     (Role.applicant, Role.officer, Role.admin))
        for period in project.periods:
            if period.is_done:
                continue
            report = reports.start_report(period, by=applicant)
            reports.save_draft(report, by=applicant, expected_version=report.version,
                               sections={"summary": f"Period {period.number} done.",
                                         "results": f"Results of period {period.number}."},
                               progress={})
            reports.fire(report, "submit", by=applicant, roles=frozenset({Role.applicant}),
                         tenant=tenant)
            reports.fire(report, "accept", by=officer, roles=frozenset({Role.officer}),
                         tenant=tenant)
        for t in project.tranches:
            if t.status == "due":
                tranches.fire(t, "approve", by=officer, roles=frozenset({Role.officer}))
            if t.status == "approved":
                tranches.fire(t, "pay", by=admin, roles=ADMIN, reference=f"REF-{t.number}",
                              paid_on=clock.now().date())
        db.session.commit()
        db.session.remove()
