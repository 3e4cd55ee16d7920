"""Projects: opening at countersignature, the report and tranche state machines, the
tranche-sum invariant, close-out and its PDF, reminders, permissions and dashboards."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from center.auth.models import User
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db
from center.core.notifications import OutboxMessage
from center.projects import closeout, plan, reports, services, tranches
from center.projects.machine import GuardFailed, IllegalTransition, StaleTransition
from center.projects.models import (
    Project,
    ProjectStatus,
    ReportKind,
    ReportStatus,
    Tranche,
    TrancheStatus,
)
from center.proposals import workflow
from center.proposals.models import ProposalStatus
from center.tenants.models import Role, Tenant
from tests.projects.world_part import active_project
from tests.world import World

OFFICER = frozenset({Role.officer})
ADMIN = frozenset({Role.admin})
TEAM = frozenset({Role.applicant})
DONOR = frozenset({Role.reviewer})


def _project(world: World) -> Project:
    return db.session.get(Project, world.a.ids["project_id"])


def _user(world: World, role: str) -> User:
    return db.session.get(User, world.a.user_ids[role])


def _tenant(world: World) -> Tenant:
    return db.session.get(Tenant, world.a.tenant_id)


def _written(world: World, period) -> reports.Report:  # noqa: ANN001
    report = reports.start_report(period, by=_user(world, Role.applicant))
    reports.save_draft(report, by=_user(world, Role.applicant), expected_version=report.version,
                       sections={"summary": "We drilled.", "results": "Cores taken."},
                       progress={report.progress[0]["task_id"]: ("done", "Cores in the lab")})
    return report


def _accept(world: World, period) -> reports.Report:  # noqa: ANN001
    report = _written(world, period)
    reports.fire(report, "submit", by=_user(world, Role.applicant), roles=TEAM,
                 tenant=_tenant(world))
    reports.fire(report, "accept", by=_user(world, Role.officer), roles=OFFICER,
                 tenant=_tenant(world))
    return report


# --- the reporting plan ----------------------------------------------------------------------

def test_the_plan_follows_the_agreement_and_the_centers_practice() -> None:
    start = dt.date(2027, 1, 15)
    got = [(r.kind, r.first_month, r.last_month, r.due_on)
           for r in plan.reporting_plan(start, 24)]
    assert got == [
        ("technical", 1, 3, dt.date(2027, 5, 14)),  # 14 April + 30 days
        ("technical", 4, 6, dt.date(2027, 8, 13)),
        ("technical", 7, 9, dt.date(2027, 11, 13)),
        # by the end of month 12 = ceil(24 / 2); the annual financial report of month 12
        # is the interim report's
        ("interim", 1, 12, dt.date(2028, 1, 14)),
        ("technical", 13, 15, dt.date(2028, 5, 14)),
        ("technical", 16, 18, dt.date(2028, 8, 13)),
        ("technical", 19, 21, dt.date(2028, 11, 13)),
        ("final", 1, 24, dt.date(2029, 3, 15)),  # 60 days after 14 January 2029
    ]
    assert [r.kind for r in plan.reporting_plan(start, 36)].count("financial") == 2  # 12, 24
    assert [r.kind for r in plan.reporting_plan(start, 1)] == ["final"]
    assert plan.releasing_kind("On countersignature of this Agreement") is None
    assert plan.releasing_kind("On approval of the interim report") == "interim"
    assert plan.releasing_kind("Whatever the donors decide") == "final"


def test_countersignature_opens_the_project_with_schedule_and_tranches(in_tenant: World) -> None:
    project = _project(in_tenant)
    assert project.status == ProjectStatus.active
    assert project.proposal.status == ProposalStatus.active
    assert [p.kind for p in project.periods] == ["technical", "interim", "technical", "final"]
    assert [(t.number, t.percent, t.amount, t.status) for t in project.tranches] == [
        (1, 40, 36_000_00, TrancheStatus.due), (2, 40, 36_000_00, TrancheStatus.planned),
        (3, 20, 18_000_00, TrancheStatus.planned)]
    assert project.tranches[0].period is None  # countersignature releases it
    assert project.tranches[1].period.kind == ReportKind.interim
    assert project.tranches[2].period.kind == ReportKind.final
    assert project.committed == 90_000_00 == sum(t.amount for t in project.tranches)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "project.opened", AuditEvent.object_id == project.id)) == 1


def test_two_donors_each_get_tranches_adding_up_to_their_commitment(in_tenant: World) -> None:
    d1 = in_tenant.a.donor_ids[0]  # the world names a delegate for D1, not for D2
    tenant = _tenant(in_tenant)
    from tests.projects.world_part import project_donor
    d3 = project_donor(in_tenant.a, tenant)
    project = active_project(in_tenant.a, tenant, title="Three donors",
                             donors={d1: 33_333_33, d3: 1})
    for share in project.donors:
        assert sum(t.amount for t in share.tranches) == share.committed
    assert services.tranche_sum_problems(project) == []
    assert {s.donor_id for s in project.donors} == {d1, d3}
    assert [t.amount for t in project.donors[1].tranches] == [1]  # 40 % of 1 rounds to 0


# --- the report state machine -----------------------------------------------------------------

def test_every_report_transition(in_tenant: World) -> None:
    project = _project(in_tenant)
    period = project.periods[1]  # the interim report, which releases tranche 2
    report = _written(in_tenant, period)
    applicant, officer = _user(in_tenant, Role.applicant), _user(in_tenant, Role.officer)
    reviewer = _user(in_tenant, Role.reviewer)  # a reviewer of D1, which funds the project
    reports.fire(report, "submit", by=applicant, roles=TEAM, expected_version=report.version,
                 tenant=_tenant(in_tenant))
    assert (report.status, len(report.versions)) == (ReportStatus.submitted, 1)
    assert report.versions[0].snapshot["sections"]["summary"] == "We drilled."
    reports.fire(report, "request_changes", by=reviewer, roles=DONOR, reason="Add the map.",
                 tenant=_tenant(in_tenant))
    assert (report.status, report.status_reason) == (ReportStatus.changes_requested,
                                                     "Add the map.")
    reports.save_draft(report, by=applicant, expected_version=report.version,
                       sections={"summary": "We drilled. Map added.", "results": "Cores."},
                       progress={})
    reports.fire(report, "submit", by=applicant, roles=TEAM, tenant=_tenant(in_tenant))
    assert [v.number for v in report.versions] == [1, 2]
    assert report.versions[0].sha256 != report.versions[1].sha256
    assert project.tranches[1].status == TrancheStatus.planned
    reports.fire(report, "accept", by=officer, roles=OFFICER, tenant=_tenant(in_tenant))
    assert report.status == ReportStatus.accepted
    assert project.tranches[1].status == TrancheStatus.due  # released by the acceptance
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Report", AuditEvent.object_id == report.id)
        .order_by(AuditEvent.id)))
    assert actions == ["report.started", "report.saved", "report.submit",
                       "report.request_changes", "report.saved", "report.submit",
                       "report.accept"]
    subjects = set(db.session.scalars(select(OutboxMessage.subject)))
    assert any("submitted" in s for s in subjects) and any("accepted" in s for s in subjects)


@pytest.mark.parametrize(("state", "name", "roles", "expected"), [
    ("draft", "accept", OFFICER, IllegalTransition),
    ("draft", "request_changes", OFFICER, GuardFailed),  # reason missing, then state
    ("submitted", "submit", TEAM, IllegalTransition),
    ("submitted", "accept", TEAM, IllegalTransition),  # the team cannot accept its own
    ("accepted", "request_changes", OFFICER, IllegalTransition),
    ("accepted", "submit", TEAM, IllegalTransition),
    ("changes_requested", "accept", OFFICER, IllegalTransition),
])
def test_refused_report_transitions_change_nothing(in_tenant: World, state: str, name: str,
                                                   roles: frozenset, expected: type) -> None:
    project = _project(in_tenant)
    report = _written(in_tenant, project.periods[0])
    applicant, officer = _user(in_tenant, Role.applicant), _user(in_tenant, Role.officer)
    if state != "draft":
        reports.fire(report, "submit", by=applicant, roles=TEAM)
    if state == "accepted":
        reports.fire(report, "accept", by=officer, roles=OFFICER)
    if state == "changes_requested":
        reports.fire(report, "request_changes", by=officer, roles=OFFICER, reason="More.")
    db.session.commit()
    before = (report.status, report.version, len(report.versions))
    reason = "" if name == "request_changes" and state == "draft" else "x"
    with pytest.raises(expected if state != "draft" or name != "request_changes"
                       else IllegalTransition):
        reports.fire(report, name, by=officer if roles == OFFICER else applicant, roles=roles,
                     reason=reason)
    db.session.rollback()
    assert (report.status, report.version, len(report.versions)) == before


def test_a_report_needs_its_sections_a_reason_and_the_current_version(in_tenant: World) -> None:
    project = _project(in_tenant)
    applicant, officer = _user(in_tenant, Role.applicant), _user(in_tenant, Role.officer)
    report = reports.start_report(project.periods[0], by=applicant)
    with pytest.raises(GuardFailed) as refused:
        reports.fire(report, "submit", by=applicant, roles=TEAM)
    assert len(refused.value.problems) == 2  # summary and results are required
    db.session.rollback()
    report = _written(in_tenant, project.periods[0])
    seen = report.version
    reports.save_draft(report, by=applicant, expected_version=seen,
                       sections={"summary": "Changed.", "results": "Cores taken."}, progress={})
    with pytest.raises(StaleTransition):
        reports.save_draft(report, by=applicant, expected_version=seen,
                           sections={"summary": "Lost update", "results": "x"}, progress={})
    with pytest.raises(StaleTransition):
        reports.fire(report, "submit", by=applicant, roles=TEAM, expected_version=seen)
    reports.fire(report, "submit", by=applicant, roles=TEAM)
    with pytest.raises(GuardFailed, match="reason"):
        reports.fire(report, "request_changes", by=officer, roles=OFFICER, reason="  ")
    with pytest.raises(reports.ReportError):
        reports.save_draft(report, by=applicant, expected_version=report.version,
                           sections={"summary": "After submission"}, progress={})


# --- the tranche state machine ----------------------------------------------------------------

def test_a_tranche_is_approved_only_after_its_report_is_accepted(in_tenant: World) -> None:
    project = _project(in_tenant)
    officer, admin = _user(in_tenant, Role.officer), _user(in_tenant, Role.admin)
    second = project.tranches[1]
    with pytest.raises(IllegalTransition):
        tranches.fire(second, "approve", by=officer, roles=OFFICER)
    with pytest.raises(GuardFailed, match="not accepted"):
        tranches.fire(second, "release", by=tranches.RELEASED_BY_REPORT, roles=frozenset())
    with pytest.raises(IllegalTransition):  # a person cannot release it
        tranches.fire(second, "release", by=officer, roles=OFFICER)
    db.session.rollback()
    _accept(in_tenant, project.periods[1])
    assert second.status == TrancheStatus.due
    with pytest.raises(IllegalTransition):  # approving is the officer's
        tranches.fire(second, "approve", by=admin, roles=ADMIN)
    tranches.fire(second, "approve", by=officer, roles=OFFICER, expected_version=second.version)
    assert second.status == TrancheStatus.approved and second.approved_by_id == officer.id


def test_paying_and_cancelling_record_what_was_decided(in_tenant: World) -> None:
    project = _project(in_tenant)
    officer, admin = _user(in_tenant, Role.officer), _user(in_tenant, Role.admin)
    first = project.tranches[0]
    with pytest.raises(IllegalTransition):  # not approved yet
        tranches.fire(first, "pay", by=admin, roles=ADMIN, reference="X", paid_on=dt.date.today())
    tranches.fire(first, "approve", by=officer, roles=OFFICER)
    with pytest.raises(GuardFailed) as refused:
        tranches.fire(first, "pay", by=admin, roles=ADMIN, reference=" ",
                      paid_on=clock.now().date() + dt.timedelta(days=3))
    assert len(refused.value.problems) == 2
    stale = first.version
    tranches.fire(first, "pay", by=admin, roles=ADMIN, reference="SWIFT 42",
                  paid_on=clock.now().date() - dt.timedelta(days=1))
    assert (first.status, first.payment_reference) == (TrancheStatus.paid, "SWIFT 42")
    with pytest.raises(IllegalTransition):  # paid is final
        tranches.fire(first, "cancel", by=admin, roles=ADMIN, reason="Too late")
    last = project.tranches[2]
    with pytest.raises(GuardFailed, match="reason"):
        tranches.fire(last, "cancel", by=officer, roles=OFFICER)
    with pytest.raises(StaleTransition):
        tranches.fire(first, "cancel", by=officer, roles=OFFICER, reason="x",
                      expected_version=stale)
    tranches.fire(last, "cancel", by=officer, roles=OFFICER, reason="Work stopped early.")
    assert (last.status, last.cancel_reason) == (TrancheStatus.cancelled, "Work stopped early.")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "Tranche", AuditEvent.action.like("tranche.%"))) == 4


# --- the tranche-sum invariant ------------------------------------------------------------------

def test_the_service_refuses_tranches_off_the_commitment(in_tenant: World) -> None:
    project = _project(in_tenant)
    project.tranches[2].amount += 1
    assert len(services.tranche_sum_problems(project)) == 1
    with pytest.raises(services.ProjectError, match="not its commitment"):
        services.check_tranche_sums(project)


@pytest.mark.postgres_only
def test_the_database_refuses_to_commit_tranches_off_the_commitment(in_tenant: World) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the deferred trigger exists on PostgreSQL only")
    project = _project(in_tenant)
    first, second = project.tranches[0], project.tranches[1]
    # Moving money between tranches in one transaction passes the deferred check.
    first.amount -= 100
    second.amount += 100
    db.session.commit()
    second.amount += 1
    db.session.flush()  # deferred: the row is written, the check waits for COMMIT
    with pytest.raises(IntegrityError, match="not its commitment"):
        db.session.commit()
    db.session.rollback()
    assert sum(t.amount for t in _project(in_tenant).tranches) == 90_000_00
    db.session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE project_donors SET committed = committed + 5"))
    db.session.rollback()


# --- close-out ----------------------------------------------------------------------------------

def _settle_everything(world: World, project: Project) -> None:
    officer, admin = _user(world, Role.officer), _user(world, Role.admin)
    _accept(world, project.periods[1])
    _accept(world, project.periods[3])
    for t in project.tranches[:2]:
        tranches.fire(t, "approve", by=officer, roles=OFFICER)
        tranches.fire(t, "pay", by=admin, roles=ADMIN, reference=f"PAY-{t.number}",
                      paid_on=clock.now().date())
    tranches.fire(project.tranches[2], "cancel", by=officer, roles=OFFICER,
                  reason="Savings returned to the donor.")


def test_close_out_waits_for_the_final_report_and_settled_tranches(in_tenant: World) -> None:
    project = _project(in_tenant)
    admin = _user(in_tenant, Role.admin)
    with pytest.raises(workflow.GuardFailed) as refused:
        workflow.fire(project.proposal, "close", by=admin, roles=ADMIN)
    assert len(refused.value.problems) == 4  # final report + three open tranches
    db.session.rollback()
    _settle_everything(in_tenant, project)
    assert closeout.problems(project) == []
    workflow.fire(project.proposal, "close", by=admin, roles=ADMIN,
                  expected_version=project.proposal.version)
    db.session.commit()
    assert project.proposal.status == ProposalStatus.closed
    assert project.status == ProjectStatus.closed and project.closed_at is not None
    figures = services.figures(project)
    assert (figures.committed, figures.paid, figures.cancelled) == (90_000_00, 72_000_00,
                                                                    18_000_00)


def test_a_registered_close_out_check_holds_the_project_open(in_tenant: World) -> None:
    project = _project(in_tenant)
    _settle_everything(in_tenant, project)
    check = closeout.register_check(lambda p: ["Equipment not handed over."])
    try:
        assert closeout.problems(project) == ["Equipment not handed over."]
    finally:
        closeout._CHECKS.remove(check)


def test_the_summary_pdf_states_committed_paid_and_accepted(in_tenant: World) -> None:
    project = _project(in_tenant)
    _settle_everything(in_tenant, project)
    data = closeout.render_summary(project, _tenant(in_tenant))
    text_ = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Permafrost carbon monitoring" in text_
    assert "90,000.00" in text_ and "72,000.00" in text_ and "18,000.00" in text_
    assert "2 of 4 accepted" in text_
    assert "PAY-1" in text_ and "Savings returned to the donor." in text_
    from tests.support.browser import ARTIFACTS
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "projects-summary.pdf").write_bytes(data)  # pdftoppm it to look


def test_the_summary_pdf_is_in_the_centers_legal_language(in_tenant: World) -> None:
    project = _project(in_tenant)
    _settle_everything(in_tenant, project)
    tenant = _tenant(in_tenant)
    tenant.legal_language = "ko"
    with force_locale("ru"):  # whoever prints it, in whatever language they read
        data = closeout.render_summary(project, tenant)
    text_ = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "후원기관용 연구과제 요약" in text_ and "보고서 (4건 중 2건 승인)" in text_
    assert "Project summary" not in text_ and "Сводка" not in text_
    assert "Permafrost carbon monitoring" in text_ and "PAY-1" in text_  # as typed


# --- reminders ----------------------------------------------------------------------------------

def test_reminders_before_the_due_date_and_one_overdue_notice(in_tenant: World) -> None:
    project = _project(in_tenant)
    tenant = _tenant(in_tenant)
    first = project.periods[0]
    due = dt.datetime.combine(first.due_on, dt.time(12), tzinfo=dt.UTC)
    with clock.frozen_at(due - dt.timedelta(days=20)):
        assert services.send_reminders(tenant).as_dict() == {"reminders": 0,
                                                             "overdue_notices": 0}
    with clock.frozen_at(due - dt.timedelta(days=10)):
        assert services.send_reminders(tenant).reminders == 1
        assert services.send_reminders(tenant).reminders == 0  # once per threshold
    with clock.frozen_at(due - dt.timedelta(days=2)):
        assert services.send_reminders(tenant).reminders == 1
    with clock.frozen_at(due + dt.timedelta(days=1)):
        owed = services.owed(tenant)
        assert owed[0].period is first and owed[0].overdue
        assert services.send_reminders(tenant).overdue_notices == 1
        assert services.send_reminders(tenant).overdue_notices == 0
    subjects = list(db.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.subject.like("%Quarterly technical report 1%"))))
    assert sum(s.startswith("Reminder") for s in subjects) == 2
    assert any(s.startswith("Overdue") for s in subjects)


# --- pages and permissions ------------------------------------------------------------------------

def _url(world: World, path: str = "") -> str:
    return f"/{world.a.slug}/projects/{world.a.ids['project_id']}{path}"


def test_readers_see_the_project_and_others_do_not(app, world: World, login) -> None:  # noqa: ANN001
    from center.auth import services as accounts
    from center.core.db import tenant_scope
    from tests.world import PASSWORD

    with app.app_context(), tenant_scope(world.a.tenant_id):
        other = accounts.create_user(f"reviewer.d2@{world.a.slug}.example", "D2", PASSWORD)
        accounts.add_membership(other, _tenant(world), Role.reviewer, by=None,
                                donor_id=world.a.donor_ids[1])
        db.session.commit()
        db.session.remove()
    for email, status in ((world.a.emails[Role.officer], 200),
                          (world.a.emails[Role.applicant], 200),
                          (world.a.emails[Role.reviewer], 200),  # D1 funds the project
                          (f"reviewer.d2@{world.a.slug}.example", 404),  # D2 does not
                          (world.b.emails[Role.officer], 404)):  # another center
        client = login(email)
        assert client.get(_url(world)).status_code == status, email
        if status == 200:
            assert client.get(_url(world, "/summary.pdf")).data.startswith(b"%PDF-")
        client.post("/logout")


def test_a_reviewer_with_a_conflict_is_not_listed_the_project_they_may_not_open(
        app, world: World, login) -> None:  # noqa: ANN001
    """The list shows a funding donor's reviewer exactly the projects `access` opens to
    them: not one whose proposal they declared a conflict of interest with."""
    from center.core.db import tenant_scope
    from center.reviews.models import Assignment, AssignmentStatus

    link = f'href="{_url(world)}"'
    client = login(world.a.emails[Role.reviewer])
    assert link in client.get(f"/{world.a.slug}/projects").get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = _project(world).proposal
        db.session.add(Assignment(
            proposal_id=proposal.id, reviewer_id=world.a.user_ids[Role.reviewer],
            donor_id=world.a.donor_ids[0], status=AssignmentStatus.conflict,
            assigned_at=proposal.submitted_at, declared_at=proposal.submitted_at,
            conflict_reason="Co-author of the PI."))
        db.session.commit()
        db.session.remove()
    assert client.get(_url(world)).status_code == 404
    listing = client.get(f"/{world.a.slug}/projects").get_data(as_text=True)
    assert link not in listing
    officer = login(world.a.emails[Role.officer])
    assert link in officer.get(f"/{world.a.slug}/projects").get_data(as_text=True)


def test_the_team_writes_submits_and_the_officer_accepts_over_http(app, world: World,  # noqa: ANN001
                                                                     login) -> None:
    period_id = world.a.ids["period_id"]
    client = login(world.a.emails[Role.applicant])
    page = client.get(_url(world, f"/reports/{period_id}"))
    assert page.status_code == 200 and "Summary of the period" in page.get_data(as_text=True)
    with app.app_context():
        from center.core.db import tenant_scope
        with tenant_scope(world.a.tenant_id):
            version = _project(world).periods[0].report.version
            db.session.remove()
    response = client.post(_url(world, f"/reports/{period_id}"), data={
        "version": version, "summary": "Boreholes drilled.", "results": "Four cores."})
    assert response.status_code == 302
    response = client.post(_url(world, f"/reports/{period_id}/action"),
                           data={"action": "submit", "version": version + 1})
    assert response.status_code == 302
    # The team may not accept its own report.
    assert client.post(_url(world, f"/reports/{period_id}/action"),
                       data={"action": "accept", "version": version + 2}).status_code == 403
    client.post("/logout")
    officer = login(world.a.emails[Role.officer])
    assert officer.post(_url(world, f"/reports/{period_id}"),
                        data={"summary": "Officer edit"}).status_code == 403
    officer.post(_url(world, f"/reports/{period_id}/action"),
                 data={"action": "accept", "version": version + 2})
    board = officer.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert "Tranches waiting for approval or payment" in board
    assert "Tranche 1 of Donor One of alpha" in board
    with app.app_context():
        from center.core.db import tenant_scope
        with tenant_scope(world.a.tenant_id):
            assert _project(world).periods[0].report.status == ReportStatus.accepted
            db.session.remove()


def test_the_applicants_dashboard_shows_what_the_team_owes(app, world: World, login) -> None:  # noqa: ANN001
    client = login(world.a.emails[Role.applicant])
    board = client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert "What your projects owe next" in board
    assert "Quarterly technical report 1" in board and "Interim report 2" in board


def test_a_bad_payment_date_is_a_message_not_an_error(app, world: World, login) -> None:  # noqa: ANN001
    client = login(world.a.emails[Role.officer])
    tranche_id = world.a.ids["tranche_id"]
    response = client.post(_url(world, f"/tranches/{tranche_id}"),
                           data={"action": "pay", "reference": "X", "paid_on": "yesterday"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert client.post(_url(world, f"/tranches/{tranche_id}"),
                       data={"action": "steal"}).status_code == 400
    with app.app_context():
        from center.core.db import tenant_scope
        with tenant_scope(world.a.tenant_id):
            assert db.session.get(Tranche, tranche_id).status == TrancheStatus.due
            db.session.remove()


def test_the_demo_has_a_project_in_every_post_award_state(app) -> None:  # noqa: ANN001
    from center import demo
    from center.core.db import tenant_scope
    from center.projects.models import Report

    with app.app_context():
        demo.seed()
        db.session.commit()
        istc = db.session.scalar(select(Tenant).where(Tenant.slug == "istc-demo"))
        with tenant_scope(istc.id):
            projects = db.session.scalars(select(Project)).all()
            assert {p.status for p in projects} == set(ProjectStatus)
            assert {r.status for r in db.session.scalars(select(Report))} == set(ReportStatus)
            assert {t.status for t in db.session.scalars(select(Tranche))} == set(TrancheStatus)
            today = services.today(istc)
            assert any(o.overdue for o in services.owed(istc))
            assert all(services.tranche_sum_problems(p) == [] for p in projects)
            assert today
