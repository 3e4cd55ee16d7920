"""Screening reports, sanctions lists and their hits, host-government concurrence requests.

A proposal's status changes only through `center.proposals.workflow`; the rows here are what
its screening and concurrence guards read.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk
from center.tenants.models import country_name

if TYPE_CHECKING:
    from center.auth.models import User
    from center.proposals.models import Proposal


class SanctionsList(TenantScoped, db.Model):
    """One imported version of the tenant's consolidated sanctions and export-control list.

    Importing a new file makes a new row the active one; earlier versions are kept, with the
    hits found against them.
    """

    __tablename__ = "sanctions_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3 ... in the order of import, per tenant.
    number: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(default=0)
    #: Rows of the file left out because they could not be read (imported on request).
    skipped_rows: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    imported_by: Mapped[User | None] = relationship()
    entries: Mapped[list[SanctionsEntryRow]] = relationship(
        back_populates="list", cascade="all, delete-orphan", order_by="SanctionsEntryRow.id")

    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("NOT is_active OR replaced_at IS NULL", name="active_not_replaced"),
    )


class SanctionsEntryRow(TenantScoped, db.Model):
    """A person or entity on an imported list, as the file gave it."""

    __tablename__ = "sanctions_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = tenant_fk("sanctions_lists.id", ondelete="CASCADE", index=True)
    #: The line of the file the row starts on.
    line: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(500))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(10))
    list_name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200), default="")

    list: Mapped[SanctionsList] = relationship(back_populates="entries")

    __table_args__ = (CheckConstraint("kind IN ('person', 'entity')", name="known_kind"),)


class CheckStatus(enum.StrEnum):
    """How one finding of a screening report stands."""

    ok = "ok"
    failed = "failed"  #: an eligibility rule is broken
    flagged = "flagged"  #: needs an officer's look, blocks nothing by itself
    blocking = "blocking"  #: blocks passing screening until an officer clears it
    cleared = "cleared"  #: was blocking; an officer cleared it with a reason

    @property
    def label(self) -> str:
        return str(CHECK_STATUS_LABELS[self])


CHECK_STATUS_LABELS = {
    CheckStatus.ok: _l("passed"),
    CheckStatus.failed: _l("failed"),
    CheckStatus.flagged: _l("flagged for a look"),
    CheckStatus.blocking: _l("blocking"),
    CheckStatus.cleared: _l("cleared by an officer"),
}


class ScreeningReport(TenantScoped, db.Model):
    """The screening of one submitted version of a proposal, refreshed on demand.

    ``findings`` holds what was computed: ``eligibility`` (a list of checks), ``effort``
    (people and their days per year across the tenant's proposals), ``sanctions`` (what was
    screened against which list; the hits are `SanctionsHit` rows), ``sensitive`` (matched
    keywords), and ``duplicates`` when the duplicate detector has filled it in.
    """

    __tablename__ = "screening_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    version_no: Mapped[int] = mapped_column()
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    sanctions_list_id: Mapped[int | None] = tenant_fk("sanctions_lists.id", ondelete="SET NULL")
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The sensitive-topic keywords found; empty when none.
    sensitive_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    sensitive_reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sensitive_reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    sensitive_review_note: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship()
    sanctions_list: Mapped[SanctionsList | None] = relationship()
    sensitive_reviewed_by: Mapped[User | None] = relationship(
        foreign_keys=[sensitive_reviewed_by_id])
    hits: Mapped[list[SanctionsHit]] = relationship(
        back_populates="report", cascade="all, delete-orphan",
        order_by="(SanctionsHit.score.desc(), SanctionsHit.id)")

    __table_args__ = (
        UniqueConstraint("proposal_id", "version_no"),
        CheckConstraint("(sensitive_reviewed_at IS NULL) OR (sensitive_review_note <> '')",
                        name="review_has_note"),
    )

    @property
    def uncleared_hits(self) -> list[SanctionsHit]:
        return [h for h in self.hits if h.cleared_at is None]

    @property
    def sensitive_status(self) -> CheckStatus:
        if not self.sensitive_terms:
            return CheckStatus.ok
        return CheckStatus.cleared if self.sensitive_reviewed_at else CheckStatus.blocking

    @property
    def failed_eligibility(self) -> list[dict[str, Any]]:
        return [c for c in self.findings.get("eligibility", []) if not c["ok"]]

    @property
    def over_committed(self) -> list[dict[str, Any]]:
        return [p for p in self.findings.get("effort", {}).get("people", []) if p["over"]]

    @property
    def blockers(self) -> int:
        """How many findings keep the proposal from passing screening."""
        return (len(self.uncleared_hits) + len(self.failed_eligibility)
                + len(self.over_committed) + (self.sensitive_status == CheckStatus.blocking))


class SanctionsHit(TenantScoped, db.Model):
    """A team member or institute whose name matched a listed person or entity."""

    __tablename__ = "sanctions_hits"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = tenant_fk("screening_reports.id", ondelete="CASCADE", index=True)
    #: ``person`` (a team member) or ``entity`` (an institute).
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject_name: Mapped[str] = mapped_column(String(500))
    #: Where the subject appears: the member's role and institute, or the institute's country.
    subject_detail: Mapped[str] = mapped_column(String(500), default="")
    entry_id: Mapped[int] = tenant_fk("sanctions_entries.id", ondelete="RESTRICT")
    matched_name: Mapped[str] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    clear_reason: Mapped[str] = mapped_column(Text, default="")
    #: The clearance was made on an earlier screening of the same proposal and carried over.
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)

    report: Mapped[ScreeningReport] = relationship(back_populates="hits")
    entry: Mapped[SanctionsEntryRow] = relationship()
    cleared_by: Mapped[User | None] = relationship(foreign_keys=[cleared_by_id])

    __table_args__ = (
        CheckConstraint("subject_kind IN ('person', 'entity')", name="known_subject_kind"),
        CheckConstraint("(cleared_at IS NULL) OR (clear_reason <> '')",
                        name="cleared_with_reason"),
    )

    @property
    def status(self) -> CheckStatus:
        return CheckStatus.cleared if self.cleared_at else CheckStatus.blocking


class ConcurrenceDecision(enum.StrEnum):
    concurred = "concurred"
    objected = "objected"
    #: Nobody answered by the deadline and the tenant counts silence as consent.
    silent_consent = "silent_consent"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self])


DECISION_LABELS = {
    ConcurrenceDecision.concurred: _l("Concurred"),
    ConcurrenceDecision.objected: _l("Objected"),
    ConcurrenceDecision.silent_consent: _l("Silence counted as consent"),
}
#: Decisions that let the proposal go on.
CONSENTS = frozenset({ConcurrenceDecision.concurred, ConcurrenceDecision.silent_consent})

_DECISION_VALUES = ", ".join(f"'{d}'" for d in ConcurrenceDecision)


class ConcurrenceRequest(TenantScoped, Versioned, db.Model):
    """The question put to one partner country's government about one proposal."""

    __tablename__ = "concurrence_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE")
    country_code: Mapped[str] = mapped_column(String(2), index=True)
    #: The proposal version the government is asked about.
    version_no: Mapped[int] = mapped_column()
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The tenant's rule when the request was made: silence past the deadline is consent.
    silence_is_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the officers were told that the deadline passed without an answer.
    overdue_notice_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[ConcurrenceDecision | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    proposal: Mapped[Proposal] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        UniqueConstraint("proposal_id", "country_code", "version_no"),
        Index("ix_concurrence_requests_open", "proposal_id", "decision"),
        CheckConstraint(f"decision IS NULL OR decision IN ({_DECISION_VALUES})",
                        name="known_decision"),
        CheckConstraint("(decision IS NULL) = (decided_at IS NULL)", name="decided_has_time"),
        CheckConstraint("decision <> 'objected' OR comment <> ''", name="objection_has_reason"),
        CheckConstraint("deadline_at > requested_at", name="deadline_after_request"),
    )

    @property
    def country_name(self) -> str:
        return country_name(self.country_code)

    @property
    def is_open(self) -> bool:
        return self.decision is None

    def consents_at(self, at: dt.datetime) -> bool:
        """Tell whether this country's answer lets the proposal go on at ``at``."""
        if self.decision is not None:
            return self.decision in CONSENTS
        return self.silence_is_consent and at >= self.deadline_at
