"""The projects module's part of the test world: an active project of each side.

The project is funded by D1 alone, so that the matrix's reviewer of D2 funds nothing here
and must be refused. It is made through the real path: a proposal written, funded, its
agreement generated (rendering memoised), issued, acknowledged by every party (the world's
reviewer is D1's delegate) and countersigned. `project_donor` adds a third donor for tests
that want one; the world itself keeps its two donors, which other modules' tests count.
"""

from __future__ import annotations

from center.agreements import services as agreements
from center.agreements.models import Party
from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call
from center.core.db import db
from center.projects import reports, services
from center.projects.models import Project
from center.proposals import services as proposals
from center.proposals.models import Proposal, Task
from center.reviews import funding
from center.tenants import services as tenants
from center.tenants.models import Donor, DonorKind, Institute, Role, Tenant
from tests.agreements.world_part import fund_as_asked, memoised_render
from tests.world import PASSWORD, TINY_PNG, open_call

ADMIN = frozenset({Role.admin})


def project_donor(side, tenant: Tenant) -> int:  # noqa: ANN001
    """A third donor of the side, with a delegate, for tests that want one."""
    if "project_donor_id" not in side.ids:
        admin = db.session.get(User, side.user_ids[Role.admin])
        donor = tenants.add_donor(by=admin, name=f"Donor Three of {side.slug}",
                                  short_name="D3", kind=DonorKind.foundation)
        db.session.flush()
        delegate = accounts.create_user(f"reviewer.d3@{side.slug}.example",
                                        "Reviewer for D3", PASSWORD)
        accounts.add_membership(delegate, tenant, Role.reviewer, by=admin, donor_id=donor.id)
        db.session.flush()
        funding.add_delegate(donor, delegate, by=admin)
        side.ids["project_donor_id"] = donor.id
        side.user_ids["project_reviewer"] = delegate.id
    return side.ids["project_donor_id"]


def funded_proposal(side, tenant: Tenant, *, title: str = "Permafrost carbon monitoring",  # noqa: ANN001
                    duration: int = 12, donors: dict[int, int] | None = None) -> Proposal:
    """A complete proposal funded as asked: by D1 alone unless ``donors`` ({donor id:
    minor units}) says otherwise; two work-plan tasks."""
    donors = donors or {side.donor_ids[0]: 90_000_00}
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    officer = db.session.get(User, side.user_ids[Role.officer])
    world_call = db.session.get(Call, side.ids["call_id"])
    call = open_call(donor_ids=list(donors), countries=world_call.eligible_countries,
                     title=f"Funded projects {len(donors)}")
    proposal = proposals.start_proposal(call, by=applicant)
    lead, partner = (db.session.get(Institute, i) for i in side.institute_ids)
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposals.add_partner(proposal, partner, lead=False, by=applicant)
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              title=title, acronym="PERMA", abstract="Permafrost thaws. " * 30,
                              objectives="Measure the carbon.", keywords="permafrost",
                              duration_months=duration)
    proposals.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                              role="principal_investigator", institute_id=lead.id,
                              citizenship=lead.country_code)
    proposals.add_budget_line(proposal, by=applicant, category="personnel",
                              description="Salaries", amount=sum(donors.values()),
                              splits=donors)
    proposals.update_sections(proposal, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", foreground_ip_terms="",
                              publication_policy="Open access.")
    for number, (start, end) in enumerate(((1, 6), (4, duration)), start=1):

        proposal.tasks.append(Task(title=f"Task {number}: field campaign", institute_id=lead.id,
                                   start_month=start, end_month=end))
    db.session.flush()
    fund_as_asked(proposal, by=officer)
    return proposal


def countersigned(side, tenant: Tenant, proposal: Proposal) -> Project:  # noqa: ANN001
    """Generate, issue, acknowledge (every party) and countersign ``proposal``'s agreement."""
    admin = db.session.get(User, side.user_ids[Role.admin])
    agreement = agreements.generate_agreement(proposal, by=admin, tenant=tenant,
                                              render=memoised_render)
    agreements.issue_agreement(agreement, by=admin, roles=ADMIN, tenant=tenant)
    agreements.acknowledge(agreement, by=db.session.get(User, side.user_ids[Role.signatory]),
                           party=Party.lead_institute, donor_id=None, typed_name="Signatory",
                           sha256=agreement.sha256)
    for donor_id in agreement.donor_ids:
        delegate = agreements.donor_delegates(agreement, donor_id)[0]
        agreements.acknowledge(agreement, by=delegate, party=Party.donor, donor_id=donor_id,
                               typed_name=delegate.name, sha256=agreement.sha256)
    agreements.countersign(agreement, by=admin, roles=ADMIN, typed_name="Admin Person",
                           tenant=tenant)
    project = services.project_of(proposal)
    assert project is not None
    return project


def active_project(side, tenant: Tenant, **kwargs) -> Project:  # noqa: ANN001, ANN003
    return countersigned(side, tenant, funded_proposal(side, tenant, **kwargs))


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    # D1's delegate acknowledges the agreement; tests/reviews/world_part.py names the same
    # one later (adding a delegate twice keeps the first).
    funding.add_delegate(db.session.get(Donor, side.donor_ids[0]),
                         db.session.get(User, side.user_ids[Role.reviewer]), by=platform)
    project = active_project(side, tenant)
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    period = project.periods[0]
    report = reports.start_report(period, by=applicant)
    attachment = reports.add_attachment(report, by=applicant, filename="photo.png",
                                        data=TINY_PNG)
    side.ids["project_id"] = project.id
    side.ids["period_id"] = period.id
    side.ids["file_id"] = attachment.id
    side.ids["tranche_id"] = project.tranches[0].id
