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


def test_a_user_sees_their_sessions_and_changes_the_password(page, chromium, live_server,
                                                              world: World) -> None:
    other = chromium.new_context(base_url=live_server, user_agent="Other browser 1.0")
    elsewhere = other.new_page()
    sign_in(elsewhere, world.a.emails["officer"], PASSWORD)
    sign_in(page, world.a.emails["officer"], PASSWORD)
    page.goto("/account")
    assert page.get_by_text("this browser").is_visible()
    assert page.get_by_text("Other browser 1.0").is_visible()
    screenshot(page, "account-sessions")
    page.get_by_role("link", name="Change my password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("Repeat the new password").fill("password1234")
    page.get_by_role("button", name="Change the password").click()
    assert "most commonly used" in page.locator("#password-error").inner_text()
    screenshot(page, "password-change-common")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a fresh long passphrase")
    page.get_by_label("Repeat the new password").fill("a fresh long passphrase")
    page.get_by_role("button", name="Change the password").click()
    assert page.url.endswith("/account")
    assert page.get_by_text("1 other session was signed out").is_visible()
    elsewhere.goto(f"/{world.a.slug}/dashboard")
    assert "/login" in elsewhere.url
    other.close()
