"""Time-card pages over HTTP: bad input refused next to the field, acceptance by the officer."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from center.core.db import db, tenant_scope
from center.effort.models import CardStatus, TimeCard
from center.tenants.models import Role
from tests.support.projects import committed_project
from tests.world import World


@pytest.fixture()
def project_id(app: Flask, world: World) -> int:
    return committed_project(app, world)


def _ids(app: Flask, world: World, project_id: int) -> dict[str, int]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        from center.proposals.models import Proposal

        project = db.session.get(Proposal, project_id)
        found = {"member": project.principal_investigator.id, "task": project.tasks[0].id}
        db.session.remove()
    return found


def _cards(app: Flask, world: World) -> int:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        count = db.session.scalar(select(func.count()).select_from(TimeCard))
        db.session.remove()
    return count


@pytest.mark.parametrize(("typed", "message"), [
    ("2,5", "whole days"),
    ("2.5", "whole days"),
    ("-3", "cannot be negative"),
    ("1e9", "in digits"),
    ("99999999999999999999", "at most 31"),
    ("", "Enter the days worked"),
])
def test_bad_days_are_refused_next_to_the_field_and_nothing_is_stored(
        app: Flask, world: World, login, project_id: int, typed: str, message: str) -> None:
    client = login(world.a.emails[Role.applicant])
    response = client.post(f"/{world.a.slug}/projects/{project_id}/effort",
                           data={**_ids(app, world, project_id), "month": "2027-03",
                                 "days": typed})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="days-error"' in page and message in page
    assert f'value="{typed}"' in page  # what was typed stays in the field
    assert _cards(app, world) == 0


def test_days_over_the_month_s_cap_are_refused_next_to_the_days(
        app: Flask, world: World, login, project_id: int) -> None:
    client = login(world.a.emails[Role.applicant])
    response = client.post(f"/{world.a.slug}/projects/{project_id}/effort",
                           data={**_ids(app, world, project_id), "month": "2027-02",
                                 "days": "21"})
    assert response.status_code == 422
    assert "20 working days" in response.get_data(as_text=True)
    assert _cards(app, world) == 0


def test_the_applicant_enters_and_the_officer_accepts_a_card(
        app: Flask, world: World, login, project_id: int) -> None:
    applicant = login(world.a.emails[Role.applicant])
    response = applicant.post(f"/{world.a.slug}/projects/{project_id}/effort",
                              data={**_ids(app, world, project_id), "month": "2027-03",
                                    "days": "12"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        card = db.session.scalar(select(TimeCard))
        card_id, version = card.id, card.version
        db.session.remove()
    # The applicant cannot accept their own card.
    refused = applicant.post(f"/{world.a.slug}/projects/{project_id}/effort/decide",
                             data={"card": card_id, "version": version, "action": "accept"})
    assert refused.status_code == 403
    officer = app.test_client()
    officer.post("/login", data={"email": world.a.emails[Role.officer],
                                 "password": "correct horse battery"})
    response = officer.post(f"/{world.a.slug}/projects/{project_id}/effort/decide",
                            data={"card": card_id, "version": version, "action": "accept"})
    assert response.status_code == 302
    page = officer.get(f"/{world.a.slug}/projects/{project_id}/effort").get_data(as_text=True)
    assert "€12,000.00" in page  # 12 days × 1,000.00 (100,000.00 lead personnel / 100 days)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(TimeCard, card_id).status == CardStatus.accepted
        db.session.remove()


def test_a_project_of_another_applicant_is_not_found(app: Flask, world: World, login,
                                                     project_id: int) -> None:
    client = login(world.a.emails[Role.concurrence])
    assert client.get(f"/{world.a.slug}/projects/{project_id}/effort").status_code == 403
    client = login(world.b.emails[Role.officer])
    assert client.get(f"/{world.b.slug}/projects/{project_id}/effort").status_code == 404
