"""Projects after countersignature: donors' commitments, reporting periods, reports, tranches.

Amounts are integers in minor units of the project's ``currency`` (the agreement's), like
every amount of the portal (`center.core.money`).

**The tranche-sum invariant.** The tranches of one donor of a project add up to that donor's
commitment (``ProjectDonor.committed``). The services keep it (`center.projects.services`);
on PostgreSQL the database keeps it too, with a deferred constraint trigger
(`TRANCHE_SUM_SQL`) on both ``tranches`` and ``project_donors``: it is checked at COMMIT, so
one transaction may re-plan a donor's tranches (an amendment moves money from one tranche to
another) through states in between, and a transaction that ends with any donor's tranches
off their commitment fails as a whole. SQLite has no deferred triggers; there the service
layer's check is the only one.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL as _DDL
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.agreements.models import Agreement
    from center.auth.models import User
    from center.proposals.models import Proposal
    from center.tenants.models import Donor


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{s}'" for s in enum_cls)


class ProjectStatus(enum.StrEnum):
    active = "active"
    closed = "closed"


PROJECT_STATUS_LABELS = {ProjectStatus.active: _l("active"), ProjectStatus.closed: _l("closed")}


class Project(TenantScoped, Versioned, db.Model):
    """An active (or closed) proposal with the agreement version that was countersigned."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", unique=True)
    agreement_id: Mapped[int] = tenant_fk("agreements.id", ondelete="RESTRICT")
    reference: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ProjectStatus] = mapped_column(String(10), default=ProjectStatus.active)
    #: The first and last day of the project, in the center's zone.
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    duration_months: Mapped[int] = mapped_column()
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    proposal: Mapped[Proposal] = relationship()
    agreement: Mapped[Agreement] = relationship()
    donors: Mapped[list[ProjectDonor]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectDonor.id")
    periods: Mapped[list[ReportingPeriod]] = relationship(
        back_populates="project", cascade="all, delete-orphan",
        order_by="(ReportingPeriod.due_on, ReportingPeriod.number)")
    tranches: Mapped[list[Tranche]] = relationship(
        back_populates="project", cascade="all, delete-orphan",
        order_by="(Tranche.number, Tranche.project_donor_id)")

    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ProjectStatus)})", name="known_status"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("duration_months >= 1", name="positive_duration"),
    )

    @property
    def title(self) -> str:
        return self.proposal.title

    @property
    def status_label(self) -> str:
        return str(PROJECT_STATUS_LABELS[ProjectStatus(self.status)])

    @property
    def committed(self) -> int:
        return sum(d.committed for d in self.donors)

    @property
    def donor_ids(self) -> list[int]:
        return [d.donor_id for d in self.donors]


class ProjectDonor(TenantScoped, db.Model):
    """One funding donor of a project and what it committed (minor units)."""

    __tablename__ = "project_donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = tenant_fk("projects.id", ondelete="CASCADE", index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    committed: Mapped[int] = mapped_column(BigInteger)

    project: Mapped[Project] = relationship(back_populates="donors")
    donor: Mapped[Donor] = relationship()
    tranches: Mapped[list[Tranche]] = relationship(back_populates="project_donor",
                                                   order_by="Tranche.number")

    __table_args__ = (UniqueConstraint("project_id", "donor_id"),
                      CheckConstraint("committed > 0", name="positive_commitment"))


class ReportKind(enum.StrEnum):
    technical = "technical"  #: quarterly technical report
    financial = "financial"  #: annual financial report
    interim = "interim"  #: the agreement's interim scientific and financial report
    final = "final"  #: the final scientific and financial report


REPORT_KIND_LABELS = {ReportKind.technical: _l("Quarterly technical report"),
                      ReportKind.financial: _l("Annual financial report"),
                      ReportKind.interim: _l("Interim report"),
                      ReportKind.final: _l("Final report")}


class ReportingPeriod(TenantScoped, Versioned, db.Model):
    """One item of a project's reporting schedule: what is reported, over which months, by
    when (a date in the center's zone), and the reminders sent against it."""

    __tablename__ = "reporting_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = tenant_fk("projects.id", ondelete="CASCADE", index=True)
    number: Mapped[int] = mapped_column()
    kind: Mapped[ReportKind] = mapped_column(String(12))
    #: The months of the project the report covers (1 = the first month).
    first_month: Mapped[int] = mapped_column()
    last_month: Mapped[int] = mapped_column()
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    #: How many of `center.projects.services.REMINDER_DAYS_BEFORE` have been sent.
    reminders_sent: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    overdue_notice_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="periods")
    report: Mapped[Report | None] = relationship(back_populates="period", uselist=False,
                                                 cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint(f"kind IN ({_values(ReportKind)})", name="known_kind"),
        CheckConstraint("last_month >= first_month AND first_month >= 1", name="months"),
        CheckConstraint("due_on >= ends_on", name="due_after_period"),
    )

    @property
    def kind_label(self) -> str:
        return str(REPORT_KIND_LABELS[ReportKind(self.kind)])

    @property
    def title(self) -> str:
        return f"{self.kind_label} {self.number}"

    @property
    def is_done(self) -> bool:
        return self.report is not None and self.report.status == ReportStatus.accepted

    @property
    def is_with_team(self) -> bool:
        """Whether the applicants have to act: nothing submitted, or changes requested."""
        return self.report is None or self.report.status in (ReportStatus.draft,
                                                              ReportStatus.changes_requested)


class ReportStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    changes_requested = "changes_requested"
    accepted = "accepted"


REPORT_STATUS_LABELS = {ReportStatus.draft: _l("draft"),
                        ReportStatus.submitted: _l("submitted"),
                        ReportStatus.changes_requested: _l("changes requested"),
                        ReportStatus.accepted: _l("accepted")}


class Report(TenantScoped, Versioned, db.Model):
    """The report of one reporting period, as the team is writing it.

    Status changes go through `center.projects.reports.fire`; ``version`` is the optimistic
    lock every edit and transition checks against the version the user saw.
    """

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = tenant_fk(
        "reporting_periods.id", ondelete="CASCADE", unique=True)
    project_id: Mapped[int] = tenant_fk("projects.id", ondelete="CASCADE", index=True)
    status: Mapped[ReportStatus] = mapped_column(String(20), default=ReportStatus.draft)
    #: {section key: text}, see `center.projects.reports.SECTIONS`.
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: [{"task_id", "title", "progress": not_started|in_progress|done, "note"}], one per
    #: work-plan task: deliverables and milestones reached against the plan.
    progress: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The reviewers' last reason (changes requested), shown to the team.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    period: Mapped[ReportingPeriod] = relationship(back_populates="report")
    project: Mapped[Project] = relationship()
    versions: Mapped[list[ReportVersion]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportVersion.number")
    comments: Mapped[list[ReportComment]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportComment.id")
    attachments: Mapped[list[ReportAttachment]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportAttachment.id")

    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ReportStatus)})", name="known_status"),
        CheckConstraint("status = 'draft' OR submitted_at IS NOT NULL", name="submitted_time"),
        CheckConstraint("status <> 'accepted' OR decided_at IS NOT NULL", name="accepted_time"),
    )

    @property
    def status_label(self) -> str:
        return str(REPORT_STATUS_LABELS[ReportStatus(self.status)])

    @property
    def is_editable(self) -> bool:
        return self.status in (ReportStatus.draft, ReportStatus.changes_requested)


class ReportVersion(TenantScoped, db.Model):
    """The frozen content of a report at one submission (v1, v2 ... after changes)."""

    __tablename__ = "report_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = tenant_fk("reports.id", ondelete="CASCADE", index=True)
    number: Mapped[int] = mapped_column()
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))

    report: Mapped[Report] = relationship(back_populates="versions")
    submitted_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("report_id", "number"),)


class ReportComment(TenantScoped, db.Model):
    """A reader's comment on a report (the officer, a funding donor's reviewer, the team)."""

    __tablename__ = "report_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = tenant_fk("reports.id", ondelete="CASCADE", index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The submitted version the comment was written on (0 before the first submission).
    version_number: Mapped[int] = mapped_column(default=0)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    report: Mapped[Report] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    __table_args__ = (CheckConstraint("body <> ''", name="body_given"),)


class ReportAttachment(TenantScoped, db.Model):
    """A file attached to a report, kept in storage under ``storage_key`` with its sha256."""

    __tablename__ = "report_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = tenant_fk("reports.id", ondelete="CASCADE", index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    report: Mapped[Report] = relationship(back_populates="attachments")


class TrancheStatus(enum.StrEnum):
    planned = "planned"
    due = "due"
    approved = "approved"
    paid = "paid"
    cancelled = "cancelled"


TRANCHE_STATUS_LABELS = {TrancheStatus.planned: _l("planned"), TrancheStatus.due: _l("due"),
                         TrancheStatus.approved: _l("approved"),
                         TrancheStatus.paid: _l("paid"),
                         TrancheStatus.cancelled: _l("cancelled")}
SETTLED_TRANCHES = frozenset({TrancheStatus.paid, TrancheStatus.cancelled})


