"""Host-government concurrence: every country asked, all must concur, an objection stops the
proposal, deadlines bring reminders and, where the rule says so, silence counts as consent."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from flask import Flask
from sqlalchemy import select

from center.auth.models import User
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus, enqueue
from center.core.notifications import OutboxMessage
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening import services
from center.screening.models import ConcurrenceDecision, ConcurrenceRequest
from center.tenants.models import Role, Tenant
from tests.screening.conftest import People, add_official, as_role
from tests.world import World

S = ProposalStatus
DAY = dt.timedelta(days=1)


def _requests(proposal: Proposal) -> dict[str, ConcurrenceRequest]:
    return {r.country_code: r for r in services.requests_of(proposal)}


def _minister(world: World, country: str) -> User:
    email = world.a.emails[Role.concurrence] if country == "KZ" else \
        f"minister.{country.lower()}@alpha.example"
    return db.session.scalar(select(User).where(User.email == email))


def _mail(subject_start: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.subject.like(f"{subject_start}%")).order_by(OutboxMessage.id)))


def test_passing_screening_asks_every_participating_country_with_a_deadline(
        in_concurrence: Proposal, in_tenant: World) -> None:
    asked = _requests(in_concurrence)
    assert set(asked) == {"KZ", "AM"}
    for request in asked.values():
        assert request.deadline_at - request.requested_at == 60 * DAY
        assert not request.silence_is_consent and request.decision is None
    assert {m.recipient for m in _mail("Concurrence requested")} == {
        in_tenant.a.emails[Role.concurrence], "minister.am@alpha.example"}
    assert [m.recipient for m in _mail("Proposal passed screening")] == [
        in_tenant.a.emails[Role.applicant]]


def test_the_proposal_waits_until_every_country_concurred_then_goes_to_review(
        in_concurrence: Proposal, in_tenant: World) -> None:
    asked = _requests(in_concurrence)
    assert services.concur(asked["KZ"], by=_minister(in_tenant, "KZ"), comment="") is False
    db.session.commit()
    assert in_concurrence.status == S.concurrence
    assert services.concur(asked["AM"], by=_minister(in_tenant, "AM"),
                           comment="The Academy supports it.",
                           expected_version=asked["AM"].version) is True
    db.session.commit()
    assert in_concurrence.status == S.under_review
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proposal.complete_concurrence"))
    assert event.actor_id is None and event.details["system"] == "all countries concurred"
    assert [e.details["country"] for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "concurrence.concurred").order_by(AuditEvent.id))] == ["KZ", "AM"]
    assert len(_mail("Government concurrence complete")) == 1


def test_an_officer_cannot_complete_concurrence_while_a_country_has_not_answered(
        in_concurrence: Proposal, people: People, in_tenant: World) -> None:
    services.concur(_requests(in_concurrence)["KZ"], by=_minister(in_tenant, "KZ"), comment="")
    with pytest.raises(workflow.GuardFailed, match="Armenia has not concurred"):
        workflow.fire(in_concurrence, "complete_concurrence", by=people[Role.officer],
                      roles=as_role(Role.officer))


def test_an_objection_needs_a_reason_stops_the_proposal_and_tells_the_applicant(
        in_concurrence: Proposal, in_tenant: World) -> None:
    asked = _requests(in_concurrence)
    minister = _minister(in_tenant, "AM")
    with pytest.raises(services.ScreeningError, match="Give the reason"):
        services.object_to(asked["AM"], by=minister, comment="  ")
    services.object_to(asked["AM"], by=minister,
                       comment="The partner institute works on a classified programme.")
    db.session.commit()
    assert in_concurrence.status == S.objected and in_concurrence.decided_at is not None
    assert asked["AM"].decision == ConcurrenceDecision.objected
    [mail] = _mail("Government objection")
    assert mail.recipient == in_tenant.a.emails[Role.applicant]
    assert "classified programme" in mail.body and "Armenia" in mail.body
    with pytest.raises(services.ScreeningError, match="no longer waits"):
        services.concur(asked["KZ"], by=_minister(in_tenant, "KZ"), comment="")


def test_an_official_answers_only_for_their_own_country(in_concurrence: Proposal,
                                                        in_tenant: World,
                                                        people: People) -> None:
    asked = _requests(in_concurrence)
    with pytest.raises(services.ScreeningError, match="Only an official of Armenia"):
        services.concur(asked["AM"], by=_minister(in_tenant, "KZ"), comment="")
    with pytest.raises(workflow.GuardFailed, match="Only an official of Armenia"):
        workflow.fire(in_concurrence, "object", by=_minister(in_tenant, "KZ"),
                      roles=as_role(Role.concurrence), reason="No.", request=asked["AM"])
    with pytest.raises(workflow.GuardFailed, match="concurrence request of your country"):
        workflow.fire(in_concurrence, "object", by=_minister(in_tenant, "AM"),
                      roles=as_role(Role.concurrence), reason="No.")
    with pytest.raises(workflow.IllegalTransition, match="Your role may not"):
        workflow.fire(in_concurrence, "object", by=people[Role.officer],
                      roles=as_role(Role.officer), reason="No.", request=asked["AM"])


def test_an_answer_from_a_stale_page_is_refused(in_concurrence: Proposal,
                                                in_tenant: World) -> None:
    request = _requests(in_concurrence)["KZ"]
    loaded = request.version
    request.reminders_sent = 1  # e.g. a reminder went out while the page was open
    db.session.commit()
    with pytest.raises(services.StaleAction, match="changed since you opened it"):
        services.concur(request, by=_minister(in_tenant, "KZ"), comment="",
                        expected_version=loaded)


class Minister(threading.Thread):
    """An official in an application context of their own: load, wait, concur, report."""

    def __init__(self, app: Flask, world: World, proposal_id: int, country: str) -> None:
        super().__init__(daemon=True)
        self.app, self.world, self.proposal_id, self.country = app, world, proposal_id, country
        self.loaded, self.go, self.done = threading.Event(), threading.Event(), threading.Event()
        self.result: object = None

    def run(self) -> None:
        with self.app.app_context(), tenant_scope(self.world.a.tenant_id):
            proposal = db.session.get(Proposal, self.proposal_id)
            request = _requests(proposal)[self.country]
            minister = _minister(self.world, self.country)
            self.loaded.set()
            self.go.wait(timeout=30)
            try:
                self.result = services.concur(request, by=minister, comment="",
                                              expected_version=request.version)
                db.session.commit()
            except services.ScreeningError as exc:
                db.session.rollback()
                self.result = exc
            finally:
                db.session.remove()
                self.done.set()


def test_two_countries_concurring_at_the_same_moment_cannot_both_miss_being_last(
        app: Flask, in_concurrence: Proposal, in_tenant: World) -> None:
    proposal_id = in_concurrence.id
    db.session.remove()
    kz, am = (Minister(app, in_tenant, proposal_id, c) for c in ("KZ", "AM"))
    for minister in (kz, am):
        minister.start()
        minister.loaded.wait(timeout=30)
    kz.go.set()
    kz.done.wait(timeout=30)
    am.go.set()
    am.done.wait(timeout=30)
    # KZ answered first while AM's page showed KZ still waiting: AM must look again.
    assert kz.result is False
    assert isinstance(am.result, services.StaleAction), am.result
    assert db.session.get(Proposal, proposal_id).status == S.concurrence
    again = Minister(app, in_tenant, proposal_id, "AM")
    again.start()
    again.loaded.wait(timeout=30)
    again.go.set()
    again.done.wait(timeout=30)
    assert again.result is True
    db.session.expire_all()
    assert db.session.get(Proposal, proposal_id).status == S.under_review


# --- deadlines, with a controllable clock --------------------------------------------------

def _deadline(proposal: Proposal) -> dt.datetime:
    return _requests(proposal)["KZ"].deadline_at


def test_reminders_go_out_fourteen_and_three_days_before_the_deadline_once_each(
        in_concurrence: Proposal, in_tenant: World) -> None:
    deadline = _deadline(in_concurrence)
    services.concur(_requests(in_concurrence)["KZ"], by=_minister(in_tenant, "KZ"), comment="")
    db.session.commit()
    runs = []
    for moment in (deadline - 15 * DAY, deadline - 14 * DAY, deadline - 10 * DAY,
                   deadline - 3 * DAY, deadline - DAY):
        with clock.frozen_at(moment):
            runs.append(services.apply_deadlines().reminders)
            db.session.commit()
    assert runs == [0, 1, 0, 1, 0]
    reminders = _mail("Reminder: concurrence requested")
    assert [m.recipient for m in reminders] == ["minister.am@alpha.example"] * 2
    assert "Armenia" in reminders[0].body and "/concurrence/" in reminders[0].body
    assert _requests(in_concurrence)["AM"].reminders_sent == 2


def test_without_negative_concurrence_silence_keeps_the_proposal_waiting(
        in_concurrence: Proposal, in_tenant: World) -> None:
    deadline = _deadline(in_concurrence)
    for moment in (deadline + DAY, deadline + 2 * DAY):
        with clock.frozen_at(moment):
            run = services.apply_deadlines()
            db.session.commit()
    assert (run.silent_consents, run.overdue_notices) == (0, 0)  # the notice went out once
    assert in_concurrence.status == S.concurrence
    notices = _mail("No answer from")
    assert {m.subject.split(":")[0] for m in notices} == {"No answer from Kazakhstan",
                                                          "No answer from Armenia"}
    assert {m.recipient for m in notices} == {in_tenant.a.emails[Role.officer]}


def test_with_negative_concurrence_silence_after_the_deadline_is_consent(
        in_screening: Proposal, people: People, in_tenant: World) -> None:
    tenant = db.session.get(Tenant, in_screening.tenant_id)
    services.update_settings(tenant, by=people[Role.admin], expected_revision=None,
                             negative_concurrence=True, concurrence_deadline_days=30)
    add_official(in_tenant, "AM")
    workflow.fire(in_screening, "pass_screening", by=people[Role.officer],
                  roles=as_role(Role.officer))
    db.session.commit()
    asked = _requests(in_screening)
    assert all(r.silence_is_consent for r in asked.values())
    assert "taken to concur" in _mail("Concurrence requested")[0].body
    services.concur(asked["KZ"], by=_minister(in_tenant, "KZ"), comment="")
    db.session.commit()
    deadline = asked["AM"].deadline_at
    assert deadline - asked["AM"].requested_at == 30 * DAY

    with clock.frozen_at(deadline - dt.timedelta(seconds=1)):
        assert services.apply_deadlines().silent_consents == 0
        assert workflow.check(in_screening, "complete_concurrence", by=people[Role.officer],
                              roles=as_role(Role.officer)) == ["Armenia has not concurred."]
    with clock.frozen_at(deadline):
        run = services.apply_deadlines()
        db.session.commit()
    assert (run.silent_consents, run.completed) == (1, 1)
    assert in_screening.status == S.under_review
    assert asked["AM"].decision == ConcurrenceDecision.silent_consent
    assert asked["AM"].decided_by_id is None and asked["AM"].decided_at == deadline
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proposal.complete_concurrence"))
    assert event.actor_id is None and event.details["system"] == "concurrence deadline passed"
    with clock.frozen_at(deadline + DAY):
        assert services.apply_deadlines().as_dict() == {
            "reminders": 0, "silent_consents": 0, "completed": 0, "overdue_notices": 0}


def test_changing_the_rule_later_does_not_move_requests_already_sent(
        in_concurrence: Proposal, people: People) -> None:
    tenant = db.session.get(Tenant, in_concurrence.tenant_id)
    services.update_settings(tenant, by=people[Role.admin], expected_revision=None,
                             negative_concurrence=True, concurrence_deadline_days=5)
    db.session.commit()
    with clock.frozen_at(_deadline(in_concurrence) + DAY):
        assert services.apply_deadlines().silent_consents == 0
    assert {r.silence_is_consent for r in _requests(in_concurrence).values()} == {False}


def test_the_deadline_command_runs_every_center_with_the_clock(
        app: Flask, in_concurrence: Proposal) -> None:
    deadline = _deadline(in_concurrence)
    db.session.remove()
    with clock.frozen_at(deadline - 14 * DAY):
        result = app.test_cli_runner().invoke(args=["concurrence-deadlines"])
    assert result.exit_code == 0, result.output
    assert "alpha: 2 reminders, 0 silent consents, 0 completed, 0 overdue notices" in (
        result.output)
    assert "beta: 0 reminders" in result.output


def test_the_deadline_job_reports_what_it_did(in_concurrence: Proposal,
                                              people: People) -> None:
    with clock.frozen_at(_deadline(in_concurrence) - 3 * DAY):
        job = enqueue("screening.concurrence_deadlines", by=people[Role.officer])
        db.session.commit()  # runs at once in tests
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.done, job.error
    assert job.result["reminders"] == 2
