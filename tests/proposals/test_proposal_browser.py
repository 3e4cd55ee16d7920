"""In Chromium: an applicant fills a whole proposal and submits it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.demo import _demo_pdf
from center.proposals.models import Proposal, ProposalStatus
from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser

ABSTRACT = (
    "Multidrug-resistant tuberculosis spreads between Kazakhstan and Armenia along labour "
    "migration routes. The consortium will sequence isolates from both national reference "
    "laboratories, build a shared resistance database, train laboratory staff in genomic "
    "methods and give the national programmes a common early-warning dashboard for new "
    "resistance clusters crossing the border, with open data for both ministries of health."
)


def test_an_applicant_fills_a_whole_proposal_and_submits_it(app, page, world: World) -> None:
    sign_in(page, world.a.emails["applicant"], PASSWORD)
    page.goto(f"/{world.a.slug}/calls/{world.a.ids['call_id']}")
    page.get_by_role("link", name="Apply to this call").click()
    page.get_by_role("button", name="Start a proposal").click()

    page.get_by_label("Title").fill("Cross-border genomic surveillance of MDR tuberculosis")
    page.get_by_label("Acronym").fill("TB-GENOME")
    page.get_by_label("Abstract").fill(ABSTRACT)
    page.get_by_label("Objectives").fill("A shared resistance database and trained staff.")
    page.get_by_label("Keywords").fill("tuberculosis, genomics, surveillance")
    page.get_by_label("Duration (months)").fill("24")
    page.get_by_role("button", name="Save the overview").click()

    page.get_by_role("link", name="2. Consortium").click()
    institute = page.get_by_label("Institute", exact=True)
    institute.select_option(label="Institute of Physics alpha (Kazakhstan)")
    page.get_by_label("Role in the consortium").select_option("lead")
    page.get_by_role("button", name="Add to the consortium").click()
    institute.select_option(label="Institute of Botany alpha (Armenia)")
    page.get_by_role("button", name="Add to the consortium").click()

    page.get_by_role("link", name="3. Team").click()
    for name, role, institute, country in [
        ("Aigerim Nurlanovna", "principal_investigator", "Institute of Physics alpha", "KZ"),
        ("Armen Petrosyan", "scientist", "Institute of Botany alpha", "AM"),
    ]:
        page.get_by_label("Full name").fill(name)
        page.get_by_label("Role", exact=True).select_option(role)
        page.get_by_label("Institute").select_option(label=institute)
        page.get_by_label("Citizenship").select_option(country)
        page.get_by_role("button", name="Add to the team").click()

    page.get_by_role("link", name="4. Work plan").click()
    page.get_by_label("Task", exact=True).fill("Sequencing of reference isolates")
    page.get_by_label("From month").fill("1")
    page.get_by_label("To month").fill("18")
    page.get_by_label("Aigerim Nurlanovna").fill("120")
    page.get_by_label("Armen Petrosyan").fill("80")
    page.get_by_role("button", name="Add the task").click()

    page.get_by_role("link", name="5. Budget").click()
    page.get_by_label("Description").fill("Sequencing reagents")
    page.get_by_label("Category").select_option("materials")
    page.get_by_label("Amount").fill("90000")
    page.get_by_label("Share asked of Donor One of alpha (EUR)").fill("60000")
    page.get_by_label("Share asked of Donor Two of alpha (EUR)").fill("20000")
    page.get_by_role("button", name="Add the line").click()
    assert "add up to" in page.locator("#amount-error").inner_text()  # 80,000 of 90,000
    assert page.get_by_label("Description").input_value() == "Sequencing reagents"
    page.get_by_label("Share asked of Donor Two of alpha (EUR)").fill("30000")
    page.get_by_role("button", name="Add the line").click()
    screenshot(page, "proposal-budget")

    page.get_by_role("link", name="6. Travel").click()
    page.get_by_label("Traveller").select_option(label="Armen Petrosyan")
    page.get_by_label("From (country)").select_option("AM")
    page.get_by_label("To (country)").select_option("JP")
    page.get_by_label("To (city)").fill("Tokyo")
    page.get_by_label("Departure").fill("2027-05-10")
    page.get_by_label("Return").fill("2027-05-20")
    page.get_by_label("Purpose").fill("Training in long-read sequencing")
    page.get_by_label("Estimated cost").fill("1850.50")
    page.get_by_role("button", name="Add the trip").click()
    # The trip costs more than the (empty) travel budget: the editor says so.
    assert "short by €1,850.50" in page.locator("#coverage").inner_text()
    trip_row = page.locator("table tbody tr").first
    assert "needed" in trip_row.inner_text() and "not needed" not in trip_row.inner_text()
    # A row is corrected in place: it opens in the form with its values.
    page.get_by_role("link", name="Change Armen Petrosyan → JP").click()
    assert page.get_by_role("heading", name="Change the trip of Armen Petrosyan").is_visible()
    assert page.get_by_label("To (city)").input_value() == "Tokyo"
    page.get_by_label("To (city)").fill("Osaka")
    screenshot(page, "proposal-trip-change")
    page.get_by_role("button", name="Save the changes").click()
    assert page.get_by_text("Changes saved.").is_visible()
    assert "Osaka" in page.locator("table tbody tr").first.inner_text()
    assert page.locator("table tbody tr").count() == 1

    page.get_by_role("link", name="5. Budget").click()
    page.get_by_label("Description").fill("Travel to the training")
    page.get_by_label("Category").select_option("travel")
    page.get_by_label("Amount").fill("1850.50")
    page.get_by_label("Share asked of Donor One of alpha (EUR)").fill("1850.50")
    page.get_by_role("button", name="Add the line").click()
    page.get_by_role("link", name="6. Travel").click()
    assert "covers the trips" in page.locator("#coverage").inner_text()

    page.get_by_role("link", name="7. IP plan").click()
    page.get_by_label("Foreground IP belongs to").select_option("joint")
    page.get_by_label("Publication policy").fill("Open access within six months.")
    page.get_by_role("button", name="Save the IP plan").click()

    page.get_by_role("link", name="8. Files and co-applicants").click()
    page.get_by_label("Document").select_option("cv")
    page.get_by_label("File").set_input_files(
        {"name": "cv-nurlanovna.pdf", "mimeType": "application/pdf",
         "buffer": _demo_pdf("CV of Aigerim Nurlanovna")})
    page.get_by_role("button", name="Upload").click()
    screenshot(page, "proposal-files")
    assert page.get_by_text("Everything required is there.").is_visible()

    page.get_by_role("link", name="Preview and submit").first.click()
    assert page.get_by_role("heading", name="Budget", exact=True).is_visible()
    screenshot(page, "proposal-preview")
    page.get_by_role("button", name="Submit the proposal").click()
    assert page.get_by_text("Tick the declaration to submit.").first.is_visible()
    page.get_by_label("I declare").check()
    page.get_by_role("button", name="Submit the proposal").click()
    assert page.get_by_text("the proposal is now submitted").is_visible()
    screenshot(page, "proposal-submitted")

    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.scalar(select(Proposal).where(Proposal.acronym == "TB-GENOME"))
        assert proposal.status == ProposalStatus.submitted and proposal.version_no == 1
        assert sorted(proposal.countries) == ["AM", "KZ"]
        assert {s.amount for s in proposal.budget_lines[0].splits} == {60_000_00, 30_000_00}
        assert proposal.trips[0].visa_needed and proposal.attachments[0].sha256
        assert proposal.trips[0].cost == 1_850_50
