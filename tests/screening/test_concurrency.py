"""Two officers decide on the same proposal at the same moment: one wins, the other is told,
and nothing of the loser's attempt is stored."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from center.auth import services as accounts
from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening.models import ConcurrenceRequest
from center.tenants.models import Role, Tenant
from tests.proposals.test_proposals import _complete
from tests.screening.conftest import as_role, submit
from tests.world import PASSWORD, World

OFFICER = as_role(Role.officer)
#: The two conflicting decisions, with the reason each needs.
DECISIONS = {"pass_screening": "", "declare_ineligible": "Outside the call's topics."}


@pytest.fixture()
def waiting(app: Flask, world: World) -> tuple[int, int]:
    """A proposal in screening with nothing blocking it: (id, version)."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        officer = db.session.get(User, world.a.user_ids[Role.officer])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        submit(proposal, applicant)
        workflow.fire(proposal, "start_screening", by=officer, roles=OFFICER)
        second = accounts.create_user("second.officer@alpha.example", "Second Officer",
                                      PASSWORD)
        accounts.add_membership(second, db.session.get(Tenant, world.a.tenant_id),
                                Role.officer, by=None)
        db.session.commit()
        found = proposal.id, proposal.version
        db.session.remove()
    return found


def _stored(app: Flask, world: World, proposal_id: int) -> dict[str, object]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, proposal_id)
        found = {
            "status": proposal.status, "version": proposal.version,
            "reason": proposal.status_reason,
            "decisions": db.session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.action.in_([f"proposal.{n}" for n in DECISIONS]))),
            "requests": db.session.scalar(select(func.count(ConcurrenceRequest.id))
                                          .where(ConcurrenceRequest.version_no == 1)),
            "ineligible_mail": db.session.scalar(select(func.count(OutboxMessage.id))
                                                 .where(OutboxMessage.subject.like("%eligible%"))),
        }
        db.session.remove()
    return found


class Officer(threading.Thread):
    """An officer working in an application context (and session) of their own, step by step:
    load the proposal, wait for the go, fire, and report what happened."""

    def __init__(self, app: Flask, world: World, proposal_id: int, email: str, name: str,
                 version: int) -> None:
        super().__init__(daemon=True)
        self.app, self.world, self.proposal_id, self.email = app, world, proposal_id, email
        self.decision, self.version = name, version
        self.loaded, self.go, self.done = threading.Event(), threading.Event(), threading.Event()
        self.seen: int | None = None
        self.result: object = None

    def run(self) -> None:
        with self.app.app_context(), tenant_scope(self.world.a.tenant_id):
            proposal = db.session.get(Proposal, self.proposal_id)
            officer = db.session.scalar(select(User).where(User.email == self.email))
            self.seen = proposal.version
            self.loaded.set()
            self.go.wait(timeout=30)
            try:
                workflow.fire(proposal, self.decision, by=officer, roles=OFFICER,
                              expected_version=self.version, reason=DECISIONS[self.decision])
                db.session.commit()
                self.result = "won"
            except (workflow.TransitionError, OperationalError) as exc:
                db.session.rollback()
                self.result = exc
            finally:
                db.session.remove()
                self.done.set()


@pytest.mark.parametrize("first", list(DECISIONS))
def test_the_second_of_two_conflicting_decisions_is_refused_as_stale(
        app: Flask, world: World, waiting: tuple[int, int], first: str) -> None:
    proposal_id, version = waiting
    second = next(n for n in DECISIONS if n != first)
    one = Officer(app, world, proposal_id, world.a.emails[Role.officer], first, version)
    two = Officer(app, world, proposal_id, "second.officer@alpha.example", second, version)
    for officer in (one, two):
        officer.start()
        officer.loaded.wait(timeout=30)
    assert one.seen == two.seen == version  # both opened the proposal at the same version
    one.go.set()
    one.done.wait(timeout=30)
    two.go.set()
    two.done.wait(timeout=30)
    assert one.result == "won"
    assert isinstance(two.result, workflow.StaleTransition), two.result
    assert "at the same moment" in str(two.result)

    stored = _stored(app, world, proposal_id)
    assert stored["decisions"] == 1 and stored["version"] == version + 1
    if first == "pass_screening":
        assert stored["status"] == ProposalStatus.concurrence and stored["requests"] == 2
        assert stored["ineligible_mail"] == 0 and stored["reason"] == ""
    else:
        assert stored["status"] == ProposalStatus.ineligible and stored["requests"] == 0
        assert stored["ineligible_mail"] == 1


