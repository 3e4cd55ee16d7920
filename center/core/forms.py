"""The base form, and keeping what a user typed when their session or form expires.

When a signed-in user's POST arrives after their session timed out, or with a stale CSRF
token, the submitted text fields are parked server-side (`PendingInput`) and the user is sent
to sign in or back to the page. The next GET of the same page by the same user fills the form
from what they typed, so an expired session never destroys their work. Files are not kept.

What is parked, and for whom (the rule):

- only for a user the request identifies: a live session whose form token went stale, or a
  session that timed out (idle or absolute limit) but was not revoked. A POST with no
  session, or with one ended by logout, password change or "sign out everywhere", parks
  nothing, so an anonymous client cannot fill the table;
- only a same-origin POST (``Sec-Fetch-Site: same-origin``, else ``Origin`` or ``Referer``
  matching PUBLIC_URL's origin): a cross-site page cannot pre-fill a form for a victim;
- never on views marked `never_park` (sign-in, registration, password reset and change),
  and never a field whose name says it is a password or secret;
- at most PENDING_INPUT_MAX_BYTES of text per form (larger input is not kept at all) and
  PENDING_INPUT_MAX_PER_USER forms per user (the oldest go first), each kept for one day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import JSON, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from center.core import clock
from center.core.db import UTCDateTime, db

PENDING_TTL = dt.timedelta(days=1)
#: ``g`` key the session loader sets to the id of a user whose session timed out.
EXPIRED_SESSION_USER = "expired_session_user_id"
#: Field names never parked, whatever form they are in.
_SECRET_WORDS = ("password", "passwd", "secret", "csrf_token", "token")

F = TypeVar("F", bound=Callable[..., Any])


class PendingInput(db.Model):
    """Form fields a user submitted after their session expired, kept for one day."""

    __tenant_scope__ = "global: keyed by user and path; the tenant is in the path"
    __tablename__ = "pending_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[list[list[str]]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def never_park(view: F) -> F:
    """Mark a view whose input must never be parked (it carries credentials)."""
    view.never_park = True  # type: ignore[attr-defined]
    return view


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname.lower(), port


def is_same_origin_post() -> bool:
    """Tell whether the browser says this request came from one of our own pages."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    ours = _origin(current_app.config["PUBLIC_URL"])
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return bool(source) and source != "null" and _origin(source) == ours


def parking_owner() -> int | None:
    """Return the id of the user this request identifies, live session or timed out."""
    if current_user.is_authenticated:
        return current_user.id
    return g.get(EXPIRED_SESSION_USER)


def _parkable_fields() -> list[list[str]]:
    return [[k, v] for k, v in request.form.items(multi=True)
            if not any(word in k.lower() for word in _SECRET_WORDS)]


def park_submitted_input() -> bool:
    """Keep this POST's text fields for the next GET of the same page; tell whether kept."""
    view = current_app.view_functions.get(request.endpoint or "")
    owner = parking_owner()
    if view is None or getattr(view, "never_park", False) or owner is None:
        return False
    if request.method != "POST" or not is_same_origin_post():
        return False
    fields = _parkable_fields()
    size = sum(len(k) + len(v) for k, v in fields)
    if not fields or size > current_app.config["PENDING_INPUT_MAX_BYTES"]:
        return False
    now = clock.now()
    db.session.execute(delete(PendingInput).where(
        (PendingInput.created_at < now - PENDING_TTL)
        | ((PendingInput.user_id == owner) & (PendingInput.path == request.path))))
    keep = current_app.config["PENDING_INPUT_MAX_PER_USER"] - 1
    older = db.session.scalars(select(PendingInput.id).where(PendingInput.user_id == owner)
                               .order_by(PendingInput.id.desc()).offset(max(keep, 0))).all()
    if older:
        db.session.execute(delete(PendingInput).where(PendingInput.id.in_(older)))
    db.session.add(PendingInput(user_id=owner, path=request.path[:500], fields=fields,
                                size=size, created_at=now))
    db.session.commit()
    return True


def take_parked_input() -> MultiDict | None:
    """Return and forget the input the signed-in user parked for this page, if any."""
    if request.method != "GET" or not current_user.is_authenticated:
        return None
    pending = db.session.scalar(
        select(PendingInput).where(PendingInput.user_id == current_user.id,
                                   PendingInput.path == request.path,
                                   PendingInput.created_at >= clock.now() - PENDING_TTL)
        .order_by(PendingInput.id.desc()).limit(1))
    if pending is None:
        return None
    fields = pending.fields
    db.session.delete(pending)
    db.session.commit()
    return MultiDict([tuple(pair) for pair in fields])


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
