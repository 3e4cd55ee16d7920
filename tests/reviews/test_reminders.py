"""Due dates per round and per assignment, and reminders that never go twice."""

from __future__ import annotations

import datetime as dt
import re
import threading

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.reviews import services
from center.reviews.models import Assignment, ReviewPhase, ReviewReminder
from tests.reviews.conftest import Panel, accepted, proposal, user

DAY = dt.timedelta(days=1)


def _round(panel: Panel, *, due_at: dt.datetime | None, days: int = 3) -> None:
    call = proposal(panel, "tb").call
    services.save_round(call, by=user(panel, "officer"),
                        expected_version=services.round_version(services.round_for(call)),
                        reviewers_per_proposal=3, max_per_reviewer=6,
                        nationality_rule=services.NationalityRule.none,
                        phase=ReviewPhase.independent, due_at=due_at, remind_days_before=days)


def _mail() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.subject.like("Review %due%")).order_by(OutboxMessage.id)))


def test_each_reminder_goes_once_per_due_date_however_often_the_job_runs(scope: Panel) -> None:
    due = clock.now() + 10 * DAY
    _round(scope, due_at=due, days=4)
    assignment = accepted(scope, "tb", "r3")
    assert services.send_reminders() == 0  # ten days ahead: nothing yet
    assert services.send_reminders(now=due - 5 * DAY) == 0
    for hours in (0, 1, 30):  # within the four days, run again and again
        assert services.send_reminders(now=due - 4 * DAY + dt.timedelta(hours=hours)) == (
            1 if hours == 0 else 0)
    for hours in (1, 2, 48):
        assert services.send_reminders(now=due + dt.timedelta(hours=hours)) == (
            1 if hours == 1 else 0)
    kinds = [r.kind for r in db.session.scalars(select(ReviewReminder).where(
        ReviewReminder.assignment_id == assignment.id).order_by(ReviewReminder.id))]
    assert kinds == ["before", "overdue"]
    mail = _mail()
    assert [m.subject.split(":")[0] for m in mail] == ["Review due", "Review overdue"]
    assert "(UTC)" in mail[0].body  # the due time says its zone
    # A new due date earns its own reminders.
    _round(scope, due_at=due + 10 * DAY, days=4)
    assert services.send_reminders(now=due + 7 * DAY) == 1
    assert services.send_reminders(now=due + 7 * DAY) == 0


def test_a_round_without_early_reminders_sends_only_the_overdue_one(scope: Panel) -> None:
    due = clock.now() + 2 * DAY
    _round(scope, due_at=due, days=0)
    accepted(scope, "tb", "r3")
    assert services.send_reminders(now=due - dt.timedelta(hours=1)) == 0
    assert services.send_reminders(now=due + dt.timedelta(hours=1)) == 1
    assert services.send_reminders(now=due + 3 * DAY) == 0


def test_a_reminder_recorded_by_another_run_is_not_sent_again(scope: Panel) -> None:
    due = clock.now() + DAY
    _round(scope, due_at=due)
    assignment = accepted(scope, "tb", "r3")
    # What a run that got there first left behind (committed in its own transaction).
    db.session.add(ReviewReminder(assignment_id=assignment.id, kind="before", due_at=due,
                                  sent_at=clock.now()))
    db.session.flush()
    assert services.send_reminders() == 0 and _mail() == []


def test_the_reminder_shows_the_reviewers_own_zone(scope: Panel) -> None:
    due = dt.datetime(2036, 3, 1, 12, 0, tzinfo=dt.UTC)
    _round(scope, due_at=due)
    accepted(scope, "tb", "r3")
    user(scope, "r3").timezone = "Asia/Almaty"
    assert services.send_reminders(now=due - DAY) == 1
    (mail,) = _mail()
    assert re.search(r"2036-03-01 1[78]:00 \(Asia/Almaty\)", mail.body)


def test_an_assignment_keeps_its_own_due_date_when_the_round_moves(scope: Panel) -> None:
    due = clock.now() + 10 * DAY
    _round(scope, due_at=due)
    own, other = accepted(scope, "tb", "r3"), accepted(scope, "tb", "r1")
    services.set_due_date(own, due + 5 * DAY, by=user(scope, "officer"),
                          expected_version=own.version)
    _round(scope, due_at=due + DAY)
    assert own.due_at == due + 5 * DAY and other.due_at == due + DAY
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "review.due_date_set")).one()
    assert event.details["new"] == (due + 5 * DAY).isoformat()
    # Clearing it falls back to the round's date.
    services.set_due_date(own, None, by=user(scope, "officer"), expected_version=own.version)
    assert own.due_at == due + DAY


def test_the_officer_sets_a_reviewers_due_date_on_the_panel_page(app, client, login,
                                                                 panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _round(panel, due_at=clock.now() + 10 * DAY)
        assignment = accepted(panel, "tb", "r3")
        db.session.commit()
        assignment_id, version = assignment.id, assignment.version
    login(panel.emails["officer"])
    page = client.get(f"/{panel.slug}/reviews/proposals/{panel.tb}/panel")
    assert f'name="due{assignment_id}-due_at"' in page.get_data(as_text=True)
    url = f"/{panel.slug}/reviews/assignments/{assignment_id}/due"
    saved = client.post(url, data={f"due{assignment_id}-version": str(version),
                                   f"due{assignment_id}-due_at": "2036-05-04T09:30"})
    assert saved.status_code == 302
    stale = client.post(url, data={f"due{assignment_id}-version": str(version),
                                   f"due{assignment_id}-due_at": "2037-01-01T09:30"},
                        follow_redirects=True)
    assert "changed after you opened the page" in stale.get_data(as_text=True)
    nonsense = client.post(url, data={f"due{assignment_id}-version": str(version + 1),
                                      f"due{assignment_id}-due_at": "4 May, 9:30"},
                           follow_redirects=True)
    assert "Due date:" in nonsense.get_data(as_text=True)
    absurd = client.post(url, data={f"due{assignment_id}-version": str(version + 1),
                                    f"due{assignment_id}-due_at": "0001-01-01T00:00"},
                         follow_redirects=True)
    assert absurd.status_code == 200 and "between the years 2000 and 2100" in absurd.get_data(
        as_text=True)
    with app.app_context(), tenant_scope(panel.tenant_id):
        due = db.session.get(Assignment, assignment_id).due_at
        assert due is not None and (due.year, due.month, due.day) == (2036, 5, 4)
    login(panel.emails["r3"])
    assert client.post(url, data={f"due{assignment_id}-version": str(version + 1),
                                  f"due{assignment_id}-due_at": ""}).status_code == 403


def test_two_reminder_runs_at_once_send_each_reminder_once(app, panel: Panel) -> None:
    """Two runs of the job in their own threads and transactions, both having seen the
    reminder as unsent: the unique row lets only one of them send it (the other waits on
    PostgreSQL and skips it, or gives up on SQLite's lock)."""
    with app.app_context(), tenant_scope(panel.tenant_id):
        _round(panel, due_at=clock.now() + DAY)
        accepted(panel, "tb", "r3")
        db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        with app.app_context(), tenant_scope(panel.tenant_id):
            db.session.scalars(select(Assignment)).all()
            barrier.wait(timeout=10)
            try:
                outcomes.append(str(services.send_reminders()))
                db.session.commit()
            except OperationalError as exc:
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and "1" in outcomes, outcomes
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert len(_mail()) == 1
        assert len(db.session.scalars(select(ReviewReminder)).all()) == 1
