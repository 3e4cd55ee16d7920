"""In a real browser: an administrator invites a delegate, the person registers through the
link and commits funds for the donor; the administrator then revokes the role."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from center.core.db import db
from center.core.notifications import OutboxMessage
from tests.support import browser
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_an_admin_invites_a_delegate_who_joins_and_is_later_revoked(app, page,
                                                                   world: World) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    browser.sign_in(page, world.a.emails["admin"], PASSWORD)
    page.goto("/alpha/reviews/delegates")
    page.get_by_role("link", name="Invite a delegate for Donor Two of alpha").click()
    page.wait_for_load_state()
    page.get_by_label("E-mail", exact=True).fill("dana@donor-two.example")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_load_state()
    assert page.get_by_text("Invitation sent to dana@donor-two.example").is_visible()
    assert page.get_by_role("cell", name="Donor delegate (reviews and commits funds)").is_visible()
    browser.screenshot(page, "tenants-members-invited")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()

    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == "dana@donor-two.example"))
    link = re.search(r"https?://[^/\s]+(/alpha/join/\S+)", body).group(1)
    page.goto(link)
    browser.screenshot(page, "tenants-join")
    page.get_by_label("Full name").fill("Dana Delegate")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account and accept").click()
    page.wait_for_load_state()
    assert page.get_by_text("Welcome to Center ALPHA").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()

    browser.sign_in(page, world.a.emails["admin"], PASSWORD)
    page.goto("/alpha/admin/members?q=dana")
    row = page.get_by_role("row", name=re.compile("Dana Delegate"))
    assert row.get_by_text("commits funds").is_visible()
    row.get_by_role("link", name=re.compile("Revoke")).click()
    page.wait_for_load_state()
    browser.screenshot(page, "tenants-revoke-confirm")
    page.get_by_role("button", name="Revoke the role").click()
    page.wait_for_load_state()
    assert page.get_by_text("Dana Delegate no longer holds the role").is_visible()
    assert page.get_by_role("row", name=re.compile("Dana Delegate")).count() == 0
    browser.screenshot(page, "tenants-members-after-revoke")
