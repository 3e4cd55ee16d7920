"""The outbox delivered over SMTP, against real SMTP servers on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from center.core import clock
from center.core.db import db
from center.core.jobs import QUEUE_NAME
from center.core.mail import claim_next, deliver_pending
from center.core.notifications import MailStatus, OutboxMessage, send_email

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Handler:
    """An SMTP server's behaviour: answers to RCPT in turn (then 250), drops to do."""

    def __init__(self, rcpt_answers: list[str] | None = None, drops: int = 0) -> None:
        self.rcpt_answers = list(rcpt_answers or [])
        self.drops = drops
        self.received: list[email.message.Message] = []
        self.rcpt_seen = 0

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ANN001, ANN201, N802
        self.rcpt_seen += 1
        if self.rcpt_answers:
            answer = self.rcpt_answers.pop(0)
            if not answer.startswith("250"):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if self.drops:
            self.drops -= 1
            server.transport.close()  # the connection drops before the server answers
            return "250 never seen"
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture()
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # noqa: ANN001
    """Start an SMTP server with a given handler and point the portal at it."""
    controllers: list[Controller] = []

    def start(handler: Handler) -> Handler:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def _queue(*recipients: str) -> list[int]:
    ids = []
    for recipient in recipients:
        message = OutboxMessage(created_at=clock.now(), recipient=recipient,
                                subject=f"Hello {recipient}", body="Body text")
        db.session.add(message)
        db.session.flush()
        ids.append(message.id)
    db.session.commit()
    return ids


def _row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_an_accepting_server_gets_each_message_once(ctx, smtp) -> None:  # noqa: ANN001
    server = smtp(Handler())
    ids = _queue("a@example.org", "b@example.org")
    assert deliver_pending() == 2
    assert deliver_pending() == 0  # nothing is sent twice
    assert sorted(m["To"] for m in server.received) == ["a@example.org", "b@example.org"]
    assert {m["Message-ID"] for m in server.received} == {
        f"<outbox-{i}@center.invalid>" for i in ids}
    for message_id in ids:
        row = _row(message_id)
        assert (row.status, row.attempts, row.error) == (MailStatus.sent, 1, None)
        assert row.sent_at is not None


def test_a_permanent_refusal_is_marked_and_shown_to_the_platform_admin(
        app, smtp, world, login) -> None:  # noqa: ANN001
    server = smtp(Handler(rcpt_answers=["550 5.1.1 No such mailbox"]))
    with app.app_context():
        db.session.execute(delete(OutboxMessage))  # the world's own invitations
        [refused] = _queue("nobody@example.org")
        assert deliver_pending() == 0
        row = _row(refused)
        assert row.status == MailStatus.failed and "550" in row.error
        assert deliver_pending() == 0  # not tried again
    assert server.rcpt_seen == 1 and server.received == []
    page = login(world.platform_admin).get("/platform/outbox").get_data(as_text=True)
    assert "No such mailbox" in page and "nobody@example.org" in page


def test_a_temporary_refusal_is_retried_after_the_backoff(ctx, smtp) -> None:  # noqa: ANN001
    server = smtp(Handler(rcpt_answers=["451 4.3.0 Try again later"]))
    with clock.frozen_at(T0):
        [message_id] = _queue("later@example.org")
        assert deliver_pending() == 0
        row = _row(message_id)
        assert (row.status, row.attempts) == (MailStatus.queued, 1)
        assert "451" in row.error
        assert row.next_attempt_at == T0 + dt.timedelta(seconds=60)
        clock.advance(dt.timedelta(seconds=59))
        assert deliver_pending() == 0  # not due yet: the server is not even asked
        assert server.rcpt_seen == 1
        clock.advance(dt.timedelta(seconds=1))
        assert deliver_pending() == 1
    row = _row(message_id)
    assert (row.status, row.attempts, row.error) == (MailStatus.sent, 2, None)
    assert len(server.received) == 1


