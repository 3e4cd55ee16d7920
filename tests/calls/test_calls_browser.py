"""In a real browser: an officer writes a call, mistakes are explained, anyone finds it."""

from __future__ import annotations

import pytest

from tests.support import browser
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_officer_writes_a_call_and_visitors_find_it(page, world: World) -> None:
    browser.sign_in(page, world.a.emails["officer"], PASSWORD)
    page.goto(f"/{world.a.slug}/calls/new")
    page.get_by_label("Title").fill("Clean water for Central Asia")
    page.get_by_label("Description").fill("Research on water treatment for small towns.")
    page.get_by_label("Topics").fill("Water treatment\nMembrane materials")
    page.get_by_label("Kazakhstan").check()
    page.get_by_label("Armenia").check()
    page.get_by_label("Opens", exact=True).fill("2026-03-01T09:00")
    page.get_by_label("Closes", exact=True).fill("2036-06-01T18:00")
    page.get_by_label("Donor One of alpha").fill("500000")
    page.get_by_label("Budget ceiling per proposal (EUR)").fill("150000.555")
    page.get_by_label("CVs of the principal investigators").check()
    page.get_by_label("Review rubric").fill("Scientific merit | 60 | 5\nRelevance | 30 | 5")
    browser.screenshot(page, "calls-form")
    page.get_by_role("button", name="Create the call").click()
    page.wait_for_load_state()

    assert "at most 2 decimals" in page.locator("#budget_ceiling-error").inner_text()
    assert "add up to 90" in page.locator("#rubric-error").inner_text()
    assert page.get_by_label("Title").input_value() == "Clean water for Central Asia"
    assert page.get_by_label("Kazakhstan").is_checked()
    browser.screenshot(page, "calls-form-errors")

    page.get_by_label("Budget ceiling per proposal (EUR)").fill("150000.50")
    page.get_by_label("Review rubric").fill("Scientific merit | 60 | 5\nRelevance | 40 | 5")
    page.get_by_role("button", name="Create the call").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Clean water for Central Asia").is_visible()
    assert page.get_by_role("link", name="Apply to this call").is_visible()
    browser.screenshot(page, "calls-detail")

    page.goto(f"/{world.a.slug}/calls/?state=open")
    assert page.get_by_role("link", name="Clean water for Central Asia").is_visible()
    browser.screenshot(page, "calls-list")
    page.goto(f"/{world.a.slug}/dashboard")
    browser.screenshot(page, "calls-officer-dashboard")
    page.goto(f"/{world.a.slug}/")
    assert page.get_by_role("heading", name="Open calls").is_visible()
    browser.screenshot(page, "calls-home-block")
