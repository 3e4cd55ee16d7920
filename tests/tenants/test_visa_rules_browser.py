"""In Chromium: an administrator reads the shipped visa rules and adds a bloc."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.tenants import visas
from center.tenants.models import VisaRegime
from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_admin_checks_a_trip_and_adds_a_bloc_fixing_a_typo(app, page, world: World) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        visas.load_shipped_rules(by=None)
        db.session.commit()
    sign_in(page, world.a.emails["admin"], PASSWORD)
    page.goto(f"/{world.a.slug}/admin/visa-rules")
    assert "Treaty on the Eurasian Economic Union" in page.locator("#regimes").inner_text()
    page.get_by_label("Citizens of").first.select_option("KG")
    page.get_by_label("Travelling to").first.select_option("KZ")
    page.get_by_role("button", name="Check").click()
    assert "No visa" in page.locator("#check-result").inner_text()
    screenshot(page, "visa-rules")

    page.get_by_role("link", name="Add a bloc or waiver").click()
    page.get_by_label("Name").fill("Central Asian research mobility")
    page.get_by_label("Members (blocs)").fill("KZ KG TJ UZ TM QQ")
    page.get_by_label("Source", exact=True).fill("Memorandum of the science ministries, 2026")
    page.get_by_label("Date of the source").fill("2026-06-01")
    page.get_by_role("button", name="Save the regime").click()
    assert "QQ is not an ISO 3166 country code" in page.locator("#member-error").inner_text()
    assert page.get_by_label("Name").input_value() == "Central Asian research mobility"
    screenshot(page, "visa-regime-error")
    page.get_by_label("Members (blocs)").fill("KZ KG TJ UZ TM")
    page.get_by_role("button", name="Save the regime").click()
    assert page.get_by_text("Regime saved").is_visible()
    with app.app_context(), tenant_scope(world.a.tenant_id):
        regime = db.session.scalar(select(VisaRegime).where(
            VisaRegime.name == "Central Asian research mobility"))
        assert regime.codes("member") == ["KG", "KZ", "TJ", "TM", "UZ"]