class Tranche(TenantScoped, Versioned, db.Model):
    """One donor's part of one tranche of the agreement's payment schedule.

    The portal records decisions about money, it never moves any: *due* once the report
    that releases it is accepted (or at once when the agreement ties it to countersignature),
    *approved* by the officer, *paid* with the payment's reference and date as the center's
    finance recorded it, or *cancelled* with a reason. Status changes go through
    `center.projects.tranches.fire`.
    """

    __tablename__ = "tranches"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = tenant_fk("projects.id", ondelete="CASCADE", index=True)
    project_donor_id: Mapped[int] = tenant_fk(
        "project_donors.id", ondelete="CASCADE", index=True)
    #: The tranche's place in the agreement's schedule (1, 2 ...).
    number: Mapped[int] = mapped_column()
    percent: Mapped[int] = mapped_column()
    condition: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The period whose report's acceptance releases the tranche; None: countersignature.
    period_id: Mapped[int | None] = tenant_fk(
        "reporting_periods.id", ondelete="SET NULL")
    status: Mapped[TrancheStatus] = mapped_column(String(10), default=TrancheStatus.planned)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_reference: Mapped[str] = mapped_column(String(100), default="")
    paid_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship(back_populates="tranches")
    project_donor: Mapped[ProjectDonor] = relationship(back_populates="tranches")
    period: Mapped[ReportingPeriod | None] = relationship()

    __table_args__ = (
        UniqueConstraint("project_donor_id", "number"),
        CheckConstraint(f"status IN ({_values(TrancheStatus)})", name="known_status"),
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint("status NOT IN ('approved', 'paid') OR approved_at IS NOT NULL",
                        name="approved_time"),
        CheckConstraint("status <> 'paid' OR (paid_on IS NOT NULL AND payment_reference <> '')",
                        name="paid_has_reference"),
        CheckConstraint("status <> 'cancelled' OR (cancelled_at IS NOT NULL AND "
                        "cancel_reason <> '')", name="cancelled_has_reason"),
    )

    @property
    def donor(self) -> Donor:
        return self.project_donor.donor

    @property
    def status_label(self) -> str:
        return str(TRANCHE_STATUS_LABELS[TrancheStatus(self.status)])

    @property
    def released(self) -> bool:
        """Whether what releases it happened: countersignature, or its report accepted."""
        return self.period_id is None or (self.period is not None and self.period.is_done)


#: The tranche-sum invariant on PostgreSQL (see the module docstring). One function serves
#: both tables: each has ``id``/``project_donor_id`` naming the donor's share to check.
TRANCHE_SUM_SQL = (
    """
    CREATE OR REPLACE FUNCTION tranches_match_commitment() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        share_ids integer[];
        share integer;
        committed bigint;
        planned bigint;
    BEGIN
        IF TG_TABLE_NAME = 'project_donors' THEN
            share_ids := ARRAY[CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END];
        ELSIF TG_OP = 'INSERT' THEN
            share_ids := ARRAY[NEW.project_donor_id];
        ELSIF TG_OP = 'DELETE' THEN
            share_ids := ARRAY[OLD.project_donor_id];
        ELSE
            share_ids := ARRAY[OLD.project_donor_id, NEW.project_donor_id];
        END IF;
        FOREACH share IN ARRAY share_ids LOOP
            SELECT pd.committed INTO committed FROM project_donors pd WHERE pd.id = share;
            SELECT COALESCE(SUM(t.amount), 0) INTO planned FROM tranches t
                WHERE t.project_donor_id = share;
            IF COALESCE(committed, 0) <> planned THEN
                -- No format placeholders: the statement goes through DDL() unchanged.
                RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE =
                    'the tranches of donor share ' || share || ' add up to ' || planned
                    || ', not its commitment ' || COALESCE(committed, 0);
            END IF;
        END LOOP;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER tranches_match_commitment
    AFTER INSERT OR UPDATE OF amount, project_donor_id OR DELETE ON tranches
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tranches_match_commitment()
    """,
    """
    CREATE CONSTRAINT TRIGGER project_donors_match_tranches
    AFTER INSERT OR UPDATE OF committed OR DELETE ON project_donors
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION tranches_match_commitment()
    """,
)
DROP_TRANCHE_SUM_SQL = (
    "DROP TRIGGER IF EXISTS project_donors_match_tranches ON project_donors",
    "DROP TRIGGER IF EXISTS tranches_match_commitment ON tranches",
    "DROP FUNCTION IF EXISTS tranches_match_commitment()",
)

# The schema made from the models (tests, `flask db` on a fresh database) gets the trigger
# too; `tranches` is created after `project_donors` (it refers to it).
for _statement in TRANCHE_SUM_SQL:
    event.listen(Tranche.__table__, "after_create",
                 _DDL(_statement).execute_if(dialect="postgresql"))
