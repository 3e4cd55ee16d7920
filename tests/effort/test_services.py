"""Time cards: the monthly cap across projects, the work-plan cap, acceptance and payments."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from center.core.audit import AuditEvent
from center.core.db import db
from center.effort import services
from center.effort.models import CardStatus, TimeCard
from center.tenants.models import Role, Tenant
from tests.support.projects import active_project, user
from tests.world import World

MARCH = dt.date(2027, 3, 1)  # 23 weekdays


@pytest.fixture()
def tenant(in_tenant: World) -> Tenant:
    return db.session.get(Tenant, in_tenant.a.tenant_id)


def _pi(project):  # noqa: ANN001, ANN202
    return project.principal_investigator


def _enter(project, days: int, month: dt.date = MARCH, *, world: World, tenant: Tenant,  # noqa: ANN001
           member=None) -> TimeCard:  # noqa: ANN001
    return services.enter_card(project, member=member or _pi(project), task=project.tasks[0],
                               month=month, days=days, by=user(world.a, Role.applicant),
                               tenant=tenant)


def test_working_days_are_the_weekdays_of_the_month() -> None:
    assert services.working_days(dt.date(2027, 2, 1)) == 20
    assert services.working_days(dt.date(2027, 3, 1)) == 23
    assert services.working_days(dt.date(2028, 2, 1)) == 21  # leap year, 29 Feb a Tuesday


def test_a_person_s_days_in_a_month_are_capped_across_two_projects(
        in_tenant: World, tenant: Tenant) -> None:
    first = active_project(in_tenant.a, tenant, title="Glaciers")
    second = active_project(in_tenant.a, tenant, title="Rivers", abstract="Rivers flow. " * 30)
    _enter(first, 15, world=in_tenant, tenant=tenant)
    with pytest.raises(services.EffortError) as refused:
        _enter(second, 10, world=in_tenant, tenant=tenant)
    assert "already has 15 days" in str(refused.value)
    assert "23 working days" in str(refused.value)
    assert db.session.scalar(select(TimeCard).where(TimeCard.proposal_id == second.id)) is None
    card = _enter(second, 8, world=in_tenant, tenant=tenant)  # 15 + 8 = 23: exactly the cap
    assert card.status == CardStatus.entered
    # Another month has its own cap.
    _enter(second, 20, month=dt.date(2027, 4, 1), world=in_tenant, tenant=tenant)


def test_the_same_person_is_found_by_name_when_one_project_has_no_e_mail(
        in_tenant: World, tenant: Tenant) -> None:
    first = active_project(in_tenant.a, tenant, title="Glaciers")
    second = active_project(in_tenant.a, tenant, title="Rivers", pi_email="",
                            pi_name="Nurlanovna Aigerim", abstract="Rivers flow. " * 30)
    _enter(first, 20, world=in_tenant, tenant=tenant)
    with pytest.raises(services.EffortError):
        _enter(second, 4, world=in_tenant, tenant=tenant)


def test_a_returned_card_frees_its_days_and_correcting_a_card_replaces_its_days(
        in_tenant: World, tenant: Tenant) -> None:
    first = active_project(in_tenant.a, tenant, title="Glaciers")
    second = active_project(in_tenant.a, tenant, title="Rivers", abstract="Rivers flow. " * 30)
    card = _enter(first, 20, world=in_tenant, tenant=tenant)
    card = _enter(first, 21, world=in_tenant, tenant=tenant)  # a correction, not 41 days
    assert card.days == 21
    services.decide_card(card, "return", by=user(in_tenant.a, Role.officer),
                         expected_version=card.version, reason="Timesheet missing.")
    assert _enter(second, 23, world=in_tenant, tenant=tenant).days == 23


def test_going_over_a_task_s_planned_days_is_refused(in_tenant: World, tenant: Tenant) -> None:
    project = active_project(in_tenant.a, tenant, pi_days=30)
    _enter(project, 20, world=in_tenant, tenant=tenant)
    with pytest.raises(services.EffortError) as refused:
        _enter(project, 11, month=dt.date(2027, 4, 1), world=in_tenant, tenant=tenant)
    assert "needs an approved redirection" in str(refused.value)
    _enter(project, 10, month=dt.date(2027, 4, 1), world=in_tenant, tenant=tenant)


@pytest.mark.parametrize(("month", "why"), [
    (dt.date(2026, 12, 1), "does not run"),  # before the project starts (15 January 2027)
    (dt.date(2028, 1, 1), "months 1–12"),  # month 13: after the task
])
def test_a_month_outside_the_project_or_the_task_is_refused(
        in_tenant: World, tenant: Tenant, month: dt.date, why: str) -> None:
    project = active_project(in_tenant.a, tenant)
    with pytest.raises(services.EffortError) as refused:
        _enter(project, 5, month=month, world=in_tenant, tenant=tenant)
    assert why in str(refused.value)
    assert refused.value.field == "month"


def test_accepting_fixes_the_daily_rate_and_payments_follow_per_month(
        in_tenant: World, tenant: Tenant) -> None:
    project = active_project(in_tenant.a, tenant)
    officer = user(in_tenant.a, Role.officer)
    card = _enter(project, 10, world=in_tenant, tenant=tenant)
    services.decide_card(card, "accept", by=officer, expected_version=card.version)
    # Lead institute: 100,000.00 of personnel over the PI's 100 planned days.
    assert card.daily_rate == 1_000_00
    assert card.payment == 10_000_00
    months = services.payments(project)
    assert [(m.month, m.total) for m in months] == [(MARCH, 10_000_00)]
    assert months[0].rows[0][1:] == (10, 10_000_00)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "effort.accepted"))
    assert (event.from_state, event.to_state) == ("entered", "accepted")
    with pytest.raises(services.EffortError):
        _enter(project, 12, world=in_tenant, tenant=tenant)  # accepted: frozen
    with pytest.raises(services.EffortError):
        services.decide_card(card, "return", by=officer, expected_version=card.version,
                             reason="Too late.")


def test_a_stale_decision_is_refused(in_tenant: World, tenant: Tenant) -> None:
    project = active_project(in_tenant.a, tenant)
    card = _enter(project, 10, world=in_tenant, tenant=tenant)
    with pytest.raises(services.EffortError):
        services.decide_card(card, "accept", by=user(in_tenant.a, Role.officer),
                             expected_version=card.version + 1)
    assert card.status == CardStatus.entered
