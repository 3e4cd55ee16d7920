"""E-mail through an outbox table: written in the same transaction as the work it reports.

A message is queued with `send_email` inside the unit of work; it only exists if that work
commits. When ``MAIL_SERVER`` is configured, `center.core.mail.deliver_pending` sends queued
messages over SMTP, one at a time: right after the commit that queued them (on the worker,
or a thread on the embedded defaults), every minute from ``flask --app wsgi scheduler``, or
by hand with ``flask --app wsgi deliver-mail``. In development the platform administrator
reads the outbox at ``/platform/outbox``; in production that page lists the messages that
could not be delivered.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from flask import current_app, has_app_context, render_template
from sqlalchemy import ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from center.core import clock
from center.core.db import UTCDateTime, db
from center.core.language import recipient_terms

log = logging.getLogger(__name__)


class MailStatus(enum.StrEnum):
    queued = "queued"      # waiting (or waiting again, after a temporary failure)
    sending = "sending"    # claimed by a sender; see center/core/mail.py
    sent = "sent"
    failed = "failed"      # refused for good, out of attempts, or fate unknown


class OutboxMessage(db.Model):
    """An e-mail queued for delivery."""

    #: Platform-wide: the platform administrator reads every tenant's mail in development.
    __tenant_scope__ = "global: the outbox is read by the platform administrator"
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    recipient: Mapped[str] = mapped_column(String(255), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(String(10), default=MailStatus.queued,
                                               server_default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Not to be tried again before this moment (backoff after a temporary failure).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When a sender claimed it (status ``sending``).
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def send_email(
    recipient: str,
    subject: str,
    template: str,
    *,
    tenant_id: int | None = None,
    **context: Any,
) -> OutboxMessage:
    """Queue an e-mail rendered from ``templates/email/<template>.txt`` in this transaction,
    in the recipient's language and time zone (``subject`` may be a lazy string for that)."""
    with recipient_terms(recipient):
        body = render_template(f"email/{template}.txt", **context)
        subject = str(subject)
    message = OutboxMessage(
        tenant_id=tenant_id,
        created_at=clock.now(),
        recipient=recipient,
        subject=subject,
        body=body,
    )
    db.session.add(message)
    db.session.info["mail_queued"] = True
    return message


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    if session.info.pop("mail_queued", False) and has_app_context():
        from center.core import mail  # noqa: PLC0415 - mail needs this module's models

        mail.deliver_soon(current_app._get_current_object())  # type: ignore[attr-defined]


@event.listens_for(Session, "after_rollback")
def _forget_mail_after_rollback(session: Session) -> None:
    session.info.pop("mail_queued", None)
