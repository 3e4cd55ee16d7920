"""E-mail through an outbox table: written in the same transaction as the work it reports.

A message is queued with `send_email` inside the unit of work; it only exists if that work
commits. When ``MAIL_SERVER`` is configured, `deliver_pending` sends queued messages over
SMTP (a background job after each commit, or ``flask --app wsgi deliver-mail``). In
development the platform administrator reads the outbox at ``/platform/outbox``.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from center.core import clock
from center.core.db import UTCDateTime, db

log = logging.getLogger(__name__)


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


def send_email(
    recipient: str,
    subject: str,
    template: str,
    *,
    tenant_id: int | None = None,
    **context: Any,
) -> OutboxMessage:
    """Queue an e-mail rendered from ``templates/email/<template>.txt`` in this transaction."""
    body = render_template(f"email/{template}.txt", **context)
    message = OutboxMessage(
        tenant_id=tenant_id,
        created_at=clock.now(),
        recipient=recipient,
        subject=subject,
        body=body,
    )
    db.session.add(message)
    return message


def deliver_pending(limit: int = 100) -> int:
    """Send queued messages over SMTP; return how many were sent. No-op without MAIL_SERVER."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    pending = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).limit(limit)
    ).all()
    sent = 0
    if not pending:
        return 0
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for message in pending:
            email = EmailMessage()
            email["From"] = config["MAIL_FROM"]
            email["To"] = message.recipient
            email["Subject"] = message.subject
            email.set_content(message.body)
            try:
                smtp.send_message(email)
            except smtplib.SMTPException as exc:
                message.error = str(exc)
                log.warning("mail to %s failed: %s", message.recipient, exc)
            else:
                message.sent_at = clock.now()
                message.error = None
                sent += 1
    db.session.commit()
    return sent
