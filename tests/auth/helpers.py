"""Small helpers for the auth tests: reading mail from the outbox, expiring time."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from center.core.db import db
from center.core.notifications import OutboxMessage


def mails_to(app: Flask, address: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == address).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


def link_path(body: str, marker: str) -> str:
    """Return the path of the first link in ``body`` that contains ``marker``."""
    url = re.search(r"https?://\S*" + re.escape(marker) + r"\S*", body).group(0)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
