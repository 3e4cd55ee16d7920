"""Personal API tokens: how a program acts for one person in one center."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, db

if TYPE_CHECKING:
    from center.auth.models import User


class TokenScope(enum.StrEnum):
    """What a token may do: only read, or read and change what its owner may change."""

    read = "read"
    write = "write"


SCOPE_LABELS = {TokenScope.read: _l("Read only"),
                TokenScope.write: _l("Read and write")}


class ApiToken(TenantScoped, db.Model):
    """A personal token for the JSON API, valid in one center for one person.

    Only the sha256 of the secret is stored: a copy of the database opens nothing. The first
    characters (``prefix``) are kept in clear so that the owner can tell their tokens apart.
    A token acts with its owner's roles in the center as they are at each request, so a
    revoked role or a disabled account stops it at once; ``revoked_at`` stops it for good.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[TokenScope] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="known_scope"),)

    @property
    def scope_label(self) -> str:
        return str(SCOPE_LABELS[TokenScope(self.scope)])

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
