"""Equipment, monitoring visits and their actions, and double claims in reported results."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db
from center.dedup import services as dedup
from center.dedup.models import MatchStatus
from center.monitoring import claims, services
from center.monitoring.models import DoubleClaim
from center.tenants.models import Role, Tenant
from tests.support.projects import active_project, user
from tests.world import World

VISIT_DAY = dt.datetime(2027, 6, 10, 8, 0, tzinfo=dt.UTC)


@pytest.fixture()
def tenant(in_tenant: World) -> Tenant:
    return db.session.get(Tenant, in_tenant.a.tenant_id)


@pytest.fixture()
def project(in_tenant: World, tenant: Tenant):  # noqa: ANN201
    return active_project(in_tenant.a, tenant)


def _station(project, world: World, cost: int = 30_000_00):  # noqa: ANN001, ANN202
    return services.register_equipment(project, line=project.budget_lines[2],
                                       item="Automatic weather station", cost=cost,
                                       location="Tuyuksu glacier, 3,400 m", serial="WS-2027-1",
                                       by=user(world.a, Role.applicant))


def test_equipment_is_confirmed_on_a_visit_then_handed_over_for_the_close_out(
        in_tenant: World, project) -> None:  # noqa: ANN001
    officer = user(in_tenant.a, Role.officer)
    item = _station(project, in_tenant)
    assert not services.equipment_settled(project)
    with pytest.raises(services.MonitoringError):  # not seen on a visit yet
        services.hand_over(item, to="Institute of Physics", by=officer,
                           expected_version=item.version)
    with clock.frozen_at(VISIT_DAY):
        visit = services.record_visit(
            project, visited_on=dt.date(2027, 6, 9), visitor="Officer of alpha",
            findings="Station installed and logging.", confirmed=[item],
            actions=[services.ActionInput("Send the calibration certificate", "PI",
                                          dt.date(2027, 7, 1))], by=officer)
    assert item.confirmed_visit_id == visit.id
    assert not services.equipment_settled(project)  # confirmed, not yet handed over
    services.hand_over(item, to="Institute of Physics alpha", by=officer,
                       expected_version=item.version)
    assert services.equipment_settled(project)
    action = visit.actions[0]
    assert action.is_open and services.open_actions() == [action]
    with pytest.raises(services.MonitoringError):
        services.close_action(action, by=officer, expected_version=action.version + 1)
    services.close_action(action, by=officer, expected_version=action.version)
    assert not action.is_open and services.open_actions() == []
    with pytest.raises(services.MonitoringError):
        services.close_action(action, by=officer, expected_version=action.version)
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("equipment.%") | AuditEvent.action.like("visit.%"))
        .order_by(AuditEvent.id))] == ["equipment.registered", "visit.recorded",
                                       "equipment.handed_over", "visit.action_done"]


def test_equipment_must_fit_its_equipment_line(in_tenant: World, project) -> None:  # noqa: ANN001
    with pytest.raises(services.MonitoringError) as refused:
        services.register_equipment(project, line=project.budget_lines[0], item="Laptop",
                                    cost=1_000_00, location="Office", serial="",
                                    by=user(in_tenant.a, Role.applicant))
    assert refused.value.field == "line"
    _station(project, in_tenant)
    with pytest.raises(services.MonitoringError) as refused:
        _station(project, in_tenant, cost=10_000_01)  # 40,000.00 line, 30,000.00 spent
    assert refused.value.field == "cost"


def test_a_visit_in_the_future_or_an_action_due_before_it_is_refused(
        in_tenant: World, project) -> None:  # noqa: ANN001
    officer = user(in_tenant.a, Role.officer)
    with clock.frozen_at(VISIT_DAY), pytest.raises(services.MonitoringError):
        services.record_visit(project, visited_on=dt.date(2027, 6, 11), visitor="Officer",
                              findings="Fine.", confirmed=[], actions=[], by=officer)
    with clock.frozen_at(VISIT_DAY), pytest.raises(services.MonitoringError):
        services.record_visit(project, visited_on=dt.date(2027, 6, 9), visitor="Officer",
                              findings="Fine.", confirmed=[],
                              actions=[services.ActionInput("Fix", "PI", dt.date(2027, 6, 1))],
                              by=officer)
    assert services.visits_of(project) == []


RESULT = (
    "We installed an automatic weather station on the Tuyuksu glacier at 3,400 metres and "
    "recorded hourly air temperature, humidity and incoming radiation for eleven months. The "
    "ablation stakes network of forty stakes was remeasured twice, showing a mean surface "
    "lowering of 1.8 metres, and the first mass-balance model of the glacier tongue was "
    "calibrated against these measurements and published as an open data set.")
OTHER_RESULT = (
    "The river gauging stations on the Ili delivered daily discharge series for the spring "
    "flood; sediment samples were analysed for heavy metals in the partner laboratory and a "
    "training course for twelve hydrology students was held in Almaty in October.")


def test_a_result_reported_to_two_projects_is_flagged_with_the_passages_side_by_side(
        in_tenant: World, tenant: Tenant) -> None:
    dedup.forget_indexes()
    glaciers = active_project(in_tenant.a, tenant, title="Glaciers")
    rivers = active_project(in_tenant.a, tenant, title="Rivers", abstract="Rivers flow. " * 30)
    officer = user(in_tenant.a, Role.officer)
    first = claims.check_reported_text(glaciers, source_key="report:1",
                                       label="Report 1, results", text=RESULT, by=None)
    assert first == []  # nothing to compare with yet
    assert claims.check_reported_text(rivers, source_key="report:2", label="Report 1, results",
                                      text=OTHER_RESULT, by=None) == []
    found = claims.check_reported_text(
        rivers, source_key="report:3", label="Report 2, results",
        text=OTHER_RESULT.replace("October", "March") + "\n\n" + RESULT, by=None)
    assert [c.other_key for c in found] == [f"t:{first_text_id(glaciers)}"]
    claim = found[0]
    assert claim.score >= 0.5 and claim.status == MatchStatus.open
    shown = claims.compare_claim(claim)
    marked_a = [text for text, number in shown["a"].segments if number is not None]
    marked_b = [text for text, number in shown["b"].segments if number is not None]
    assert marked_a and marked_b
    assert "weather station" in " ".join(marked_b)
    assert shown["b"].title == "Glaciers — Report 1, results"
    assert claim in claims.open_claims()
    with pytest.raises(claims.ClaimError):
        claims.resolve_claim(claim, MatchStatus.duplicate, comment="", by=officer,
                             expected_version=claim.version)
    claims.resolve_claim(claim, MatchStatus.duplicate, comment="Reported twice.", by=officer,
                         expected_version=claim.version)
    # Checking the same report again keeps the officer's verdict.
    again = claims.check_reported_text(
        rivers, source_key="report:3", label="Report 2, results",
        text=OTHER_RESULT.replace("October", "March") + "\n\n" + RESULT, by=None)
    assert [c.status for c in again] == [MatchStatus.duplicate]
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "claims.resolved")).to_state == "duplicate"


def test_a_project_s_own_proposal_is_no_double_claim_but_another_proposal_is(
        in_tenant: World, tenant: Tenant) -> None:
    dedup.forget_indexes()
    glaciers = active_project(in_tenant.a, tenant, title="Glaciers", abstract=RESULT)
    rivers = active_project(in_tenant.a, tenant, title="Rivers", abstract=OTHER_RESULT)
    for proposal in (glaciers, rivers):
        dedup.check_proposal(proposal, by=None)
    own = claims.check_reported_text(glaciers, source_key="report:1", label="Report 1",
                                     text=RESULT, by=None)
    assert own == []
    other = claims.check_reported_text(rivers, source_key="report:2", label="Report 1",
                                       text=RESULT, by=None)
    # Glaciers' proposal, and the result Glaciers reported.
    assert sorted(c.other_key for c in other) == [f"p:{glaciers.id}",
                                                  f"t:{first_text_id(glaciers)}"]
    by_proposal = next(c for c in other if c.other_key.startswith("p:"))
    assert db.session.get(DoubleClaim, by_proposal.id) is not None
    assert claims.compare_claim(by_proposal)["b_proposal_id"] == glaciers.id


def first_text_id(project) -> int:  # noqa: ANN001
    from center.monitoring.models import ReportedText

    return db.session.scalar(select(ReportedText.id).where(
        ReportedText.proposal_id == project.id).order_by(ReportedText.id))
