"""Equipment bought for a project, monitoring visits with their follow-up actions, and the
double claims found in reported results.

Equipment is confirmed only through a visit (`center.monitoring.services.record_visit`);
follow-up actions are opened and closed through the services, with optimistic locking.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.proposals.models import BudgetLine, Proposal


class Equipment(TenantScoped, Versioned, db.Model):
    """An item bought under an equipment budget line of an active project."""

    __tablename__ = "equipment_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    line_id: Mapped[int] = tenant_fk("budget_lines.id", ondelete="RESTRICT", index=True)
    item: Mapped[str] = mapped_column(String(300))
    cost: Mapped[int] = mapped_column(BigInteger)
    location: Mapped[str] = mapped_column(String(300))
    serial: Mapped[str] = mapped_column(String(120), default="")
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    #: The visit that saw the item in place; None until then.
    confirmed_visit_id: Mapped[int | None] = tenant_fk(
        "monitoring_visits.id", ondelete="SET NULL")
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Who received the item at close-out (the institute that keeps it).
    handed_over_to: Mapped[str] = mapped_column(String(300), default="")

    line: Mapped[BudgetLine] = relationship()
    confirmed_visit: Mapped[MonitoringVisit | None] = relationship()

    __table_args__ = (
        CheckConstraint("cost > 0", name="positive_cost"),
        CheckConstraint("(handed_over_at IS NULL) = (handed_over_to = '')",
                        name="handed_over_to_someone"),
        CheckConstraint("handed_over_at IS NULL OR confirmed_visit_id IS NOT NULL",
                        name="confirmed_before_handover"),
    )

    @property
    def confirmed(self) -> bool:
        return self.confirmed_visit_id is not None


class MonitoringVisit(TenantScoped, db.Model):
    """A visit to the project's site: when, by whom, what was found."""

    __tablename__ = "monitoring_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    visited_on: Mapped[dt.date] = mapped_column()
    visitor: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    actions: Mapped[list[FollowUpAction]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="FollowUpAction.id")


class FollowUpAction(TenantScoped, Versioned, db.Model):
    """Something a visit asked someone to do by a date; open until marked done."""

    __tablename__ = "visit_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = tenant_fk("monitoring_visits.id", ondelete="CASCADE", index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date] = mapped_column()
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    visit: Mapped[MonitoringVisit] = relationship(back_populates="actions")

    @property
    def proposal_id(self) -> int:
        return self.visit.proposal_id

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    @property
    def state_label(self) -> str:
        return str(_l("open") if self.is_open else _l("done"))


class ReportedText(TenantScoped, db.Model):
    """Results and deliverables one project reported, fingerprinted for later comparisons.

    ``label`` says where the text came from (e.g. "Report 2, results"); ``source_key`` lets
    the reporting module find its own texts again (e.g. ``report:17``).
    """

    __tablename__ = "reported_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    source_key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(5))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    claims: Mapped[list[DoubleClaim]] = relationship(
        back_populates="reported", cascade="all, delete-orphan", order_by="DoubleClaim.id")

    __table_args__ = (UniqueConstraint("tenant_id", "source_key"),)


class DoubleClaim(TenantScoped, Versioned, db.Model):
    """A reported text that overlaps another project's report or another proposal.

    ``other_key`` is ``p:<proposal id>``, ``f:<funded project id>`` or
    ``t:<reported text id>``; the officer resolves it like a proposal match.
    """

    __tablename__ = "double_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    reported_id: Mapped[int] = tenant_fk("reported_texts.id", ondelete="CASCADE", index=True)
    other_key: Mapped[str] = mapped_column(String(30))
    score: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    comment: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    reported: Mapped[ReportedText] = relationship(back_populates="claims")

    __table_args__ = (
        UniqueConstraint("reported_id", "other_key"),
        CheckConstraint("status IN ('open', 'cleared', 'complementary', 'duplicate')",
                        name="known_status"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_has_time"),
    )