def test_two_officers_firing_in_parallel_threads_one_wins(app: Flask, world: World,
                                                         waiting: tuple[int, int]) -> None:
    proposal_id, version = waiting
    officers = [Officer(app, world, proposal_id, world.a.emails[Role.officer],
                        "pass_screening", version),
                Officer(app, world, proposal_id, "second.officer@alpha.example",
                        "declare_ineligible", version)]
    for officer in officers:
        officer.start()
        officer.loaded.wait(timeout=30)
    for officer in officers:  # released together
        officer.go.set()
    for officer in officers:
        officer.join(timeout=60)
    outcome = {o.decision: o.result for o in officers}
    winners = [name for name, result in outcome.items() if result == "won"]
    assert len(outcome) == 2 and len(winners) == 1, outcome
    loser = next(result for result in outcome.values() if result != "won")
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    if postgres:  # the row lock makes the loser wait, then its versioned UPDATE finds nothing
        assert isinstance(loser, workflow.StaleTransition), loser
    else:  # SQLite serialises writers: the loser is stale or finds the database locked
        assert isinstance(loser, workflow.StaleTransition | OperationalError), loser
    stored = _stored(app, world, proposal_id)
    assert stored["decisions"] == 1 and stored["version"] == version + 1
    expected = {"pass_screening": ProposalStatus.concurrence,
                "declare_ineligible": ProposalStatus.ineligible}[winners[0]]
    assert stored["status"] == expected
    assert stored["requests"] == (2 if winners[0] == "pass_screening" else 0)


def test_the_officer_who_loses_is_told_on_the_page_and_the_winner_is_kept(
        app: Flask, world: World, waiting: tuple[int, int], client, login) -> None:  # noqa: ANN001
    proposal_id, version = waiting
    url = f"/{world.a.slug}/screening/proposals/{proposal_id}/decide"
    first = app.test_client()
    first.post("/login", data={"email": "second.officer@alpha.example", "password": PASSWORD})
    assert first.post(url, data={"version": version, "decision": "pass_screening"}
                      ).status_code == 302
    login(world.a.emails[Role.officer])
    response = client.post(url, data={"version": version, "decision": "declare_ineligible",
                                      "reason": "Outside the call."}, follow_redirects=True)
    assert "changed since you opened it" in response.get_data(as_text=True)
    stored = _stored(app, world, proposal_id)
    assert stored["status"] == ProposalStatus.concurrence and stored["decisions"] == 1


@pytest.mark.postgres_only
def test_the_screening_and_the_duplicate_record_add_one_report_between_them(
        app: Flask, world: World) -> None:
    """After a submission the screening job and the duplicate check (another worker) each
    create the version's report if it has none: the second waits for the first and adds its
    duplicates to the same report instead of failing on a second one."""
    from center.screening import services
    from center.screening.models import ScreeningReport

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("two writers at once: SQLite runs one transaction at a time")
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        submit(proposal, applicant)
        db.session.commit()  # the screening job runs (eagerly, in tests) ...
        db.session.execute(ScreeningReport.__table__.delete())  # ... and is undone
        db.session.commit()
        proposal_id = proposal.id
        db.session.remove()
    computed, errors = threading.Event(), []

    def screening_job() -> None:
        with app.app_context(), tenant_scope(world.a.tenant_id):
            services.compute_report(db.session.get(Proposal, proposal_id), by=None)
            db.session.flush()
            computed.set()
            threading.Event().wait(1.0)  # the duplicate check arrives meanwhile
            db.session.commit()
            db.session.remove()

    def duplicate_check() -> None:
        computed.wait(10)
        with app.app_context(), tenant_scope(world.a.tenant_id):
            try:
                services.record_duplicates(db.session.get(Proposal, proposal_id), [],
                                           by=None)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            db.session.remove()

    threads = [threading.Thread(target=screening_job), threading.Thread(target=duplicate_check)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with app.app_context(), tenant_scope(world.a.tenant_id):
        reports = db.session.scalars(select(ScreeningReport).where(
            ScreeningReport.proposal_id == proposal_id)).all()
        assert len(reports) == 1 and reports[0].findings["duplicates"] == []
        db.session.remove()
