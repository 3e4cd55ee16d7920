"""In Chromium: an applicant changes the lead explicitly and budgets per institute; an
officer merges an institute an applicant proposed into the one it duplicates."""

from __future__ import annotations

import pytest

from center.auth.models import User
from center.core.db import db, tenant_scope
from center.proposals import services
from center.proposals.models import Proposal
from center.tenants import services as tenants
from center.tenants.models import Institute, Role
from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_applicant_makes_a_partner_the_lead_and_budgets_per_institute(app, page,
                                                                         world: World) -> None:
    sign_in(page, world.a.emails["applicant"], PASSWORD)
    base = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit"
    page.goto(f"{base}/consortium")
    page.get_by_label("Institute", exact=True).select_option(
        label="Institute of Botany alpha (Armenia)")
    page.get_by_label("Role in the consortium").select_option("lead")
    page.get_by_role("button", name="Add to the consortium").click()
    assert "is the lead institute" in page.locator("#role-error").inner_text()
    page.get_by_label("Role in the consortium").select_option("partner")
    page.get_by_role("button", name="Add to the consortium").click()
    page.get_by_role("link", name="Make lead (Institute of Botany alpha)").click()
    assert page.get_by_text("Institute of Physics alpha stops being the lead").is_visible()
    screenshot(page, "consortium-make-lead")
    page.get_by_role("button", name="Yes, make the change").click()
    assert page.get_by_text("Institute of Botany alpha now leads the consortium.").is_visible()

    page.goto(f"{base}/budget")
    for institute, description, amount in [("Institute of Physics alpha", "Salaries", "5000"),
                                           ("Institute of Botany alpha", "Microscope", "3000")]:
        page.get_by_label("Institute", exact=True).select_option(label=institute)
        page.get_by_label("Description").fill(description)
        page.get_by_label("Amount").fill(amount)
        page.get_by_label("Share asked of Donor One of alpha (EUR)").fill(amount)
        page.get_by_role("button", name="Add the line").click()
    assert page.get_by_text("Total of Institute of Botany alpha").is_visible()
    screenshot(page, "budget-by-institute")


def test_an_officer_merges_a_proposed_institute_into_the_existing_one(app, page,
                                                                      world: World) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        duplicate = tenants.add_institute(by=applicant, verified=False,
                                          name="Institute of Botany (Alpha)",
                                          country_code="AM", city="Yerevan")
        db.session.flush()
        services.add_partner(proposal, duplicate, by=applicant)
        db.session.commit()
        dup_id = duplicate.id
    sign_in(page, world.a.emails["officer"], PASSWORD)
    page.goto(f"/{world.a.slug}/screening/institutes")
    screenshot(page, "institutes-to-confirm")
    page.get_by_label("The same institute as").select_option(
        label="Institute of Botany alpha (Armenia, Yerevan)")
    page.get_by_role("button", name="Merge into the chosen institute…").click()
    assert page.get_by_text("Places in a consortium: 1").is_visible()
    screenshot(page, "institute-merge")
    page.get_by_role("button", name="Merge", exact=True).click()
    assert page.get_by_text("No institute waits for confirmation.").is_visible()
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Institute, dup_id) is None
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        assert world.a.institute_ids[1] in {p.institute_id for p in proposal.partners}
