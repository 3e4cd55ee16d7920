"""The portal in Korean and Russian, in a real browser: no English label left, usable by
keyboard, checked with axe-core (by the `page` fixture) and not wider than a phone."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message
from flask import Flask
from sqlalchemy import select

from center.calls.models import Call
from center.core.db import db, tenant_scope
from center.translations import tools
from tests.reviews.conftest import accepted, panel  # noqa: F401 - the fixture, for reviews
from tests.screening.test_screening_browser import _submitted_with_a_listed_pi
from tests.support.browser import AxeWatch, screenshot
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser

#: Text on a page that is a message's English source although the catalogue translates it.
_TEXTS = """() => {
  const seen = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest('script, style, [hidden], pre, textarea')) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) seen.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], [alt]'))
    for (const name of ['placeholder', 'aria-label', 'title', 'alt'])
      if (el.getAttribute(name)) seen.push(el.getAttribute(name).trim());
  return seen;
}"""


def _english_sources(locale: str) -> set[str]:
    """English messages without placeholders whose translation reads differently."""
    def plain(message: Message) -> bool:
        return (isinstance(message.id, str) and "%" not in message.id
                and isinstance(message.string, str) and message.string.strip() != message.id
                and re.search(r"[A-Za-z]{2}", message.id) is not None)
    return {m.id.strip() for m in tools.load(locale) if m.id and plain(m)}


def _content(app: Flask, world: World) -> set[str]:
    """What the world's officers wrote, which is shown as written: the calls' criteria."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        calls = db.session.scalars(select(Call)).all()
        return {criterion["name"] for call in calls for criterion in call.rubric or ()}


def _sign_in_by_keyboard(page, email: str) -> None:  # noqa: ANN001
    """Fill the sign-in form with the keyboard alone: the e-mail field has the focus."""
    page.goto("/login")
    # The e-mail field takes the focus from `autofocus`; on a loaded machine the first keys
    # can arrive before it does, so wait for it rather than lose them.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'email'")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, ("signed in", page.locator("[role=alert]")
                                      .all_inner_texts())


def _open(name: str, app: Flask, world: World,
          request: pytest.FixtureRequest) -> tuple[str, str]:
    """Set up what the page shows; return who looks at it and its path.

    The pages show the world's content as it was written (English names, rubric criteria
    such as "Team", tranche conditions): the check is on the portal's own labels."""
    a, slug = world.a, world.a.slug
    if name == "dashboard":
        return a.emails["officer"], f"/{slug}/dashboard"
    if name == "proposal-editor":
        return a.emails["applicant"], f"/{slug}/proposals/{a.ids['proposal_id']}/edit/overview"
    if name == "screening-report":
        proposal_id = _submitted_with_a_listed_pi(app, world)
        return a.emails["officer"], f"/{slug}/screening/proposals/{proposal_id}"
    if name == "review-form":
        panel = request.getfixturevalue("panel")
        with app.app_context(), tenant_scope(panel.tenant_id):
            assignment_id = accepted(panel, "tb", "r3").id
            db.session.commit()
        return panel.emails["r3"], f"/{slug}/reviews/assignments/{assignment_id}"
    return a.emails["admin"], f"/{slug}/agreements/{a.ids['agreement_id']}"


@pytest.mark.parametrize("locale", ["ko", "ru"])
@pytest.mark.parametrize("name", ["dashboard", "proposal-editor", "screening-report",
                                  "review-form", "agreement"])
def test_a_page_has_no_english_label_left(page, live_server: str, app: Flask, world: World,
                                          request: pytest.FixtureRequest, locale: str,
                                          name: str) -> None:
    email, path = _open(name, app, world, request)
    page.context.add_cookies([{"name": "locale", "value": locale, "url": live_server}])
    _sign_in_by_keyboard(page, email)
    response = page.goto(path)
    assert response.status == 200, (path, response.status)
    assert page.locator("html").get_attribute("lang") == locale
    english = _english_sources(locale)
    content = _content(app, world)
    left = sorted({text for text in page.evaluate(_TEXTS) if text in english - content})
    screenshot(page, f"i18n-{name}-{locale}")
    assert not left, f"English left on {path} in {locale}: {left}"
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    screenshot(page, f"i18n-{name}-{locale}-390px")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' +
                         Math.round(e.getBoundingClientRect().width))""")
    assert overflow <= 0, f"{path} {wide} scrolls sideways by {overflow}px at 390px"


def test_the_language_is_switched_by_keyboard_and_kept_after_signing_in(page,
                                                                         world: World) -> None:
    page.goto("/login")
    page.get_by_role("button", name="Русский").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("button", name="Русский").get_attribute("aria-pressed") == "true"
    _sign_in_by_keyboard(page, world.a.emails["applicant"])
    assert page.locator("html").get_attribute("lang") == "ru"
    screenshot(page, "i18n-switched-ru")


def test_axe_finds_what_a_page_lacks(chromium, live_server: str) -> None:
    """The check that every browser test runs can fail: a page with no language and an
    image without a text alternative is caught."""
    context = chromium.new_context(base_url=live_server)
    watch = AxeWatch(context)
    context.route("**/axe-probe", lambda route: route.fulfill(
        content_type="text/html", body="<!doctype html><html><head><title>x</title></head>"
        "<body><main><img src='/static/favicon.svg'></main></body></html>"))
    page = context.new_page()
    page.goto("/axe-probe")
    watch.settle(page)
    context.close()
    found = " ".join(watch.failures())
    assert watch.pages_checked == 1
    assert "html-has-lang" in found and "image-alt" in found
