"""In Chromium: one project from countersignature through a report accepted and a tranche
paid to close-out."""

from __future__ import annotations

import pytest
from flask import Flask

from center.agreements import services as agreements
from center.agreements.models import Party
from center.auth.models import User
from center.core import clock
from center.core.db import db, tenant_scope
from center.projects import services
from center.projects.models import Project
from center.tenants.models import Role, Tenant
from tests.agreements.world_part import memoised_render
from tests.projects.world_part import ADMIN, funded_proposal
from tests.support.browser import screenshot, sign_in
from tests.support.projects import settle_the_rest
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser


def _issued_and_acknowledged(app: Flask, world: World) -> tuple[int, int]:
    """A funded proposal whose agreement every party acknowledged: (proposal, agreement)."""
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        tenant = db.session.get(Tenant, side.tenant_id)
        admin = db.session.get(User, side.user_ids[Role.admin])
        proposal = funded_proposal(side, tenant, title="Snow cover and spring floods")
        agreement = agreements.generate_agreement(proposal, by=admin, tenant=tenant,
                                                  render=memoised_render)
        agreements.issue_agreement(agreement, by=admin, roles=ADMIN, tenant=tenant)
        agreements.acknowledge(agreement, by=db.session.get(User, side.user_ids["signatory"]),
                               party=Party.lead_institute, donor_id=None,
                               typed_name="Signatory", sha256=agreement.sha256)
        delegate = agreements.donor_delegates(agreement, side.donor_ids[0])[0]
        agreements.acknowledge(agreement, by=delegate, party=Party.donor,
                               donor_id=side.donor_ids[0], typed_name=delegate.name,
                               sha256=agreement.sha256)
        db.session.commit()
        ids = proposal.id, agreement.id
        db.session.remove()
    return ids


def test_a_project_from_countersignature_to_close_out(page, app: Flask, world: World) -> None:
    side = world.a
    page.on("dialog", lambda dialog: dialog.accept())
    proposal_id, agreement_id = _issued_and_acknowledged(app, world)

    sign_in(page, side.emails["admin"], PASSWORD)
    page.goto(f"/{side.slug}/agreements/{agreement_id}")
    page.get_by_label("Your full name").fill("Admin Person")
    page.get_by_role("button", name="Countersign").click()
    page.wait_for_load_state()
    assert "the project is now active" in page.locator(".flashes").inner_text()
    page.goto(f"/{side.slug}/proposals/{proposal_id}")
    page.get_by_role("link", name="Reports, tranches and close-out").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Reporting schedule").is_visible()
    assert "Interim report 2" in page.locator("#reports").inner_text()
    project_url = page.url
    project_id = int(project_url.rstrip("/").rsplit("/", 1)[1])
    screenshot(page, "projects-opened")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, side.emails["applicant"], PASSWORD)
    page.goto(f"/{side.slug}/dashboard")
    assert "What your projects owe next" in page.content()
    screenshot(page, "projects-applicant-dashboard")
    page.goto(project_url)
    page.get_by_role("link", name="Interim report 2").first.click()
    page.wait_for_load_state()
    page.get_by_label("Summary of the period").fill("Snow courses surveyed on 14 slopes.")
    page.get_by_label("Results and deliverables").fill("A snow-water map of the basin.")
    page.get_by_label("Progress of Task 1: field campaign").select_option("done")
    page.get_by_label("Deliverables of Task 1: field campaign").fill("Snow map v1")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_load_state()
    assert "Report saved." in page.locator(".flashes").inner_text()
    page.get_by_role("button", name="Submit the report").click()
    page.wait_for_load_state()
    assert "submitted" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "projects-report-submitted")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, side.emails["officer"], PASSWORD)
    page.goto(f"/{side.slug}/dashboard")
    assert "Reports to read" in page.content()
    screenshot(page, "projects-officer-dashboard")
    page.get_by_role("link", name="Interim report 2 — Snow cover and spring floods").click()
    page.wait_for_load_state()
    assert "A snow-water map of the basin." in page.content()
    page.get_by_role("textbox", name="Comment").fill("Clear and complete, thank you.")
    page.get_by_role("button", name="Add the comment").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Accept the report").click()
    page.wait_for_load_state()
    assert "accepted" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "projects-report-accepted")
    page.goto(project_url)
    row = page.locator("tr", has_text="2 (40 %)")
    row.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "is approved" in page.locator(".flashes").inner_text()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, side.emails["admin"], PASSWORD)
    page.goto(project_url)
    row = page.locator("tr", has_text="2 (40 %)")
    row.get_by_label("Payment reference").fill("SWIFT-2027-0042")
    row.get_by_label("Paid on").fill(clock.now().date().isoformat())
    row.get_by_role("button", name="Record the payment").click()
    page.wait_for_load_state()
    assert "is paid" in page.locator(".flashes").inner_text()
    assert "SWIFT-2027-0042" in page.locator("#tranches").inner_text()
    assert "final report is not accepted" in page.locator("#closeout").inner_text()
    screenshot(page, "projects-tranche-paid")

    settle_the_rest(app, world.a, project_id)
    page.goto(project_url)
    page.get_by_role("button", name="Close the project").click()
    page.wait_for_load_state()
    assert "The project is closed." in page.locator(".flashes").inner_text()
    assert "closed" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "projects-closed")
    with app.app_context(), tenant_scope(side.tenant_id):
        project = db.session.get(Project, project_id)
        assert project.proposal.status == "closed"
        assert services.figures(project).paid == project.committed
        db.session.remove()