def test_a_dropped_connection_is_retried_and_the_next_message_still_goes(
        ctx, smtp) -> None:  # noqa: ANN001
    server = smtp(Handler(drops=1))
    with clock.frozen_at(T0):
        first, second = _queue("first@example.org", "second@example.org")
        assert deliver_pending() == 1  # the second message gets a fresh connection
        dropped = _row(first)
        assert dropped.status == MailStatus.queued and dropped.attempts == 1
        assert _row(second).status == MailStatus.sent
        clock.advance(dt.timedelta(seconds=60))
        assert deliver_pending() == 1
    assert _row(first).status == MailStatus.sent
    assert sorted(m["To"] for m in server.received) == ["first@example.org",
                                                        "second@example.org"]


def test_temporary_failures_end_in_failed_after_the_last_attempt(
        app, ctx, smtp, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    smtp(Handler(rcpt_answers=["452 Mailbox full", "452 Mailbox full"]))
    with clock.frozen_at(T0):
        [message_id] = _queue("full@example.org")
        deliver_pending()
        clock.advance(dt.timedelta(hours=1))
        deliver_pending()
    row = _row(message_id)
    assert (row.status, row.attempts) == (MailStatus.failed, 2)
    assert "452" in row.error


def test_an_unreachable_server_leaves_the_mail_queued(app, ctx, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nobody listens
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    first, second = _queue("a@example.org", "b@example.org")
    assert deliver_pending() == 0
    assert _row(first).status == MailStatus.queued and "cannot reach" in _row(first).error
    assert _row(second).attempts == 0  # the run stopped: the server is down for all


def test_a_message_left_sending_by_a_dead_sender_is_not_sent_again(ctx, smtp) -> None:  # noqa: ANN001
    server = smtp(Handler())
    with clock.frozen_at(T0):
        [message_id] = _queue("maybe@example.org")
        assert claim_next(db.session, clock.now()).id == message_id
        db.session.commit()  # ... and the sender dies before recording the outcome
        assert deliver_pending() == 0
        assert _row(message_id).status == MailStatus.sending  # it may be sending still
        clock.advance(dt.timedelta(minutes=10))
        assert deliver_pending() == 0
    row = _row(message_id)
    assert row.status == MailStatus.failed and "Delivery unknown" in row.error
    assert server.received == []


@pytest.mark.postgres_only
def test_two_concurrent_claimers_never_take_the_same_row(app, ctx) -> None:  # noqa: ANN001
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    ids = _queue("one@example.org", "two@example.org")
    first, second = Session(db.engine), Session(db.engine)
    try:
        mine = claim_next(first, clock.now())  # its transaction stays open, row locked
        second.execute(select(1))
        second.connection().exec_driver_sql("SET LOCAL lock_timeout = '5s'")
        theirs = claim_next(second, clock.now())  # skips the locked row, does not wait
        assert {mine.id, theirs.id} == set(ids)
        assert claim_next(second, clock.now()) is None
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert {_row(i).status for i in ids} == {MailStatus.sending}
    assert {_row(i).attempts for i in ids} == {1}


def test_a_commit_that_queues_mail_asks_a_worker_to_deliver_it(
        app: Flask, ctx, smtp, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    server = smtp(Handler())
    redis = Redis.from_url("redis://127.0.0.1:6379/5")
    redis.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    try:
        send_email("soon@example.org", "Done", "concurrence_complete",
                   proposal=SimpleNamespace(title="Soil carbon"))
        assert Queue(QUEUE_NAME, connection=redis).count == 0  # nothing before the commit
        db.session.commit()
        assert Queue(QUEUE_NAME, connection=redis).count == 1
        SimpleWorker([QUEUE_NAME], connection=redis).work(burst=True)
    finally:
        redis.flushdb()
    [received] = server.received
    assert received["To"] == "soon@example.org" and "Soil carbon" in received.get_payload()
