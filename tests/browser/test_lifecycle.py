"""In Chromium: the whole life of a proposal, as a center would try it.

A Russian-speaking applicant writes a proposal to a call of five donors (a new institute
proposed as partner, an amount typed the Russian way, a visa-free and a visa trip), previews
and submits it. Screening refuses to pass until the officer confirms the proposed institute;
the governments concur; three donors commit (one more than asked, confirmed), two nothing;
the officer confirms the re-split; the administrator generates and issues the agreement,
whose PDF states each funding donor's commitment and nothing of the other two.

The browser drives the applicant's path, the institute confirmation, the re-split and the
agreement; screening, concurrence and the commitments go through the services (their own
browser tests cover their pages), to keep the test within time.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from babel.numbers import format_currency
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from center.agreements import services as agreement_services
from center.agreements.models import Agreement, Party
from center.auth import services as accounts
from center.auth.models import User
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.demo import _demo_pdf
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funded_split, funding
from center.screening import services as screening
from center.tenants import services as tenants
from center.tenants import visas
from center.tenants.models import Donor, DonorKind, Institute, Role, Tenant
from tests.screening.conftest import HEADER, add_official
from tests.support.browser import ARTIFACTS, screenshot, shown_as, sign_in
from tests.support.states import put_in_state
from tests.world import PASSWORD, World, open_call

pytestmark = pytest.mark.browser

ACRONYM = "SNOWLINE"
NEW_INSTITUTE = "Institute of Glaciology of Armenia"
#: The budget lines: (description, category, amount typed, {donor index: share typed}).
LINES = [
    ("Salaries", "personnel", "150 050,50",
     {0: "60 000", 1: "40 000", 2: "30 000", 3: "10 050,50", 4: "10 000"}),
    ("Field trips", "travel", "4 000", {0: "4 000"}),
]
ASKED = [64_000_00, 40_000_00, 30_000_00, 10_050_50, 10_000_00]
#: The first donor takes over what the fourth and fifth were asked; they commit nothing.
COMMITTED = [84_050_50, 40_000_00, 30_000_00, 0, 0]


def _set_up(app: Flask, side) -> dict[str, object]:  # noqa: ANN001
    """A call of five donors, the shipped visa rules, a sanctions list, an official for
    Armenia, a reviewer for each donor; the applicant speaks Russian."""
    with app.app_context(), tenant_scope(side.tenant_id):
        officer = db.session.get(User, side.user_ids[Role.officer])
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        applicant.locale = "ru"
        tenant = db.session.get(Tenant, side.tenant_id)
        visas.load_shipped_rules(by=officer)
        extra = [tenants.add_donor(by=officer, name=name, short_name=short,
                                   kind=DonorKind.government, country_code=country)
                 for name, short, country in (("Japan Science Fund", "JSF", "JP"),
                                              ("Korea Research Agency", "KRA", "KR"),
                                              ("Nordic Climate Trust", "NCT", "NO"))]
        db.session.flush()
        donor_ids = [*side.donor_ids, *(d.id for d in extra)]
        call = open_call(donor_ids=donor_ids, countries=["KZ", "AM"],
                         title="Snow and ice in Central Asia", budget_ceiling=500_000_00)
        screening.import_sanctions_list(
            filename="list.csv", label="Consolidated list", by=officer,
            data=(HEADER + "JSC Rosatom,АО «Росатом»,RU,entity,US BIS Entity List,BIS.77\n"
                  ).encode())
        add_official(World(a=side, b=side), "AM")
        reviewers = []
        for number, donor_id in enumerate(donor_ids):
            user = accounts.create_user(f"reviewer{number}@lifecycle.example",
                                        f"Reviewer {number}", PASSWORD)
            accounts.add_membership(user, tenant, Role.reviewer, by=officer, donor_id=donor_id)
            reviewers.append(user.id)
        db.session.commit()
        names = [db.session.get(Donor, d).name for d in donor_ids]
        found = {"call_id": call.id, "donor_ids": donor_ids, "names": names,
                 "reviewers": reviewers}
        db.session.remove()
    return found


def ru(text: str, **values: str) -> str:
    """What the Russian-speaking applicant reads for ``text``."""
    return shown_as(text, "ru", **values)


def _write_and_submit(page, side, names: list[str], call_id: int) -> None:  # noqa: ANN001
    """The applicant's whole path in the browser, in the Russian locale."""
    sign_in(page, side.emails["applicant"], PASSWORD)  # the form is English until then
    page.goto(f"/{side.slug}/calls/{call_id}")
    page.get_by_role("link", name=ru("Apply to this call")).click()
    page.get_by_role("button", name=ru("Start a proposal")).click()
    page.get_by_label(ru("Title")).fill("Snow line retreat and water for Central Asian cities")
    page.get_by_label(ru("Acronym")).fill(ACRONYM)
    page.get_by_label(ru("Abstract")).fill("The snow line rises in the Tien Shan and the "
                                       "Caucasus; the consortium measures it. " * 4)
    page.get_by_label(ru("Objectives")).fill("A shared snow-line record for both countries.")
    page.get_by_label(ru("Keywords")).fill("snow, glaciers, water")
    page.get_by_label(ru("Duration (months)")).fill("24")
    page.get_by_role("button", name=ru("Save the overview")).click()

    page.get_by_role("link", name=f"2. {ru('Consortium')}").click()
    # Options name the country in the applicant's language ("… (Казахстан)").
    page.get_by_label(ru("Institute"), exact=True).select_option(str(side.institute_ids[0]))
    page.get_by_label(ru("Role in the consortium")).select_option("lead")
    page.get_by_role("button", name=ru("Add to the consortium")).click()
    page.get_by_label(ru("Institute not listed? Its name")).fill(NEW_INSTITUTE)
    page.get_by_label(ru("Country"), exact=True).select_option("AM")
    page.get_by_label(ru("City"), exact=True).fill("Yerevan")
    page.get_by_role("button", name=ru("Propose")).click()
    assert page.get_by_text(ru("an officer will confirm it")).is_visible()

    page.get_by_role("link", name=f"3. {ru('Team')}").click()
    for name, role, institute, country in [
        ("Aigerim Nurlanovna", "principal_investigator", "Institute of Physics alpha", "KZ"),
        ("Armen Petrosyan", "scientist", NEW_INSTITUTE, "AM"),
    ]:
        page.get_by_label(ru("Full name")).fill(name)
        page.get_by_label(ru("Role"), exact=True).select_option(role)
        select = page.get_by_label(ru("Institute"))
        select.select_option(select.locator("option", has_text=institute).get_attribute(
            "value"))
        page.get_by_label(ru("Citizenship")).select_option(country)
        page.get_by_role("button", name=ru("Add to the team")).click()

    page.get_by_role("link", name=f"4. {ru('Work plan')}").click()
    page.get_by_label(ru("Task"), exact=True).fill("Snow-line survey")
    page.get_by_label(ru("From month")).fill("1")
    page.get_by_label(ru("To month")).fill("18")
    page.get_by_label(ru("Aigerim Nurlanovna")).fill("120")
    page.get_by_label(ru("Armen Petrosyan")).fill("80")
    page.get_by_role("button", name=ru("Add the task")).click()

    page.get_by_role("link", name=f"5. {ru('Budget')}").click()
    for description, category, amount, shares in LINES:
        page.get_by_label(ru("Description")).fill(description)
        page.get_by_label(ru("Category")).select_option(category)
        page.get_by_label(ru("Amount")).fill(amount)
        for index, share in shares.items():
            page.get_by_label(ru("Share asked of %(donor)s (%(currency)s)",
                                  donor=names[index], currency="EUR")).fill(share)
        page.get_by_role("button", name=ru("Add the line")).click()
        assert page.locator("tbody tr", has_text=description).count() == 1
    # Five donors' columns and the row actions fit the editor, without a scroll bar.
    table = page.locator("table").first
    screenshot(page, "lifecycle-budget")
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    assert table.get_by_role("columnheader", name="NCT").is_visible()
    screenshot(page, "lifecycle-budget")

    page.get_by_role("link", name=f"6. {ru('Travel')}").click()
    for destination, city, cost in (("AM", "Yerevan", "1 500"), ("JP", "Tokyo", "2 500,00")):
        page.get_by_label(ru("Traveller")).select_option(label="Aigerim Nurlanovna")
        page.get_by_label(ru("From (country)"), exact=True).select_option("KZ")
        page.get_by_label(ru("To (country)"), exact=True).select_option(destination)
        page.get_by_label(ru("To (city)"), exact=True).fill(city)
        page.get_by_label(ru("Departure")).fill("2027-05-10")
        page.get_by_label(ru("Return")).fill("2027-05-20")
        page.get_by_label(ru("Purpose")).fill(f"Field campaign in {city}")
        page.get_by_label(ru("Estimated cost")).fill(cost)
        page.get_by_role("button", name=ru("Add the trip")).click()
    rows = page.locator("table tbody tr")
    assert ru("not needed") in rows.filter(has_text="Yerevan").inner_text()
    assert ru("not needed") not in rows.filter(has_text="Tokyo").inner_text()
    assert ru("covers the trips") in page.locator("#coverage").inner_text()

    page.get_by_role("link", name=f"7. {ru('IP plan')}").click()
    page.get_by_label(ru("Foreground IP belongs to")).select_option("joint")
    page.get_by_label(ru("Publication policy")).fill("Open access within six months.")
    page.get_by_role("button", name=ru("Save the IP plan")).click()

    page.get_by_role("link", name=f"8. {ru('Files and co-applicants')}").click()
    page.get_by_label(ru("Document")).select_option("cv")
    page.get_by_label(ru("File")).set_input_files(
        {"name": "cv.pdf", "mimeType": "application/pdf",
         "buffer": _demo_pdf("CV of Aigerim Nurlanovna")})
    page.get_by_role("button", name=ru("Upload")).click()

    page.get_by_role("link", name=ru("Preview and submit")).first.click()
    assert page.get_by_role("heading", name=ru("Budget"), exact=True).is_visible()
    preview = page.locator("main").inner_text()
    assert NEW_INSTITUTE in preview
    assert "150\u00a0050,50" in preview  # shown the Russian way too
    screenshot(page, "lifecycle-preview")
    page.get_by_label(ru("I declare")).check()
    page.get_by_role("button", name=ru("Submit the proposal")).click()
    assert page.get_by_text(ru("Done: the proposal is now")).is_visible()
    page.get_by_role("button", name=ru("Sign out")).click()
    page.wait_for_load_state()


