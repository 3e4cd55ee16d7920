"""Equipment and visits over HTTP: register, record a visit, close its action, hand over."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from center.auth.models import User
from center.core import clock
from center.core.db import db, tenant_scope
from center.monitoring import services
from center.monitoring.models import Equipment, FollowUpAction
from center.proposals.models import Proposal
from center.tenants.models import Role, Tenant
from tests.support.projects import active_project, committed_project, signed_in
from tests.world import World


@pytest.fixture()
def project_id(app: Flask, world: World) -> int:
    return committed_project(app, world)



def _one(app: Flask, world: World, model):  # noqa: ANN001, ANN202
    with app.app_context(), tenant_scope(world.a.tenant_id):
        row = db.session.scalar(select(model))
        found = None if row is None else (row.id, row.version)
        db.session.remove()
    return found


def test_equipment_is_registered_confirmed_on_a_visit_and_handed_over(
        app: Flask, world: World, project_id: int) -> None:
    slug = world.a.slug
    with app.app_context(), tenant_scope(world.a.tenant_id):
        equipment_line = db.session.get(Proposal, project_id).budget_lines[2].id
        db.session.remove()
    applicant = signed_in(app, world.a.emails[Role.applicant])
    bad = applicant.post(f"/{slug}/projects/{project_id}/monitoring", data={
        "equipment-line": equipment_line, "equipment-item": "Station",
        "equipment-cost": "1,5", "equipment-location": "Glacier"})
    assert bad.status_code == 422 and 'id="equipment-cost-error"' in bad.get_data(as_text=True)
    assert _one(app, world, Equipment) is None
    response = applicant.post(f"/{slug}/projects/{project_id}/monitoring", data={
        "equipment-line": equipment_line, "equipment-item": "Weather station",
        "equipment-cost": "30,000.00", "equipment-location": "Tuyuksu glacier",
        "equipment-serial": "WS-1"})
    assert response.status_code == 302
    item_id, _version = _one(app, world, Equipment)
    # Only staff record visits.
    assert applicant.post(f"/{slug}/projects/{project_id}/monitoring/visits",
                          data={}).status_code == 403
    officer = signed_in(app, world.a.emails[Role.officer])
    today = dt.date.today().isoformat()
    response = officer.post(f"/{slug}/projects/{project_id}/monitoring/visits", data={
        "visit-visited_on": today, "visit-visitor": "Officer of alpha",
        "visit-findings": "Installed and logging.", "visit-confirmed": item_id,
        "visit-action": "Send the calibration certificate", "visit-owner": "PI",
        "visit-due_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    action_id, action_version = _one(app, world, FollowUpAction)
    assert officer.post(f"/{slug}/projects/{project_id}/monitoring/actions", data={
        "row": action_id, "version": action_version}).status_code == 302
    _item, item_version = _one(app, world, Equipment)
    assert officer.post(f"/{slug}/projects/{project_id}/monitoring/handover", data={
        "row": item_id, "version": item_version, "to": "Institute of Physics"}
    ).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        project = db.session.get(Proposal, project_id)
        assert services.equipment_settled(project)
        assert services.open_actions() == []
        db.session.remove()
    page = officer.get(f"/{slug}/projects/{project_id}/monitoring").get_data(as_text=True)
    assert "Every registered item is confirmed and handed over." in page


def test_the_officer_sees_a_double_claim_side_by_side_and_records_a_verdict(
        app: Flask, world: World) -> None:
    from center.dedup import services as dedup
    from center.monitoring import claims
    from center.monitoring.models import DoubleClaim
    from tests.monitoring.test_services import OTHER_RESULT, RESULT

    with app.app_context(), tenant_scope(world.a.tenant_id):
        dedup.forget_indexes()
        tenant = db.session.get(Tenant, world.a.tenant_id)
        glaciers = active_project(world.a, tenant, title="Glaciers")
        rivers = active_project(world.a, tenant, title="Rivers", abstract="Rivers. " * 30)
        claims.check_reported_text(glaciers, source_key="report:1", label="Report 1",
                                   text=RESULT, by=None)
        found = claims.check_reported_text(rivers, source_key="report:2", label="Report 1",
                                           text=OTHER_RESULT + "\n\n" + RESULT, by=None)
        db.session.commit()
        claim_id, version = found[0].id, found[0].version
        db.session.remove()
    slug = world.a.slug
    assert signed_in(app, world.a.emails[Role.applicant]).get(
        f"/{slug}/claims/{claim_id}").status_code == 403
    officer = signed_in(app, world.a.emails[Role.officer])
    assert "Rivers" in officer.get(f"/{slug}/claims").get_data(as_text=True)
    page = officer.get(f"/{slug}/claims/{claim_id}").get_data(as_text=True)
    assert page.count('class="side-by-side"') == 1 and page.count("<mark") >= 2
    assert "Glaciers — Report 1" in page
    response = officer.post(f"/{slug}/claims/{claim_id}", data={
        "version": version, "status": "duplicate", "comment": "Reported to both projects."})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(DoubleClaim, claim_id).status == "duplicate"
        db.session.remove()


def test_the_officer_s_dashboard_counts_what_waits_after_the_award(
        app: Flask, world: World, project_id: int) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        project = db.session.get(Proposal, project_id)
        officer = db.session.get(User, world.a.user_ids[Role.officer])
        with clock.frozen_at(dt.datetime(2027, 6, 10, tzinfo=dt.UTC)):
            services.record_visit(project, visited_on=dt.date(2027, 6, 9), visitor="Officer",
                                  findings="Logging.", confirmed=[], by=officer,
                                  actions=[services.ActionInput("Calibrate", "PI",
                                                                dt.date(2027, 7, 1))])
        db.session.commit()
        db.session.remove()
    def dashboard_on(day: dt.datetime) -> str:
        with clock.frozen_at(day):  # signed in on that day too, so the session is fresh
            client = signed_in(app, world.a.emails[Role.officer])
            return client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)

    assert "1 open visit actions, 0 overdue" in dashboard_on(
        dt.datetime(2027, 6, 10, tzinfo=dt.UTC))
    text = dashboard_on(dt.datetime(2027, 7, 2, tzinfo=dt.UTC))
    assert "1 open visit actions, 1 overdue" in text
    assert "1 double claims to check" in text  # the world's flag
