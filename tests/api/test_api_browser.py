"""In a real browser: a person issues a token, reads the API's page, and a program uses the
token while the browser's own session is no credential for the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support import browser
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_a_reviewer_issues_a_token_and_a_program_reads_with_it(page, world: World,
                                                               live_server: str) -> None:
    browser.sign_in(page, world.a.emails["reviewer"], PASSWORD)
    page.goto("/account")
    page.get_by_role("link", name=f"API tokens in Center {world.a.slug.upper()}").click()
    page.get_by_label("What the token is for").fill("Порядок рецензий")
    page.get_by_label("Read only").check()
    page.get_by_label("It stops working after").select_option("30")
    page.get_by_role("button", name="Issue the token").click()
    page.wait_for_load_state()
    secret = page.locator("#new-token").inner_text()
    browser.screenshot(page, "api-token-issued")
    assert secret.startswith("ctr_")

    base = f"{live_server}/{world.a.slug}/api/v1"
    status, info = _get(f"{base}/token", secret)
    assert status == 200 and info["roles"] == ["reviewer"] and info["scope"] == "read"
    status, assignments = _get(f"{base}/reviews", secret)
    assert status == 200 and "items" in assignments
    # The browser is signed in, yet its cookies open nothing on the API.
    response = page.request.get(f"{base}/reviews")
    assert response.status == 401

    page.goto(f"/{world.a.slug}/account/tokens")
    page.get_by_role("button", name="Revoke the token “Порядок рецензий”").click()
    page.wait_for_load_state()
    assert "is revoked" in page.locator(".flash").first.inner_text()
    assert _get(f"{base}/token", secret)[0] == 401


def test_the_api_page_lists_every_part_and_takes_a_token(page, world: World) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(f"/{world.a.slug}/api/v1/docs")
    page.wait_for_selector(".opblock")
    for part in ("Token", "Calls", "Proposals", "Reviews", "Portfolio", "Agreements"):
        assert page.locator(f"#operations-tag-{part}").count() == 1, part
    assert page.get_by_role("button", name="Authorize").count() >= 1
    browser.screenshot(page, "api-docs")
    assert errors == []
