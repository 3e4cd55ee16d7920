"""A five-donor proposal for the commitments tests: three budget lines asked of five donors,
funded by commitments that differ from what was asked (one donor commits more, two commit
nothing)."""

from __future__ import annotations

from center.auth.models import User
from center.core.db import db
from center.proposals import services as proposals
from center.proposals.models import Proposal
from center.tenants import services as tenants
from center.tenants.models import DonorKind, Institute, Role
from tests.agreements.world_part import fund_as_asked
from tests.world import open_call

TITLE = "Permafrost carbon and river chemistry"
#: (category, description, amount, asked of D1..D5) in minor units.
LINES = [
    ("personnel", "Salaries", 100_000_00, (40_000_00, 20_000_00, 20_000_00, 10_000_00,
                                           10_000_00)),
    ("equipment", "Mass spectrometer", 50_000_00, (10_000_00, 10_000_00, 10_000_00, 10_000_00,
                                                   10_000_00)),
    ("travel", "Field campaigns", 30_000_01, (10_000_00, 10_000_00, 0, 5_000_00, 5_000_01)),
]
ASKED = [sum(line[3][i] for line in LINES) for i in range(5)]  # 60k, 40k, 30k, 25k, 25k.01
#: D1 commits more than asked (it takes over D4's and D5's part), D2 and D3 what they were
#: asked, D4 and D5 nothing.
COMMITTED = [110_000_01, 40_000_00, 30_000_00, 0, 0]


def five_donor_proposal(side, *, commit: bool = True) -> tuple[Proposal, list[int]]:  # noqa: ANN001
    """Write the proposal to a call of the side's two donors and three more, and (unless
    ``commit`` is False) put it into funding and commit `COMMITTED`. Returns the proposal
    and the five donor ids."""
    officer = db.session.get(User, side.user_ids[Role.officer])
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    extra = [tenants.add_donor(by=officer, name=name, short_name=short,
                               kind=DonorKind.government, country_code=country)
             for name, short, country in (("Japan Science Fund", "JSF", "JP"),
                                          ("Korea Research Agency", "KRA", "KR"),
                                          ("Nordic Climate Trust", "NCT", "NO"))]
    db.session.flush()
    donor_ids = [*side.donor_ids, *(d.id for d in extra)]
    call = open_call(donor_ids=donor_ids, countries=["KZ", "AM"],
                     title="Arctic and mountain carbon", budget_ceiling=500_000_00)
    lead, partner = (db.session.get(Institute, i) for i in side.institute_ids)
    proposal = proposals.start_proposal(call, by=applicant)
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposals.add_partner(proposal, partner, lead=False, by=applicant)
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              title=TITLE, acronym="PERMA", abstract="Permafrost thaws. " * 30,
                              objectives="Measure the carbon.", keywords="permafrost, carbon",
                              duration_months=24)
    proposals.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                              role="principal_investigator", institute_id=lead.id,
                              citizenship=lead.country_code)
    for category, description, amount, asked in LINES:
        proposals.add_budget_line(proposal, by=applicant, category=category,
                                  description=description, amount=amount,
                                  splits=dict(zip(donor_ids, asked, strict=True)))
    proposals.update_sections(proposal, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", foreground_ip_terms="",
                              publication_policy="Open access.")
    if commit:
        fund_as_asked(proposal, by=officer,
                      amounts=dict(zip(donor_ids, COMMITTED, strict=True)))
    return proposal, donor_ids
