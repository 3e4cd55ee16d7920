"""In Chromium: the applicants request a redirection, the officer approves it and the
amendment is there to download and acknowledge; the time-card and monitoring pages."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.browser import screenshot, sign_in
from tests.support.projects import committed_project
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def test_a_redirection_becomes_an_amendment(page, app: Flask, world: World) -> None:  # noqa: ANN001
    side = world.a
    project_id = committed_project(app, world)
    sign_in(page, side.emails["applicant"], PASSWORD)
    page.goto(f"/{side.slug}/projects/{project_id}/effort")
    page.get_by_label("Month").fill("2027-03")
    page.get_by_label("Working days").fill("2,5")
    page.get_by_role("button", name="Save the time card").click()
    page.wait_for_load_state()
    assert "whole days" in page.locator("#days-error").inner_text()
    page.get_by_label("Working days").fill("12")
    page.get_by_role("button", name="Save the time card").click()
    page.wait_for_load_state()
    assert "Time card saved" in page.locator(".flashes").inner_text()
    screenshot(page, "effort-cards-applicant")

    page.goto(f"/{side.slug}/projects/{project_id}/changes")
    page.get_by_label("Why the change is needed").fill("The station costs more than quoted.")
    page.get_by_label("Move money from").select_option(label="Salaries, lead (Institute of "
                                                             "Physics alpha)")
    page.get_by_label("to", exact=True).select_option(label="Weather station (Institute of "
                                                            "Physics alpha)")
    page.get_by_label("Amount moved").fill("8,000.00")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state()
    assert "Change request sent" in page.locator(".flashes").inner_text()
    change_url = page.url
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, side.emails["officer"], PASSWORD)
    page.goto(change_url)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "now approved" in page.locator(".flashes").inner_text()
    assert page.get_by_role("heading", name="Amendment ALPHA-").is_visible()
    screenshot(page, "amendments-approved-officer")
    page.goto(f"/{side.slug}/projects/{project_id}/monitoring")
    screenshot(page, "monitoring-project-officer")
