"""Time cards: the working days a team member actually spent on a task in one month.

Status changes go through `center.effort.services` (its ``TRANSITIONS`` table).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.proposals.models import Task, TeamMember


class CardStatus(enum.StrEnum):
    entered = "entered"  #: by the applicant team, waiting for the officer
    accepted = "accepted"  #: by the officer: the days count for payment
    returned = "returned"  #: sent back by the officer with a reason; edit to enter again

    @property
    def label(self) -> str:
        return str(CARD_STATUS_LABELS[self])


CARD_STATUS_LABELS = {
    CardStatus.entered: _l("entered"),
    CardStatus.accepted: _l("accepted"),
    CardStatus.returned: _l("returned"),
}


class TimeCard(TenantScoped, Versioned, db.Model):
    """Days one team member worked on one task of an active project in one month.

    ``month`` is the first day of the calendar month. Returned cards do not count towards
    any cap; entered and accepted ones do.
    """

    __tablename__ = "time_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    member_id: Mapped[int] = tenant_fk("team_members.id", ondelete="CASCADE", index=True)
    task_id: Mapped[int] = tenant_fk("tasks.id", ondelete="CASCADE", index=True)
    month: Mapped[dt.date] = mapped_column(index=True)
    days: Mapped[int] = mapped_column()
    status: Mapped[CardStatus] = mapped_column(String(12), default=CardStatus.entered)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The daily rate (minor units) fixed when the officer accepted the card.
    daily_rate: Mapped[int | None] = mapped_column()
    return_reason: Mapped[str] = mapped_column(Text, default="")

    member: Mapped[TeamMember] = relationship()
    task: Mapped[Task] = relationship()

    __table_args__ = (
        UniqueConstraint("member_id", "task_id", "month"),
        CheckConstraint("days > 0 AND days <= 31", name="days_in_a_month"),
        CheckConstraint("status IN ('entered', 'accepted', 'returned')", name="known_status"),
        CheckConstraint("(status = 'accepted') = (accepted_at IS NOT NULL AND "
                        "daily_rate IS NOT NULL)", name="accepted_has_time_and_rate"),
    )

    @property
    def status_label(self) -> str:
        return CardStatus(self.status).label

    @property
    def payment(self) -> int | None:
        """Minor units due for the card once accepted: days × daily rate."""
        return None if self.daily_rate is None else self.days * self.daily_rate
