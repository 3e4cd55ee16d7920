"""In Chromium: the administrator issues an agreement, the lead institute's signatory
acknowledges it."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_agreement_is_generated_issued_and_acknowledged(page, world: World) -> None:
    side = world.a
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, side.emails["admin"], PASSWORD)
    page.goto(f"/{side.slug}/proposals/{side.ids['approved_proposal_id']}")
    panel = page.get_by_role("region", name="Agreement")
    panel.get_by_role("button", name="Generate a new version").click()
    # The button answers with the job's progress page, which opens the draft when done.
    page.wait_for_url(re.compile(r".*/agreements/\d+$"))
    assert page.get_by_role("heading", name="Agreement ALPHA-").is_visible()
    assert "v2" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "agreements-draft")

    page.get_by_role("button", name="Issue ").click()
    page.wait_for_load_state()
    assert "issued; the parties were asked" in page.locator(".flashes").inner_text()
    screenshot(page, "agreements-issued-admin")
    page.goto(f"/{side.slug}/proposals/{side.ids['approved_proposal_id']}")
    assert "superseded" in page.get_by_role("region", name="Agreement").inner_text()
    screenshot(page, "agreements-proposal-panel")

    page.goto(f"/{side.slug}/admin/agreement-clauses/edit?key=travel")
    page.get_by_label("Text").fill("Per-diem {per_diem} a day. <b>Plain text only.</b>")
    page.get_by_label("Per-diem per day").fill("175")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    preview = page.get_by_role("region", name="Preview with an example project")
    assert "Per-diem €175.00 a day. <b>Plain text only.</b>" in preview.inner_text()
    screenshot(page, "agreements-clause-preview")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, side.emails["signatory"], PASSWORD)
    page.goto(f"/{side.slug}/dashboard")
    page.get_by_role("link", name="ALPHA-").first.click()
    page.wait_for_load_state()
    form = page.get_by_role("region", name="Acknowledge for Institute of Physics alpha")
    form.get_by_label("I have read the agreement").check()
    form.get_by_label("Your full name").fill("Aigerim Nurlanovna")
    form.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert "Acknowledged for Institute of Physics alpha" in page.locator(".flashes").inner_text()
    acks = page.get_by_role("region", name="Acknowledgements")
    assert "Aigerim Nurlanovna" in acks.inner_text()
    screenshot(page, "agreements-acknowledged-signatory")


def test_the_agreements_of_a_call_are_issued_in_one_batch_with_progress(page,
                                                                        world: World) -> None:
    side = world.a
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, side.emails["admin"], PASSWORD)
    page.goto(f"/{side.slug}/calls/{side.ids['agreements_call_id']}/agreements")
    assert "Glacier melt and water security" in page.get_by_role("table").inner_text()
    screenshot(page, "agreements-batch-confirm")
    page.get_by_role("button", name="Issue 1 agreement").click()
    page.wait_for_url("**/agreements?job=*")
    result = page.get_by_role("region", name="Last run")
    assert "1 agreement issued." in result.inner_text()
    assert "ALPHA-" in result.inner_text()
    screenshot(page, "agreements-batch-done")
