"""Funding calls: what they fund, who may apply, which donors take part, how it is reviewed."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core import clock
from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk
from center.core.labels import humanize
from center.tenants.models import country_name

if TYPE_CHECKING:
    from center.tenants.models import Donor


class ReviewMode(enum.StrEnum):
    single_blind = "single_blind"  #: reviewers see the applicants
    double_blind = "double_blind"  #: reviewers see neither names nor institutes

    @property
    def label(self) -> str:
        return str(REVIEW_MODE_LABELS[self])


REVIEW_MODE_LABELS = {
    ReviewMode.single_blind: _l("Single-blind: reviewers see who applies"),
    ReviewMode.double_blind: _l("Double-blind: reviewers see neither names nor institutes"),
}


#: Attachment kinds a call may require, with their labels.
ATTACHMENT_KINDS = {
    "cv": _l("CVs of the principal investigators"),
    "support_letter": _l("Letters of support from the institutes"),
    "budget_justification": _l("Budget justification"),
    "ethics": _l("Ethics approval"),
    "other": _l("Other document"),
}


def attachment_kind_label(kind: str) -> str:
    """Name an attachment kind for people (never the stored key)."""
    return str(ATTACHMENT_KINDS.get(kind) or humanize(kind))


#: A call's derived state at a moment (`Call.state`), with its label; not a column.
CALL_STATES = {
    "upcoming": _l("Upcoming"),
    "open": _l("Open"),
    "closed": _l("Closed"),
}


class Call(TenantScoped, Versioned, db.Model):
    """A funding call. Times are UTC; money is in the tenant currency's minor units."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ISO codes of the partner countries whose institutes may take part.
    eligible_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    budget_ceiling: Mapped[int] = mapped_column(BigInteger)
    max_duration_months: Mapped[int] = mapped_column(default=36)
    overhead_cap_percent: Mapped[int] = mapped_column(default=15)
    required_attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: [{"name": ..., "weight": ..., "scale": ...}] criteria scored by reviewers.
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review_mode: Mapped[ReviewMode] = mapped_column(String(20), default=ReviewMode.single_blind)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    donors: Mapped[list[CallDonor]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallDonor.id"
    )

    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("budget_ceiling > 0", name="positive_ceiling"),
        CheckConstraint("overhead_cap_percent BETWEEN 0 AND 100", name="overhead_percent"),
        CheckConstraint("review_mode IN ('single_blind', 'double_blind')", name="review_mode"),
    )

    def is_open(self, at: dt.datetime) -> bool:
        """Tell whether proposals may be submitted at ``at`` (server time)."""
        return self.opens_at <= at < self.closes_at

    def state(self, at: dt.datetime) -> str:
        if at < self.opens_at:
            return "upcoming"
        return "open" if at < self.closes_at else "closed"

    @property
    def current_state(self) -> str:
        """The state now, for pages: ``upcoming``, ``open`` or ``closed``."""
        return self.state(clock.now())

    @property
    def current_state_label(self) -> str:
        return str(CALL_STATES[self.current_state])

    @property
    def review_mode_label(self) -> str:
        return ReviewMode(self.review_mode).label

    @property
    def eligible_country_names(self) -> list[str]:
        """The eligible countries' names in the interface language, in order."""
        return sorted(country_name(code) for code in self.eligible_countries)

    @property
    def offered_total(self) -> int:
        return sum(d.offered for d in self.donors)


class CallDonor(TenantScoped, db.Model):
    """A donor taking part in a call, with the amount it offers for the call."""

    __tablename__ = "call_donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = tenant_fk("calls.id", ondelete="CASCADE", index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    offered: Mapped[int] = mapped_column(BigInteger)

    call: Mapped[Call] = relationship(back_populates="donors")
    donor: Mapped[Donor] = relationship()

    __table_args__ = (
        UniqueConstraint("call_id", "donor_id"),
        CheckConstraint("offered >= 0", name="offer_not_negative"),
    )

