"""In a real browser: signing in reaches the role's dashboard; bad input is explained."""

from __future__ import annotations

import pytest

from tests.support.browser import screenshot, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_officer_signs_in_and_sees_the_dashboard(page, world: World) -> None:
    sign_in(page, world.a.emails["officer"], PASSWORD)
    assert page.url.endswith(f"/{world.a.slug}/dashboard")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("heading", name="Programme officer").is_visible()
    screenshot(page, "dashboard-officer")


def test_a_wrong_password_is_explained_next_to_the_field(page, world: World) -> None:
    sign_in(page, world.a.emails["officer"], "not the password")
    error = page.locator("#password-error")
    assert error.is_visible() and "wrong" in error.inner_text()
    assert page.get_by_label("E-mail").input_value() == world.a.emails["officer"]
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
