"""The post-award packages wired together: equipment in the close-out, the effort, change
and monitoring pages on the project's page, double claims caught when a report is
submitted, and the change-request e-mails."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from center.core import clock
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus
from center.dedup import services as dedup
from center.dedup.models import MatchStatus
from center.monitoring import claims, services
from center.monitoring.models import DoubleClaim, ReportedText
from center.monitoring.reporting import reported_results
from center.projects import closeout, reports
from center.projects import services as projects
from center.projects.models import Project
from center.tenants.models import Role, Tenant
from tests.support.projects import active_project, signed_in, user
from tests.world import World

TEAM = frozenset({Role.applicant})
VISIT_DAY = dt.datetime(2027, 6, 10, 8, 0, tzinfo=dt.UTC)
RESULT = (
    "We installed an automatic weather station on the Tuyuksu glacier at 3,400 metres and "
    "recorded hourly air temperature, humidity and incoming radiation for eleven months. The "
    "ablation stakes network of forty stakes was remeasured twice, showing a mean surface "
    "lowering of 1.8 metres, and the first mass-balance model of the glacier tongue was "
    "calibrated against these measurements and published as an open data set.")


@pytest.fixture()
def tenant(in_tenant: World) -> Tenant:
    return db.session.get(Tenant, in_tenant.a.tenant_id)


def _equipment_problems(project: Project) -> list[str]:
    return [p for p in closeout.problems(project) if "Equipment" in p]


# --- 1. equipment in the close-out -----------------------------------------------------------

def test_the_project_closes_only_once_its_equipment_is_confirmed_and_handed_over(
        in_tenant: World, tenant: Tenant) -> None:
    proposal = active_project(in_tenant.a, tenant)
    project = projects.project_of(proposal)
    officer = user(in_tenant.a, Role.officer)
    assert _equipment_problems(project) == []  # nothing bought, nothing to hand over
    item = services.register_equipment(
        proposal, line=proposal.budget_lines[2], item="Automatic weather station",
        cost=30_000_00, location="Tuyuksu glacier", serial="WS-1",
        by=user(in_tenant.a, Role.applicant))
    assert _equipment_problems(project) == [
        "Equipment “Automatic weather station” is not confirmed on a monitoring visit yet."]
    with clock.frozen_at(VISIT_DAY):
        services.record_visit(proposal, visited_on=dt.date(2027, 6, 9), visitor="Officer",
                              findings="Installed.", confirmed=[item], actions=[], by=officer)
    assert _equipment_problems(project) == [
        "Equipment “Automatic weather station” is not handed over yet: record who keeps it."]
    services.hand_over(item, to="Institute of Physics", by=officer,
                       expected_version=item.version)
    assert _equipment_problems(project) == []


# --- 2. the sections of the project's page ---------------------------------------------------

def _project_page(app: Flask, world: World) -> tuple[int, int]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        tenant = db.session.get(Tenant, world.a.tenant_id)
        proposal = active_project(world.a, tenant)
        services.register_equipment(
            proposal, line=proposal.budget_lines[2], item="Automatic weather station",
            cost=30_000_00, location="Tuyuksu glacier", serial="WS-1",
            by=user(world.a, Role.applicant))
        db.session.commit()
        ids = proposal.id, projects.project_of(proposal).id
        db.session.remove()
    return ids


def test_the_project_page_links_time_cards_change_requests_and_monitoring(
        app: Flask, world: World) -> None:
    proposal_id, project_id = _project_page(app, world)
    links = (f"/{world.a.slug}/projects/{proposal_id}/effort",
             f"/{world.a.slug}/projects/{proposal_id}/changes",
             f"/{world.a.slug}/projects/{proposal_id}/monitoring")
    for role in (Role.officer, Role.applicant, Role.reviewer):
        client = signed_in(app, world.a.emails[role])
        page = client.get(f"/{world.a.slug}/projects/{project_id}")
        assert page.status_code == 200, role
        html = page.get_data(as_text=True)
        for link in links:
            assert f'href="{link}"' in html, (role, link)
            assert client.get(link).status_code == 200, (role, link)
        assert 'id="effort"' in html and 'id="changes"' in html and 'id="monitoring"' in html
        assert "1 item of equipment registered; 1 not yet confirmed and handed over" in html
        assert "Equipment “Automatic weather station” is not confirmed" in html  # close-out
    # Someone the project is not for sees neither the page nor its sections.
    outsider = signed_in(app, world.b.emails[Role.officer])
    assert outsider.get(f"/{world.a.slug}/projects/{project_id}").status_code == 404


def test_a_closed_project_links_no_post_award_pages(app: Flask, world: World) -> None:
    from center.projects.models import ProjectStatus
    from center.proposals.models import Proposal, ProposalStatus

    proposal_id, project_id = _project_page(app, world)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        # The states the close-out leaves behind (its path is tested in tests/projects).
        db.session.get(Proposal, proposal_id).status = ProposalStatus.closed
        project = db.session.get(Project, project_id)
        project.status, project.closed_at = ProjectStatus.closed, clock.now()
        db.session.commit()
        db.session.remove()
    client = signed_in(app, world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/projects/{project_id}").get_data(as_text=True)
    assert 'id="reports"' in html
    assert 'id="effort"' not in html and f"/projects/{proposal_id}/changes" not in html
    assert client.get(f"/{world.a.slug}/projects/{proposal_id}/changes").status_code == 404


# --- 3. double claims at reporting time ------------------------------------------------------

def _submit(world: World, tenant: Tenant, proposal, results: str) -> reports.Report:  # noqa: ANN001
    project = projects.project_of(proposal)
    applicant = user(world.a, Role.applicant)
    report = reports.start_report(project.periods[0], by=applicant)
    reports.save_draft(report, by=applicant, expected_version=report.version,
                       sections={"summary": "The first quarter.", "results": results},
                       progress={report.progress[0]["task_id"]: ("done", "Station logging.")})
    reports.fire(report, "submit", by=applicant, roles=TEAM, tenant=tenant,
                 expected_version=report.version)
    db.session.commit()  # the check is queued; in tests it runs at the commit
    return report


def test_the_same_result_reported_to_two_projects_is_flagged_to_the_officer(
        in_tenant: World, tenant: Tenant) -> None:
    dedup.forget_indexes()
    glaciers = active_project(in_tenant.a, tenant, title="Glaciers")
    rivers = active_project(in_tenant.a, tenant, title="Rivers",
                            abstract="Rivers flow into the delta. " * 30)
    first = _submit(in_tenant, tenant, glaciers, RESULT)
    assert "Station logging." in reported_results(first)
    second = _submit(in_tenant, tenant, rivers, "The river gauges delivered daily series. "
                     + RESULT)
    jobs = list(db.session.scalars(select(Job).where(Job.task == "monitoring.check_report")
                                   .order_by(Job.id)))
    assert [j.status for j in jobs] == [JobStatus.done, JobStatus.done], [j.error for j in jobs]
    assert [j.params["report_id"] for j in jobs] == [first.id, second.id]
    texts = {t.source_key: t for t in db.session.scalars(select(ReportedText))
             if t.source_key.startswith("report:")}
    assert set(texts) == {f"report:{first.id}", f"report:{second.id}"}
    flagged = list(db.session.scalars(select(DoubleClaim).where(
        DoubleClaim.reported_id == texts[f"report:{second.id}"].id)))
    assert [c.other_key for c in flagged] == [f"t:{texts[f'report:{first.id}'].id}"]
    claim = flagged[0]
    assert claim.status == MatchStatus.open and claim in claims.open_claims()
    shown = claims.compare_claim(claim)  # the passages side by side, as the officer sees them
    assert "weather station" in " ".join(t for t, n in shown["a"].segments if n is not None)
    assert "weather station" in " ".join(t for t, n in shown["b"].segments if n is not None)
    assert shown["b"].title.startswith("Glaciers — ")


def test_an_unrelated_report_is_checked_and_not_flagged(in_tenant: World,
                                                        tenant: Tenant) -> None:
    dedup.forget_indexes()
    glaciers = active_project(in_tenant.a, tenant, title="Glaciers")
    rivers = active_project(in_tenant.a, tenant, title="Rivers",
                            abstract="Rivers flow into the delta. " * 30)
    _submit(in_tenant, tenant, glaciers, RESULT)
    _submit(in_tenant, tenant, rivers, "Sediment samples from the Ili delta were analysed for "
            "heavy metals and a training course for twelve hydrology students was held.")
    assert db.session.scalar(select(ReportedText).where(
        ReportedText.proposal_id == rivers.id)) is not None
    assert not [c for c in claims.open_claims() if c.reported.proposal_id == rivers.id]


# --- 4. the change-request e-mails -----------------------------------------------------------

def _mail(since: int) -> list[tuple[str, str, str]]:
    from center.core.notifications import OutboxMessage

    return [(m.recipient, m.subject, m.body) for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id > since).order_by(OutboxMessage.id))]


def _last_mail_id() -> int:
    from sqlalchemy import func

    from center.core.notifications import OutboxMessage

    return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def test_a_change_request_is_mailed_at_each_step_in_the_recipient_s_language(
        in_tenant: World, tenant: Tenant) -> None:
    from center.amendments import services as changes
    from center.amendments.models import ChangeKind
    from tests.support.projects import delegate_for

    proposal = active_project(in_tenant.a, tenant)
    officer, applicant = user(in_tenant.a, Role.officer), user(in_tenant.a, Role.applicant)
    officer.locale = "ru"  # the officer reads Russian, the team English
    lines = proposal.budget_lines
    mark = _last_mail_id()
    change = changes.request_change(
        proposal, ChangeKind.redirection, by=applicant, tenant=tenant,
        justification="The station costs more than planned.",
        moves=[{"from_line_id": lines[0].id, "to_line_id": lines[2].id, "amount": 30_000_00}])
    sent = _mail(mark)
    assert {r for r, _s, _b in sent} == {officer.email}
    assert sent[0][1] == f"Запрос на изменение {change.id} ожидает рассмотрения: {proposal.title}"
    assert "запрашивает изменение соглашения" in sent[0][2]
    mark = _last_mail_id()
    changes.fire(change, "forward", by=officer, roles=frozenset({Role.officer}), tenant=tenant,
                 expected_version=change.version)
    sent = _mail(mark)
    delegates = {delegate_for(in_tenant.a, i, tenant).email for i in range(2)}
    assert {r for r, s, _b in sent if "forwarded to the donors" in s} == {applicant.email}
    assert {r for r, s, _b in sent if "for your donor to approve" in s} == delegates
    mark = _last_mail_id()
    for index in range(2):
        changes.fire(change, "donor_approve", by=delegate_for(in_tenant.a, index, tenant),
                     roles=frozenset({Role.reviewer}), tenant=tenant,
                     expected_version=change.version)
    sent = _mail(mark)
    assert {r for r, s, _b in sent if s.startswith(f"Change request {change.id} approved")
            } == {applicant.email}
    assert {r for r, s, _b in sent if s.startswith(f"Запрос на изменение {change.id} одобрен")
            } == {officer.email}
    issued = [(r, b) for r, s, b in sent if s.startswith("Amendment ")]
    assert {r for r, _b in issued} == {applicant.email, user(in_tenant.a, Role.signatory).email,
                                       *delegates}
    assert all(change.amendment.reference in b for _r, b in issued)
    assert any("acknowledge it" in b for r, b in issued if r != applicant.email)


# --- 5. the demo ----------------------------------------------------------------------------

def test_the_demo_has_time_cards_changes_equipment_and_visits_in_every_state(app) -> None:  # noqa: ANN001
    from center import demo
    from center.amendments.models import Amendment, ChangeRequest, ChangeStatus
    from center.effort.models import CardStatus, TimeCard
    from center.monitoring.models import Equipment, MonitoringVisit

    with app.app_context():
        demo.seed()
        db.session.commit()
        istc = db.session.scalar(select(Tenant).where(Tenant.slug == "istc-demo"))
        with tenant_scope(istc.id):
            assert {c.status for c in db.session.scalars(select(TimeCard))} == set(CardStatus)
            changes = db.session.scalars(select(ChangeRequest)).all()
            assert {c.status for c in changes} == set(ChangeStatus)
            approved = [c for c in changes if c.status == ChangeStatus.approved]
            assert approved and all(c.amendment is not None for c in approved)
            assert db.session.scalar(select(Amendment)).reference.endswith("-A1")
            assert any(c.donor_decisions for c in changes
                       if c.status == ChangeStatus.donor_review)
            items = db.session.scalars(select(Equipment)).all()
            assert any(i.confirmed and i.handed_over_at is None for i in items)
            assert any(not i.confirmed for i in items)
            assert any(i.handed_over_at for i in items)  # the closed project's
            visits = db.session.scalars(select(MonitoringVisit)).all()
            assert any(a.is_open for v in visits for a in v.actions)
            # Every submitted report was checked for double claims; the demo's own
            # projects do not repeat each other.
            checked = db.session.scalars(select(ReportedText)).all()
            assert len({t.proposal_id for t in checked}) == 3  # all but the unsubmitted one
            assert not [c for c in claims.open_claims() if c.reported in checked
                        and c.other_key.startswith("t:")]


def test_an_open_change_request_holds_the_close_out(in_tenant: World, tenant: Tenant) -> None:
    from center.amendments import services as changes
    from center.amendments.models import ChangeKind

    proposal = active_project(in_tenant.a, tenant)
    project = projects.project_of(proposal)
    applicant = user(in_tenant.a, Role.applicant)
    change = changes.request_change(proposal, ChangeKind.team_change, by=applicant,
                                    tenant=tenant, justification="A chemist joins the team.")
    assert (f"Change request {change.id} is with the officer: it must be decided or withdrawn "
            "first.") in closeout.problems(project)
    changes.fire(change, "withdraw", by=applicant, roles=TEAM, tenant=tenant,
                 expected_version=change.version)
    assert not [p for p in closeout.problems(project) if "Change request" in p]
