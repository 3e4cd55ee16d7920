"""Deliver the outbox over SMTP: each message claimed, sent and marked on its own.

A sender *claims* one queued, due message (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent senders take different rows without waiting; on SQLite the
conditional status update alone is the claim) and commits the claim (status ``sending``),
then sends it, then records the outcome in a second commit:

- accepted: ``sent``;
- refused for good (5xx): ``failed``, with the server's answer, listed for the platform
  administrator on the outbox page;
- refused for now (4xx), connection refused, dropped or timed out: queued again after a
  backoff (``MAIL_RETRY_BASE_SECONDS`` × 4^(attempt-1)), ``failed`` after
  ``MAIL_MAX_ATTEMPTS``.

**A crash between sending and marking** leaves the message ``sending``: the server may or
may not have it. We choose *at most once*: such a message is never sent again
automatically; after ten SMTP timeouts the next delivery marks it ``failed`` with "delivery
unknown" so the administrator sees it. Sending again could deliver a password-reset link or
a decision twice, which is worse than one message to check by hand; the window is the few
milliseconds between the server's 250 and our commit. Every message carries a stable
``Message-ID`` (``<outbox-ID@domain>``), so a resend by hand can be recognised downstream.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import threading
from email.message import EmailMessage
from email.utils import parseaddr

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from center.core import clock
from center.core.db import db
from center.core.notifications import MailStatus, OutboxMessage

log = logging.getLogger(__name__)


class _Temporary(Exception):
    """The message may go through later."""


class _Unreachable(_Temporary):
    """No SMTP session could be opened: the next messages would fare no better."""


class _Permanent(Exception):
    """The server refused the message for good."""


def claim_next(session: Session, now: dt.datetime) -> OutboxMessage | None:
    """Claim the oldest queued, due message in ``session``'s transaction (not committed)."""
    for _ in range(5):
        candidate = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == MailStatus.queued,
                   or_(OutboxMessage.next_attempt_at.is_(None),
                       OutboxMessage.next_attempt_at <= now))
            .order_by(OutboxMessage.id).limit(1)
            .with_for_update(skip_locked=True)).first()
        if candidate is None:
            return None
        taken = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == candidate.id, OutboxMessage.status == MailStatus.queued)
            .values(status=MailStatus.sending, claimed_at=now,
                    attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        if taken == 1:
            session.refresh(candidate)
            return candidate
    return None


def _mark_unknown(now: dt.datetime) -> int:
    """Fail the messages left ``sending`` by a sender that stopped (see the module doc)."""
    cutoff = now - dt.timedelta(seconds=10 * current_app.config["MAIL_TIMEOUT_SECONDS"])
    count = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.sending, OutboxMessage.claimed_at < cutoff)
        .values(status=MailStatus.failed,
                error="Delivery unknown: the sender stopped between sending and recording "
                      "it. Check with the recipient before sending it again.")
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count


class _Connection:
    """One SMTP session, opened at the first message and again after a drop."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        try:
            self.smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise (_Permanent if codes and min(codes) >= 500 else _Temporary)(
                "; ".join(f"{code} {msg.decode(errors='replace')}"
                          for code, msg in exc.recipients.values())) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421 or not 400 <= exc.smtp_code < 600:
                self.close()
            error = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise (_Permanent if exc.smtp_code >= 500 else _Temporary)(error) from exc
        except (smtplib.SMTPException, OSError) as exc:  # dropped, reset, timed out
            self.close()
            raise _Temporary(str(exc) or type(exc).__name__) from exc

    def _open(self) -> smtplib.SMTP:
        config = self.config
        try:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                                timeout=config["MAIL_TIMEOUT_SECONDS"])
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (smtplib.SMTPException, OSError) as exc:
            raise _Unreachable(f"cannot reach the mail server: {exc}") from exc
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _email(message: OutboxMessage, config: dict) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "center.invalid"
    email["Message-ID"] = f"<outbox-{message.id}@{domain}>"
    email.set_content(message.body)
    return email


def retry_delay(attempt: int) -> dt.timedelta:
    base = current_app.config["MAIL_RETRY_BASE_SECONDS"]
    return dt.timedelta(seconds=base * 4 ** (attempt - 1))


def deliver_pending(limit: int = 100) -> int:
    """Send up to ``limit`` queued, due messages; return how many were sent. No-op without
    MAIL_SERVER. Stops early when the server cannot be reached."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    _mark_unknown(clock.now())
    connection = _Connection(config)
    sent = 0
    try:
        for _ in range(limit):
            message = claim_next(db.session, clock.now())
            db.session.commit()  # the claim: no other sender takes this message now
            if message is None:
                break
            reachable = True
            try:
                connection.send(_email(message, config))
            except _Permanent as exc:
                message.status, message.error = MailStatus.failed, str(exc)
                log.warning("mail %s to %s refused: %s", message.id, message.recipient, exc)
            except _Temporary as exc:
                reachable = not isinstance(exc, _Unreachable)
                message.error = str(exc)
                if message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
                    message.status = MailStatus.failed
                else:
                    message.status = MailStatus.queued
                    message.next_attempt_at = clock.now() + retry_delay(message.attempts)
                log.warning("mail %s to %s deferred: %s", message.id, message.recipient, exc)
            else:
                message.status, message.sent_at, message.error = (
                    MailStatus.sent, clock.now(), None)
                sent += 1
            db.session.commit()
            if not reachable:
                break
    finally:
        connection.close()
    return sent


def deliver_in_worker() -> int:
    """Entry point for the worker and the scheduler's periodic job."""
    return deliver_pending()


def deliver_soon(app: Flask) -> None:
    """Start a delivery after a commit that queued mail: on the worker when there is a
    queue, on a thread of this process on the embedded defaults. Tests (JOBS_EAGER) call
    `deliver_pending` themselves; the scheduler's periodic run catches anything missed."""
    if not app.config.get("MAIL_SERVER") or app.config.get("JOBS_EAGER"):
        return
    if app.config.get("REDIS_URL"):
        from center.core.jobs import queue  # noqa: PLC0415 - avoids an import cycle

        try:
            queue(app).enqueue("center.core.mail.deliver_in_worker", result_ttl=60)
        except (RedisError, OSError) as exc:
            log.warning("mail waits for the scheduler: the queue is unreachable (%s)", exc)
        return

    def run() -> None:
        with app.app_context():
            deliver_pending()

    threading.Thread(target=run, daemon=True, name="mail").start()
