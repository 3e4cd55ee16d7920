"""The base form, and keeping what a user typed when their session or form expires.

When a POST arrives from someone whose session has expired, or with a stale CSRF token, the
submitted fields are parked server-side (`PendingInput`) and the user is sent to sign in or
back to the page. The next GET of the same page fills the form from what they typed, so an
expired session never destroys their work. Files are not kept: the page says so.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import request, session
from flask_wtf import FlaskForm
from sqlalchemy import JSON, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from center.core import clock
from center.core.db import UTCDateTime, db

PENDING_KEY = "pending_input"
PENDING_TTL = dt.timedelta(days=1)


class PendingInput(db.Model):
    """Form fields a user submitted after their session expired, kept for one day."""

    __tenant_scope__ = "global: held before we know who the user is"
    __tablename__ = "pending_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def park_submitted_input() -> None:
    """Keep this POST's text fields so the next GET of the same page can restore them."""
    fields = [[k, v] for k, v in request.form.items(multi=True) if k != "csrf_token"]
    if not fields:
        return
    token = secrets.token_urlsafe(32)
    db.session.execute(
        delete(PendingInput).where(PendingInput.created_at < clock.now() - PENDING_TTL)
    )
    db.session.add(
        PendingInput(token=token, path=request.path, fields=fields, created_at=clock.now())
    )
    db.session.commit()
    session[PENDING_KEY] = token


def take_parked_input() -> MultiDict | None:
    """Return and forget the input parked for this page, if any."""
    token = session.get(PENDING_KEY)
    if not token or request.method != "GET":
        return None
    pending = db.session.scalar(select(PendingInput).where(PendingInput.token == token))
    if pending is None or pending.path != request.path:
        return None
    session.pop(PENDING_KEY)
    db.session.delete(pending)
    db.session.commit()
    return MultiDict([tuple(pair) for pair in pending.fields])


class Form(FlaskForm):
    """Base for every form: restores input parked by an expired session."""

    #: Set when the form was filled from parked input, so the page can say so.
    restored = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "formdata" not in kwargs:
            parked = take_parked_input()
            if parked is not None:
                kwargs["formdata"] = parked
                super().__init__(*args, **kwargs)
                self.restored = True
                return
        super().__init__(*args, **kwargs)
