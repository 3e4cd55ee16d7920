"""In a real browser: a reviewer declares no conflict, scores a proposal and submits; the
officer sees it in the ranking and recommends it; two donors commit and it is approved."""

from __future__ import annotations

import re

import pytest

from center.core.db import db, tenant_scope
from center.reviews import services
from tests.reviews.conftest import Panel, membership, proposal, user
from tests.support import browser
from tests.world import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in_as(page, panel: Panel, key: str) -> None:  # noqa: ANN001
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_load_state()
    browser.sign_in(page, panel.emails[key], PASSWORD)


def test_review_panel_and_two_donors_fund_a_proposal(app, page, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        services.assign(proposal(panel, "tb"), membership(panel, "r3"),
                        by=user(panel, "officer"))
        db.session.commit()
    page.on("dialog", lambda dialog: dialog.accept())
    slug = panel.slug

    # The reviewer declares no conflict, scores and submits.
    _sign_in_as(page, panel, "r3")
    page.goto(f"/{slug}/dashboard")
    browser.screenshot(page, "reviews-reviewer-dashboard")
    page.get_by_role("link", name="Genomic surveillance of drug-resistant tuberculosis").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Before you read the proposal").is_visible()
    assert page.get_by_text("whole-genome sequencing").count() == 0
    browser.screenshot(page, "reviews-declaration")
    page.get_by_label("No: I have no conflict of interest with this proposal").check()
    page.get_by_role("button", name="Send my declaration").click()
    page.wait_for_load_state()
    assert page.get_by_text("whole-genome sequencing", exact=False).first.is_visible()
    page.get_by_label("Scientific merit", exact=True).select_option("5")
    page.get_by_label("Team", exact=True).select_option("4")
    page.get_by_label("Comments to the applicants").fill(
        "A well-argued plan; widen the sampling beyond the capitals.")
    page.get_by_label("Confidential comments to the panel").fill("The team is small.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert page.get_by_text("Draft saved.").is_visible()
    browser.screenshot(page, "reviews-review-form")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your review is submitted. Thank you.").is_visible()
    assert page.get_by_role("button", name="Submit review").count() == 0
    browser.screenshot(page, "reviews-review-submitted")

    # The officer sees it ranked and recommends it, after the confirmation list.
    _sign_in_as(page, panel, "officer")
    page.goto(f"/{slug}/reviews/calls/{panel.call_id}/panel")
    row = page.get_by_role("row").filter(has_text="Genomic surveillance")
    assert row.get_by_role("cell", name="92.0").is_visible()
    browser.screenshot(page, "reviews-panel-ranking")
    row.get_by_role("checkbox").check()
    page.get_by_label("Recommend for funding").check()
    page.get_by_label("Reason").fill("Ranked first; strong surveillance design.")
    page.get_by_role("button", name="Check the decision").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Confirm the decision").is_visible()
    browser.screenshot(page, "reviews-decision-confirm")
    page.get_by_role("button", name="Confirm: recommend 1").click()
    page.wait_for_load_state()
    assert page.get_by_text("Decision recorded for 1 proposal;").is_visible()
    page.goto(f"/{slug}/reviews/calls/{panel.call_id}/assign")
    browser.screenshot(page, "reviews-assign")

    # Two donors commit; the second commitment covers the budget.
    for key, amount in (("r1", "60000"), ("r3", "40000")):
        _sign_in_as(page, panel, key)
        page.goto(f"/{slug}/reviews/funding")
        page.get_by_role("link", name="Sustainable watersheds and public health").click()
        page.wait_for_load_state()
        page.get_by_label(re.compile(r"Amount to commit")).fill(amount)
        page.get_by_role("button", name="Commit", exact=True).click()
        page.wait_for_load_state()
        browser.screenshot(page, f"reviews-funding-{key}")
    assert page.get_by_text("The commitments now cover the budget").is_visible()

    _sign_in_as(page, panel, "officer")
    page.goto(f"/{slug}/proposals/{panel.tb}")
    assert page.get_by_text("approved").first.is_visible()
    browser.screenshot(page, "reviews-officer-proposal")
    page.goto(f"/{slug}/reviews/calls/{panel.call_id}/funding")
    browser.screenshot(page, "reviews-officer-funding")
    _sign_in_as(page, panel, "applicant")
    page.goto(f"/{slug}/proposals/{panel.tb}")
    assert page.get_by_role("heading", name="Outcome of the review").is_visible()
    assert page.get_by_text("The team is small.").count() == 0
    assert page.get_by_text("Chen Genome").count() == 0
    browser.screenshot(page, "reviews-applicant-outcome")


def test_a_double_blind_review_page_names_nobody(app, page, panel: Panel) -> None:
    from center.calls import services as calls
    from center.calls.models import ReviewMode
    from tests.reviews.conftest import accepted

    with app.app_context(), tenant_scope(panel.tenant_id):
        call = proposal(panel, "tb").call
        calls.update_call(call, by=user(panel, "officer"), expected_version=call.version,
                          review_mode=ReviewMode.double_blind)
        assignment_id = accepted(panel, "tb", "r3").id
        db.session.commit()
    _sign_in_as(page, panel, "r3")
    page.goto(f"/{panel.slug}/reviews/assignments/{assignment_id}")
    text = page.locator("main").inner_text()
    assert "Partner 1" in text and "Team member 1" in text
    assert "Nurlanovna" not in text and "Institute of Physics" not in text
    browser.screenshot(page, "reviews-double-blind")


def test_the_panel_ranks_with_each_proposals_budget_and_asks_per_donor(app, page,
                                                                      panel: Panel) -> None:
    from tests.reviews.conftest import accepted, review

    with app.app_context(), tenant_scope(panel.tenant_id):
        for key, marks in (("r3", (5, 4)), ("r1", (4, 4))):
            review(accepted(panel, "tb", key), *marks)
        review(accepted(panel, "water", "r2"), 3, 3)
        db.session.commit()
    _sign_in_as(page, panel, "officer")
    page.goto(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel")
    assert page.get_by_role("columnheader", name="Budget (EUR)").is_visible()
    assert page.get_by_role("columnheader", name="Asks D1").is_visible()
    row = page.get_by_role("row").filter(has_text="Small rivers")
    assert row.get_by_role("cell", name="€80,000.00").is_visible()
    assert row.get_by_role("cell", name="€30,000.00").is_visible()
    browser.screenshot(page, "reviews-panel-budgets")
