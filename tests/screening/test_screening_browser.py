"""In a real browser: an officer screens a proposal, clears a sanctions hit and passes it;
the governments' officials concur and the proposal goes to review."""

from __future__ import annotations

import pytest
from flask import Flask

from center.auth.models import User
from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from center.screening import services
from center.tenants.models import Role
from tests.proposals.test_proposals import _complete
from tests.screening.conftest import HEADER, add_official, submit
from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def _submitted_with_a_listed_pi(app: Flask, world: World) -> int:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        officer = db.session.get(User, world.a.user_ids[Role.officer])
        services.import_sanctions_list(
            filename="consolidated.csv", label="Consolidated list, March", by=officer,
            data=(HEADER + "Нурлановна Айгерим,Aigerim N.,KZ,person,National list,KZ.7\n"
                  + "JSC Rosatom,АО «Росатом»,RU,entity,US BIS Entity List,BIS.77\n").encode())
        add_official(world, "AM")
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        submit(proposal, applicant)
        db.session.commit()
        found = proposal.id
        db.session.remove()
    return found


def _sign_out(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def _concur(page, email: str, comment: str) -> str:  # noqa: ANN001
    sign_in(page, email, PASSWORD)
    page.get_by_role("link", name="Genomic TB surveillance").click()
    page.wait_for_load_state()
    page.get_by_label("Concur").check()
    page.get_by_label("Comment").fill(comment)
    screenshot(page, f"concurrence-request-{email.split('@')[0]}")
    page.get_by_role("button", name="Send the answer").click()
    page.wait_for_load_state()
    return page.locator(".flashes").inner_text()


def test_an_officer_clears_a_hit_and_the_governments_concur(app: Flask, page,  # noqa: ANN001
                                                            world: World) -> None:
    proposal_id = _submitted_with_a_listed_pi(app, world)
    sign_in(page, world.a.emails[Role.officer], PASSWORD)
    page.get_by_role("link", name="Screening", exact=True).click()
    page.wait_for_load_state()
    screenshot(page, "screening-queue")
    page.get_by_role("link", name="Genomic TB surveillance").click()
    page.get_by_role("button", name="Start screening").click()
    page.wait_for_load_state()
    assert "1 sanctions hit waits for an officer to clear it." in page.locator(
        "#blockers").inner_text()
    hits = page.locator("#hits")
    assert "Нурлановна Айгерим" in hits.inner_text() and "KZ.7" in hits.inner_text()
    screenshot(page, "screening-report-with-hit")

    page.get_by_label("Why this is not the listed person or body").fill(
        "Different person: born 1990 in Almaty; the listed person was born in 1962.")
    page.get_by_role("button", name="Clear this hit").click()
    page.wait_for_load_state()
    assert "Hit on Aigerim Nurlanovna cleared." in page.locator(".flashes").inner_text()
    assert "born 1990 in Almaty" in hits.inner_text()
    page.get_by_label("Pass screening: ask the governments to concur").check()
    screenshot(page, "screening-report-cleared")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    assert "now awaiting government concurrence" in page.locator(".flashes").inner_text()
    assert page.locator("#concurrence").get_by_text("Kazakhstan").is_visible()
    screenshot(page, "screening-concurrence-requested")
    _sign_out(page)

    message = _concur(page, world.a.emails[Role.concurrence], "The Ministry of Science agrees.")
    assert message == "Concurrence recorded."
    screenshot(page, "concurrence-official-list")
    _sign_out(page)
    message = _concur(page, "minister.am@alpha.example", "")
    assert "Every country has now concurred" in message
    _sign_out(page)

    sign_in(page, world.a.emails[Role.officer], PASSWORD)
    page.goto(f"/{world.a.slug}/proposals/{proposal_id}")
    assert "under review" in page.locator("h1 .badge").inner_text()
    assert "2 of 2 countries concurred." in page.locator("#concurrence-panel + p").inner_text()
    screenshot(page, "screening-proposal-under-review")
    page.goto(f"/{world.a.slug}/screening/proposals/{proposal_id}/audit")
    audit = page.locator("#audit").inner_text()
    assert "Sanctions hit cleared" in audit and "all countries concurred" in audit
    assert "screening.hit_cleared" not in audit  # the label, never the key
    screenshot(page, "screening-audit-trail")
    page.goto(f"/{world.a.slug}/screening/workflow")
    screenshot(page, "screening-workflow-diagram")


def test_an_officer_decides_for_a_whole_call_after_seeing_what_will_change(
        app: Flask, page, world: World) -> None:  # noqa: ANN001
    proposal_id = _submitted_with_a_listed_pi(app, world)
    sign_in(page, world.a.emails[Role.officer], PASSWORD)
    bulk = f"/{world.a.slug}/screening/calls/{world.a.ids['call_id']}/bulk"
    page.goto(bulk)
    page.get_by_label("Genomic TB surveillance").check()
    page.get_by_label("Decision for all of them").select_option("request_changes")
    page.get_by_label("Reason, told to each applicant").fill("Add the letters of support.")
    page.get_by_role("button", name="Show what will change").click()
    page.wait_for_load_state()
    assert "not possible while the proposal is submitted" in page.locator("#plan").inner_text()
    assert page.get_by_role("button", name="Confirm for 1 proposal").count() == 0
    screenshot(page, "screening-bulk-blocked")

    for action, reason, done in (("start_screening", "", "is now in screening"),
                                 ("request_changes", "Add the letters of support.",
                                  "is now changes requested")):
        page.goto(bulk)
        page.get_by_label("Genomic TB surveillance").check()
        page.get_by_label("Decision for all of them").select_option(action)
        page.get_by_label("Reason, told to each applicant").fill(reason)
        screenshot(page, f"screening-bulk-choose-{action}")
        page.get_by_role("button", name="Show what will change").click()
        page.wait_for_load_state()
        screenshot(page, f"screening-bulk-confirm-{action}")
        page.get_by_role("button", name="Confirm for 1 proposal").click()
        page.wait_for_load_state()
        assert f"1 proposal {done}." in page.locator(".flashes").inner_text()
    page.goto(f"/{world.a.slug}/proposals/{proposal_id}")
    assert "Add the letters of support." in page.locator("dl.facts").inner_text()


def test_an_official_with_nothing_to_answer_is_told_so(app: Flask, page,  # noqa: ANN001
                                                       world: World) -> None:
    _submitted_with_a_listed_pi(app, world)
    sign_in(page, world.a.emails[Role.concurrence], PASSWORD)
    assert page.get_by_text("No proposal waits for your government's answer.").is_visible()
    screenshot(page, "concurrence-dashboard-empty")
