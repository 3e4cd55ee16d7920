"""In Chromium: each dashboard with figures (officer, administrator, a donor's reviewer,
applicant) in English, Korean and Russian, checked with axe-core by the `page` fixture and
saved as screenshots in /tmp/charts_shots/ for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from center.auth.models import User
from center.core.db import db, tenant_scope
from tests.dashboard.conftest import CALL, DONOR_REVIEWER, build_glaciers
from tests.support.browser import shown_as, sign_in
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/charts_shots")
LOCALES = ("en", "ko", "ru")
#: Who signs in, and the captions their dashboard shows (in English).
DASHBOARDS = {
    "officer": ["Proposals per state in each call",
                "Money asked and committed by partner country",
                "Duplicate-effort flags by country pair", "Sanctions hits cleared",
                "Review progress per reviewer"],
    "admin": ["Proposals per state in each call", "Success rate per call",
              "Days from submission to decision"],
    "donor": ["Money asked and committed per call", "Review progress per reviewer"],
    "applicant": ["Progress of my proposals"],
}


@pytest.fixture()
def glacier_world(app: Flask, world: World) -> World:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        build_glaciers(world.a)
        db.session.commit()
        db.session.remove()
    return world


def _speak(app: Flask, email: str, locale: str) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(locale=locale))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("who", list(DASHBOARDS))
def test_each_dashboard_shows_its_figures_in_each_language(page, app: Flask, who: str,
                                                           glacier_world: World) -> None:
    side = glacier_world.a
    email = DONOR_REVIEWER if who == "donor" else side.emails[who]
    SHOTS.mkdir(exist_ok=True)
    sign_in(page, email, PASSWORD)
    for locale in LOCALES:
        _speak(app, email, locale)
        page.goto(f"/{side.slug}/dashboard")
        assert page.locator("html").get_attribute("lang") == locale
        for caption in DASHBOARDS[who]:
            assert page.get_by_text(shown_as(caption, locale), exact=True).first.is_visible(), \
                (who, locale, caption)
        charts = page.locator("figure.chart")
        if who == "applicant":
            assert charts.count() == 0
            assert page.locator("ol.road").count() >= 5  # the glaciers proposals and more
            assert page.locator(".road__step--stopped").count() >= 1  # the rejected one
        else:
            assert charts.count() == len(page.locator("figure.chart svg").all()) + \
                page.locator("figure.chart p.empty").count()
            assert page.locator("figure.chart script").count() == 0
            assert page.locator("figure.chart svg").count() >= 1
            # Each chart's numbers are in a table a screen reader reaches.
            first = page.locator("figure.chart details").first
            first.locator("summary").click()
            assert first.locator("table th[scope=row]").first.is_visible()
            page.evaluate("() => document.querySelectorAll('figure.chart details')"
                          ".forEach(d => d.open = true)")
        if who in ("officer", "admin", "donor"):
            assert page.get_by_text(CALL).first.is_visible()
        page.screenshot(path=str(SHOTS / f"{who}-{locale}.png"), full_page=True)
