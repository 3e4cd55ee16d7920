"""In Chromium: one project from countersignature through a report accepted, a tranche
paid and a redirection approved with its amendment PDF, to close-out. Screenshots and the
amendment rendered to PNG go to /tmp/postaward_shots/ (and test-artifacts/) to be looked at."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader

from center.agreements import services as agreements
from center.core import clock
from center.core.db import db, tenant_scope
from center.projects.models import Project
from center.projects.services import project_of
from center.proposals.models import Proposal
from center.tenants.models import Role, Tenant
from tests.support.browser import screenshot
from tests.support.browser import sign_in as _sign_in
from tests.support.projects import active_project, settle_the_rest
from tests.world import PASSWORD, World

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/postaward_shots")
ADMIN = frozenset({Role.admin})


def _shot(page, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(screenshot(page, f"postaward-{name}"), SHOTS / f"{name}.png")


def sign_in(page, email: str) -> None:  # noqa: ANN001
    _sign_in(page, email, PASSWORD)


def _acknowledged(app: Flask, world: World) -> tuple[int, int]:
    """A funded proposal whose agreement every party acknowledged: (proposal, agreement)."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        tenant = db.session.get(Tenant, world.a.tenant_id)
        proposal = active_project(world.a, tenant, title="Snow cover and spring floods",
                                  countersign=False)
        db.session.commit()
        ids = proposal.id, agreements.current_issued(proposal).id
        db.session.remove()
    return ids


def _first_released(app: Flask, world: World, proposal_id: int) -> tuple[int, int, int]:
    """(project, the first report a tranche waits for, that tranche's number)."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        project = project_of(db.session.get(Proposal, proposal_id))
        tranche = next(t for t in project.tranches if t.period_id is not None)
        ids = project.id, tranche.period_id, tranche.number
        db.session.remove()
    return ids


def test_a_project_from_countersignature_through_an_amendment_to_close_out(
        page, app: Flask, world: World) -> None:  # noqa: ANN001
    side = world.a
    page.on("dialog", lambda dialog: dialog.accept())
    proposal_id, agreement_id = _acknowledged(app, world)

    # Countersignature opens the project.
    sign_in(page, side.emails["admin"])
    page.goto(f"/{side.slug}/agreements/{agreement_id}")
    page.get_by_label("Your full name").fill("Admin Person")
    page.get_by_role("button", name="Countersign").click()
    page.wait_for_load_state()
    assert "the project is now active" in page.locator(".flashes").inner_text()
    project_id, period_id, tranche_number = _first_released(app, world, proposal_id)
    project_url = f"/{side.slug}/projects/{project_id}"
    page.goto(project_url)
    tabs = page.get_by_role("navigation", name="Sections of the project")
    for name in ("Time cards", "Change requests", "Equipment and visits"):
        assert tabs.get_by_role("link", name=name, exact=True).is_visible()
    _shot(page, "01-project-opened")
    page.get_by_role("button", name="Sign out").click()

    # The team writes and submits the report the first tranche waits for.
    sign_in(page, side.emails["applicant"])
    page.goto(f"{project_url}/reports/{period_id}")
    page.get_by_label("Summary of the period").fill("Snow courses surveyed on 14 slopes.")
    page.get_by_label("Results and deliverables").fill("A snow-water map of the basin.")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Submit the report").click()
    page.wait_for_load_state()
    assert "submitted" in page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("button", name="Sign out").click()

    # The officer accepts it and approves the tranche; the administrator records the payment.
    sign_in(page, side.emails["officer"])
    page.goto(f"{project_url}/reports/{period_id}")
    page.get_by_role("button", name="Accept the report").click()
    page.wait_for_load_state()
    assert "accepted" in page.get_by_role("heading", level=1).inner_text()
    page.goto(project_url)
    row = page.locator("#tranches tr", has_text=f"{tranche_number} (").filter(
        has=page.get_by_role("button", name="Approve")).first
    row.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "is approved" in page.locator(".flashes").inner_text()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, side.emails["admin"])
    page.goto(project_url)
    row = page.locator("#tranches tr").filter(
        has=page.get_by_role("button", name="Record the payment")).first
    row.get_by_label("Payment reference").fill("SWIFT-2027-0042")
    row.get_by_label("Paid on").fill(clock.now().date().isoformat())
    row.get_by_role("button", name="Record the payment").click()
    page.wait_for_load_state()
    assert "is paid" in page.locator(".flashes").inner_text()
    assert "SWIFT-2027-0042" in page.locator("#tranches").inner_text()
    _shot(page, "02-tranche-paid")
    page.get_by_role("button", name="Sign out").click()

    # The team asks to move 8,000.00 from salaries to the weather station.
    sign_in(page, side.emails["applicant"])
    page.goto(project_url)
    page.get_by_role("link", name="Change requests: list and new request").click()
    page.wait_for_load_state()
    page.get_by_label("Why the change is needed").fill("The station costs more than quoted.")
    page.get_by_label("Move money from").select_option(
        label="Salaries, lead (Institute of Physics alpha)")
    page.get_by_label("to", exact=True).select_option(
        label="Weather station (Institute of Physics alpha)")
    page.get_by_label("Amount moved").fill("8,000.00")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state()
    assert "Change request sent" in page.locator(".flashes").inner_text()
    change_url = page.url
    page.get_by_role("button", name="Sign out").click()

    # The officer approves it (within the center's limit): the amendment is issued.
    sign_in(page, side.emails["officer"])
    page.goto(project_url)
    assert "Request " in page.locator("#changes").inner_text()
    page.goto(change_url)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "now approved" in page.locator(".flashes").inner_text()
    _shot(page, "03-change-approved")
    page.goto(project_url)
    changes = page.locator("#changes")
    assert "Amendments to the agreement" in changes.inner_text()
    with page.expect_download() as download:
        changes.get_by_role("link", name="PDF").click()
    data = Path(download.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "8,000.00" in text and "Salaries, lead" in text and "Weather station" in text
    pdf = SHOTS / "amendment.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(pdf), str(SHOTS / "amendment")],
                   check=True)
    _shot(page, "04-project-with-amendment")

    # Everything else settled, the administrator closes the project.
    settle_the_rest(app, world.a, project_id)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, side.emails["admin"])
    page.goto(project_url)
    page.get_by_role("button", name="Close the project").click()
    page.wait_for_load_state()
    assert "The project is closed." in page.locator(".flashes").inner_text()
    assert "closed" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("#changes").count() == 0  # a closed project's pages are gone
    _shot(page, "05-project-closed")
    with app.app_context(), tenant_scope(side.tenant_id):
        project = db.session.get(Project, project_id)
        assert project.status == "closed"
        db.session.remove()