def test_a_proposal_lives_from_draft_to_an_acknowledged_agreement(  # noqa: PLR0915
        app: Flask, page, world: World) -> None:  # noqa: ANN001
    side = world.a
    page.on("dialog", lambda dialog: dialog.accept())
    setup = _set_up(app, side)
    donor_ids, names = setup["donor_ids"], setup["names"]
    _write_and_submit(page, side, names, setup["call_id"])

    # Stored exactly as typed, in minor units; the trips' visa needs by the shipped rules.
    with app.app_context(), tenant_scope(side.tenant_id):
        proposal = db.session.scalar(select(Proposal).where(Proposal.acronym == ACRONYM))
        proposal_id = proposal.id
        assert proposal.status == ProposalStatus.submitted
        salaries = next(line for line in proposal.budget_lines if line.description == "Salaries")
        assert salaries.amount == 150_050_50
        assert funded_split.asked_by_donor(proposal) == dict(zip(donor_ids, ASKED, strict=True))
        trips = {t.destination_country: t for t in proposal.trips}
        assert not trips["AM"].visa_needed and trips["JP"].visa_needed
        assert (trips["AM"].cost, trips["JP"].cost) == (1_500_00, 2_500_00)
        trip_ids = {code: t.id for code, t in trips.items()}
        new = db.session.scalar(select(Institute).where(Institute.name == NEW_INSTITUTE))
        assert not new.verified
        officer = db.session.get(User, side.user_ids[Role.officer])
        officer_roles = frozenset({Role.officer})
        workflow.fire(proposal, "start_screening", by=officer, roles=officer_roles)
        with pytest.raises(workflow.GuardFailed, match="not confirmed"):
            workflow.fire(proposal, "pass_screening", by=officer, roles=officer_roles)
        db.session.commit()
        db.session.remove()

    # The officer confirms the proposed institute in the browser.
    sign_in(page, side.emails["officer"], PASSWORD)
    page.goto(f"/{side.slug}/screening/institutes")
    page.get_by_role("region", name=NEW_INSTITUTE).get_by_role(
        "button", name="Confirm it as a new institute").click()
    page.wait_for_load_state()
    assert "No institute waits for confirmation." in page.locator("main").inner_text()

    # Screening passes, both governments concur, three donors commit.
    with app.app_context(), tenant_scope(side.tenant_id):
        proposal = db.session.get(Proposal, proposal_id)
        officer = db.session.get(User, side.user_ids[Role.officer])
        workflow.fire(proposal, "pass_screening", by=officer, roles=frozenset({Role.officer}))
        for request in screening.requests_of(proposal):
            official = screening.officials(request.country_code)[0]
            screening.concur(request, by=official, comment="Agreed.",
                             expected_version=request.version)
        assert proposal.status == ProposalStatus.under_review
        put_in_state(proposal, ProposalStatus.funding, by=officer)  # reviews: their own tests
        funding.open_funding(proposal)
        for donor_id, reviewer_id, amount in zip(donor_ids, setup["reviewers"], COMMITTED,
                                                 strict=True):
            if amount:
                funding.commit(proposal, db.session.get(Donor, donor_id), amount,
                               by=db.session.get(User, reviewer_id),
                               above_asked=amount > ASKED[donor_ids.index(donor_id)])
        assert proposal.status == ProposalStatus.approved
        db.session.commit()
        db.session.remove()

    # The officer checks and confirms the re-split.
    page.goto(f"/{side.slug}/proposals/{proposal_id}")
    page.get_by_role("region", name="Agreement").get_by_role(
        "link", name="Check and confirm the funded split").click()
    page.wait_for_load_state()
    by_donor = page.get_by_role("region", name="Asked and committed, by donor").inner_text()
    assert by_donor.count("Not a party: committed nothing") == 2
    assert "Funds more than it was asked" in by_donor
    screenshot(page, "lifecycle-resplit")
    page.get_by_role("button", name="Confirm this split").click()
    page.wait_for_load_state()
    assert "funded split" in page.locator(".flashes").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()

    # The administrator generates and issues the agreement.
    sign_in(page, side.emails["admin"], PASSWORD)
    page.goto(f"/{side.slug}/proposals/{proposal_id}")
    page.get_by_role("region", name="Agreement").get_by_role(
        "button", name="Generate the agreement").click()
    page.wait_for_url(re.compile(r".*/agreements/\d+$"))  # via the job's progress page
    page.get_by_role("button", name="Issue ").click()
    page.wait_for_load_state()
    assert "issued; the parties were asked" in page.locator(".flashes").inner_text()

    with app.app_context(), tenant_scope(side.tenant_id):
        agreement = db.session.scalar(select(Agreement).where(
            Agreement.proposal_id == proposal_id))
        agreement_id = agreement.id
        assert [letter.trip_id for letter in agreement.letters] == [trip_ids["JP"]]
        assert {int(d["donor_id"]): d["amount"] for d in agreement.donor_shares} == {
            d: a for d, a in zip(donor_ids, COMMITTED, strict=True) if a}
        [lead_party] = [o for o in agreement_services.outstanding(agreement)
                        if o.party == Party.lead_institute]
        asked = {u.email for u in lead_party.people}
        letter_id = agreement.letters[0].id
        mails = {m.recipient: m.subject for m in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.subject.like(f"%{agreement.reference}%")))}
        reference = agreement.reference
        db.session.remove()
    assert asked == {side.emails["signatory"]}
    assert "for your acknowledgement" in mails[side.emails["signatory"]]
    # told, not asked, in the applicant's own language
    assert mails[side.emails["applicant"]] == ru("Agreement %(reference)s issued",
                                                 reference=reference)

    letter = page.request.get(f"/{side.slug}/agreements/{agreement_id}/letters/{letter_id}")
    assert letter.status == 200
    letter_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.body())).pages)
    assert "Aigerim Nurlanovna" in letter_text and "Tokyo" in letter_text

    response = page.request.get(f"/{side.slug}/agreements/{agreement_id}/pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    data = response.body()
    reader = PdfReader(io.BytesIO(data))
    pages = [p.extract_text() for p in reader.pages]
    text = "\n".join(pages)
    euros = [format_currency(amount / 100, "EUR", locale="en") for amount in COMMITTED]
    # The cover names the three funding donors; the budget table gives each its commitment.
    assert f"{names[0]}; {names[1]}; {names[2]}" in pages[0]
    budget_page = next(i for i, t in enumerate(pages, start=1) if "Table 3.1" in t)
    table = pages[budget_page - 1]
    assert "Category D1 D2 JSF Total" in table
    assert f"Total {euros[0]} {euros[1]} {euros[2]} €154,050.50" in table
    assert f"Total 100 % {euros[0]} {euros[1]} {euros[2]} €154,050.50" in table
    for name, short in ((names[3], "KRA"), (names[4], "NCT")):  # committed nothing
        assert name not in text and short not in text
    pdf_path = ARTIFACTS / "lifecycle-agreement.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path.write_bytes(data)
    out = ARTIFACTS / "lifecycle-agreement-budget"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(budget_page), "-l",
                    str(budget_page), "-singlefile", str(pdf_path), str(out)], check=True)
    assert Path(f"{out}.png").stat().st_size > 1000

    # The lead institute's signatory, not the PI, acknowledges.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    sign_in(page, side.emails["signatory"], PASSWORD)
    page.goto(f"/{side.slug}/agreements/{agreement_id}")
    form = page.get_by_role("region", name="Acknowledge for Institute of Physics alpha")
    form.get_by_label("I have read the agreement").check()
    form.get_by_label("Your full name").fill("Signatory of alpha")
    form.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert "Acknowledged for Institute of Physics alpha" in page.locator(".flashes").inner_text()
