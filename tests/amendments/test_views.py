"""Change requests over HTTP: request, officer approval, amendment download and
acknowledgement, and refusals that change nothing."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from sqlalchemy import select

from center.amendments.models import ChangeRequest, ChangeStatus
from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from center.tenants.models import Role
from tests.support.projects import committed_project, signed_in
from tests.world import World


@pytest.fixture()
def project_id(app: Flask, world: World) -> int:
    return committed_project(app, world)



def _lines(app: Flask, world: World, project_id: int) -> list[int]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        ids = [line.id for line in db.session.get(Proposal, project_id).budget_lines]
        db.session.remove()
    return ids


def _change(app: Flask, world: World) -> tuple[int, int, str]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        change = db.session.scalar(select(ChangeRequest).order_by(ChangeRequest.id.desc()))
        found = (change.id, change.version, change.status)
        db.session.remove()
    return found


def test_a_redirection_is_requested_approved_and_its_amendment_downloaded_and_acknowledged(
        app: Flask, world: World, project_id: int) -> None:
    slug = world.a.slug
    applicant = signed_in(app, world.a.emails[Role.applicant])
    salaries, _partner, equipment = _lines(app, world, project_id)
    page = applicant.get(f"/{slug}/projects/{project_id}/changes")
    assert page.status_code == 200 and "Request a change" in page.get_data(as_text=True)
    response = applicant.post(f"/{slug}/projects/{project_id}/changes", data={
        "kind": "redirection", "justification": "The station costs more.",
        "from_line": salaries, "to_line": equipment, "amount": "5,000.00", "member": 0,
        "task": 0})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    change_id, version, status = _change(app, world)
    assert status == ChangeStatus.submitted
    # The applicant cannot approve; the officer can.
    assert applicant.post(f"/{slug}/changes/{change_id}",
                          data={"version": version, "action": "approve"}).status_code == 403
    officer = signed_in(app, world.a.emails[Role.officer])
    assert officer.post(f"/{slug}/changes/{change_id}",
                        data={"version": version, "action": "approve"}).status_code == 302
    assert _change(app, world)[2] == ChangeStatus.approved
    with app.app_context(), tenant_scope(world.a.tenant_id):
        amendment = db.session.get(ChangeRequest, change_id).amendment
        amendment_id, sha = amendment.id, amendment.sha256
        db.session.remove()
    pdf = applicant.get(f"/{slug}/amendments/{amendment_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["X-Content-SHA256"] == sha
    assert hashlib.sha256(pdf.data).hexdigest() == sha
    signatory = signed_in(app, world.a.emails[Role.signatory])
    shown = signatory.get(f"/{slug}/changes/{change_id}").get_data(as_text=True)
    assert "Acknowledge for" in shown
    response = signatory.post(f"/{slug}/amendments/{amendment_id}/acknowledge", data={
        "lead_institute-party": "lead_institute", "lead_institute-sha256": sha,
        "lead_institute-confirm": "y", "lead_institute-typed_name": "Lead Signatory"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        amendment = db.session.get(ChangeRequest, change_id).amendment
        assert [a.typed_name for a in amendment.acknowledgements] == ["Lead Signatory"]
        db.session.remove()


def test_a_stale_action_changes_nothing(app: Flask, world: World, project_id: int) -> None:
    slug = world.a.slug
    applicant = signed_in(app, world.a.emails[Role.applicant])
    salaries, _partner, equipment = _lines(app, world, project_id)
    applicant.post(f"/{slug}/projects/{project_id}/changes", data={
        "kind": "redirection", "justification": "More.", "from_line": salaries,
        "to_line": equipment, "amount": "50,000.00", "member": 0, "task": 0})
    change_id, version, _status = _change(app, world)
    officer = signed_in(app, world.a.emails[Role.officer])
    response = officer.post(f"/{slug}/changes/{change_id}",
                            data={"version": version + 1, "action": "forward"},
                            follow_redirects=True)
    assert "changed since you opened it" in response.get_data(as_text=True)
    assert _change(app, world)[1:] == (version, ChangeStatus.submitted)


def test_a_bad_amount_is_refused_next_to_the_field(app: Flask, world: World,
                                                   project_id: int) -> None:
    applicant = signed_in(app, world.a.emails[Role.applicant])
    salaries, _partner, equipment = _lines(app, world, project_id)
    response = applicant.post(f"/{world.a.slug}/projects/{project_id}/changes", data={
        "kind": "redirection", "justification": "More.", "from_line": salaries,
        "to_line": equipment, "amount": "-5", "member": 0, "task": 0})
    assert response.status_code == 422
    assert 'id="amount-error"' in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(ChangeRequest)
                                 .where(ChangeRequest.proposal_id == project_id)) is None
        db.session.remove()
