"""The agreements module's part of the test world: an approved proposal with an agreement.

Each side gets a second proposal, approved, with a generated draft agreement (one invitation
letter) and an edited clause, so that every agreement URL has an object to ask for.
Rendering is the real one, memoised by the exact content rendered: the world is rebuilt
for every test with the same data, so after the first build it costs no PDF work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from center.agreements import pdf
from center.agreements import services as agreements
from center.auth.models import User
from center.calls.models import Call
from center.core.db import db
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funded_split, funding
from center.tenants import services as tenants
from center.tenants.models import Donor, Institute, Role, Tenant
from tests.support.states import put_in_state
from tests.world import open_call

_RENDERED: dict[str, tuple[bytes, list[bytes]]] = {}


def memoised_render(context: dict[str, Any], letters: Sequence[dict[str, Any]]
                    ) -> tuple[bytes, list[bytes]]:
    """Render like `pdf.render_documents`, reusing the PDFs of identical input."""
    key = hashlib.sha256(json.dumps([context, list(letters)], sort_keys=True,
                                    default=str).encode()).hexdigest()
    if key not in _RENDERED:
        _RENDERED[key] = pdf.render_documents(context, letters)
    return _RENDERED[key]


def agreements_call(side) -> Call:  # noqa: ANN001
    """The side's call for the approved proposals of these tests, apart from the world's
    call so that their commitments do not count in other modules' funding tests."""
    if "agreements_call_id" not in side.ids:
        world_call = db.session.get(Call, side.ids["call_id"])
        call = open_call(donor_ids=side.donor_ids, countries=world_call.eligible_countries,
                         title="Climate and water, funded projects")
        side.ids["agreements_call_id"] = call.id
    return db.session.get(Call, side.ids["agreements_call_id"])


def approved_proposal(side, *, title: str = "Glacier melt and water security",  # noqa: ANN001
                      pi_name: str = "Aigerim Nurlanovna", trips: int = 1,
                      korean_partner: bool = False, foreground_ip_terms: str = "",
                      background: str = "", **overview: Any) -> Proposal:
    """Write a complete proposal to the side's call through the services and approve it.

    ``korean_partner`` adds a Korean scientist at the partner institute whose trip needs a
    visa but, by the tenant's visa table, no invitation letter.
    """
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    officer = db.session.get(User, side.user_ids[Role.officer])
    proposal = proposals.start_proposal(agreements_call(side), by=applicant)
    lead, partner = (db.session.get(Institute, i) for i in side.institute_ids)
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposals.add_partner(proposal, partner, lead=False, by=applicant)
    fields = {"title": title, "acronym": "GLACIER", "abstract": "Glaciers melt. " * 30,
              "objectives": "Measure the melt.", "keywords": "glaciers, water",
              "duration_months": 24, **overview}
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              **fields)
    pi = proposals.add_team_member(proposal, by=applicant, name=pi_name,
                                   role="principal_investigator", institute_id=lead.id,
                                   citizenship=lead.country_code)
    d1, d2 = side.donor_ids
    proposals.add_budget_line(proposal, by=applicant, category="personnel",
                              description="Salaries", amount=100_000_00,
                              splits={d1: 60_000_00, d2: 40_000_00})
    for number in range(trips):
        proposals.add_trip(proposal, by=applicant, traveller=pi,
                           origin_country=lead.country_code, origin_city=lead.city,
                           destination_country=partner.country_code,
                           destination_city=partner.city,
                           depart_on=dt.date(2027, 5, 3 + number),
                           return_on=dt.date(2027, 5, 10 + number), purpose="Field campaign")
    if korean_partner:
        tenants.set_visa_rule("KR", lead.country_code, visa_required=True,
                              invitation_required=False, by=officer)
        scientist = proposals.add_team_member(proposal, by=applicant, name="김민준",
                                              role="scientist", institute_id=partner.id,
                                              citizenship="KR")
        proposals.add_trip(proposal, by=applicant, traveller=scientist, origin_country="KR",
                           destination_country=lead.country_code,
                           destination_city=lead.city, depart_on=dt.date(2027, 6, 1),
                           return_on=dt.date(2027, 6, 8), purpose="Installation")
    if background:
        proposals.add_background_ip(proposal, by=applicant, institute_id=partner.id,
                                    description=background, restrictions="Research only.")
    proposals.update_sections(proposal, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", foreground_ip_terms=foreground_ip_terms,
                              publication_policy="Open access.")
    fund_as_asked(proposal, by=officer)
    return proposal


def fund_as_asked(proposal: Proposal, *, by: User,
                  amounts: dict[int, int] | None = None) -> Proposal:
    """Put ``proposal`` into funding and commit ``amounts`` ({donor id: minor units}; by
    default what the budget asks of each donor), which approves it once they cover the
    budget. Test set-up: the commitments are made as ``by``, above-asked confirmed."""
    put_in_state(proposal, ProposalStatus.funding, by=by)
    funding.open_funding(proposal)
    if amounts is None:
        amounts = funded_split.asked_by_donor(proposal)
    for donor_id, amount in amounts.items():
        if amount:
            funding.commit(proposal, db.session.get(Donor, donor_id), amount, by=by,
                           above_asked=True)
    return proposal


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    admin = db.session.get(User, side.user_ids[Role.admin])
    proposal = approved_proposal(side)
    agreement = agreements.generate_agreement(proposal, by=admin, tenant=tenant,
                                              render=memoised_render)
    clause = agreements.save_clause(
        "confidentiality", by=admin, title="Confidentiality",
        body=agreements.default_clause("confidentiality").body, settings={},
        expected_number=0, note="Reviewed by counsel")
    side.ids["agreement_id"] = agreement.id
    side.ids["letter_id"] = agreement.letters[0].id
    side.ids["clause_id"] = clause.id
    side.ids["approved_proposal_id"] = proposal.id
