"""In Chromium: the officer checks asked against committed and confirms the funded split."""

from __future__ import annotations

import pytest
from flask import Flask

from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from center.reviews import funded_split
from tests.agreements.commitments_world import five_donor_proposal
from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_the_officer_confirms_the_funded_split_of_five_donors(page, app: Flask,
                                                              world: World) -> None:
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        proposal, _donors = five_donor_proposal(side)
        db.session.commit()
        proposal_id = proposal.id
        db.session.remove()
    sign_in(page, side.emails["officer"], PASSWORD)
    page.goto(f"/{side.slug}/proposals/{proposal_id}")
    panel = page.get_by_role("region", name="Agreement")
    assert "differ from the split the budget asked for" in panel.inner_text()
    panel.get_by_role("link", name="Check and confirm the funded split").click()
    page.wait_for_load_state()
    by_donor = page.get_by_role("region", name="Asked and committed, by donor")
    assert "Not a party: committed nothing" in by_donor.inner_text()
    assert "Funds more than it was asked" in by_donor.inner_text()
    screenshot(page, "commitments-resplit-confirmation")
    page.get_by_role("button", name="Confirm this split").click()
    page.wait_for_load_state()
    assert "funded split" in page.locator(".flashes").inner_text()
    panel = page.get_by_role("region", name="Agreement")
    assert "€110,000.01" in panel.inner_text()
    screenshot(page, "commitments-proposal-funded")
    with app.app_context(), tenant_scope(side.tenant_id):
        assert funded_split.confirmed_split(db.session.get(Proposal, proposal_id))
        db.session.remove()
