"""Proposals and everything an applicant writes into one: consortium, team, work plan,
budget, travel, IP plan, attachments, and the frozen versions made at each submission.

Status changes go through `center.proposals.workflow` and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk
from center.core.identifiers import orcid_url
from center.core.labels import humanize

if TYPE_CHECKING:
    from center.auth.models import User
    from center.calls.models import Call
    from center.tenants.models import Donor, Institute


class ProposalStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    screening = "screening"
    changes_requested = "changes_requested"
    ineligible = "ineligible"
    concurrence = "concurrence"
    objected = "objected"
    under_review = "under_review"
    reviewed = "reviewed"
    rejected = "rejected"
    funding = "funding"
    approved = "approved"
    agreement_issued = "agreement_issued"
    active = "active"
    closed = "closed"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ProposalStatus.draft: _l("draft"),
    ProposalStatus.submitted: _l("submitted"),
    ProposalStatus.screening: _l("in screening"),
    ProposalStatus.changes_requested: _l("changes requested"),
    ProposalStatus.ineligible: _l("ineligible"),
    ProposalStatus.concurrence: _l("awaiting government concurrence"),
    ProposalStatus.objected: _l("objected to by a government"),
    ProposalStatus.under_review: _l("under review"),
    ProposalStatus.reviewed: _l("reviewed"),
    ProposalStatus.rejected: _l("rejected"),
    ProposalStatus.funding: _l("in funding"),
    ProposalStatus.approved: _l("approved for funding"),
    ProposalStatus.agreement_issued: _l("agreement issued"),
    ProposalStatus.active: _l("active project"),
    ProposalStatus.closed: _l("closed"),
    ProposalStatus.withdrawn: _l("withdrawn"),
}


def status_label(status: str) -> str:
    """Return a proposal state's name for people (never the stored value)."""
    try:
        return str(STATUS_LABELS[ProposalStatus(status)])
    except ValueError:
        return humanize(status)


#: The applicant may edit only in these states.
EDITABLE_STATES = frozenset({ProposalStatus.draft, ProposalStatus.changes_requested})
#: A decision has been taken; withdrawal is no longer possible.
DECIDED_STATES = frozenset({
    ProposalStatus.ineligible, ProposalStatus.objected, ProposalStatus.rejected,
    ProposalStatus.approved, ProposalStatus.agreement_issued, ProposalStatus.active,
    ProposalStatus.closed, ProposalStatus.withdrawn,
})
#: Proposals that compete for effort and funding (for effort and duplicate checks).
PENDING_OR_ACTIVE_STATES = frozenset(ProposalStatus) - frozenset({
    ProposalStatus.draft, ProposalStatus.ineligible, ProposalStatus.objected,
    ProposalStatus.rejected, ProposalStatus.withdrawn, ProposalStatus.closed,
})

_STATUS_VALUES = ", ".join(f"'{s}'" for s in ProposalStatus)


class BudgetCategory(enum.StrEnum):
    personnel = "personnel"
    equipment = "equipment"
    materials = "materials"
    travel = "travel"
    subcontracts = "subcontracts"
    overhead = "overhead"


BUDGET_CATEGORY_LABELS = {
    BudgetCategory.personnel: _l("Personnel"),
    BudgetCategory.equipment: _l("Equipment"),
    BudgetCategory.materials: _l("Materials and consumables"),
    BudgetCategory.travel: _l("Travel"),
    BudgetCategory.subcontracts: _l("Subcontracts"),
    BudgetCategory.overhead: _l("Overhead"),
}

class PartnerRole(enum.StrEnum):
    """What an institute is in the consortium."""

    lead = "lead"  #: the lead institute, exactly one per proposal
    partner = "partner"  #: an institute of an eligible country
    #: an institute of a donor country: outside the eligible countries, no grant money
    foreign_collaborator = "foreign_collaborator"

    @property
    def label(self) -> str:
        return str(PARTNER_ROLE_LABELS[self])


PARTNER_ROLE_LABELS = {
    PartnerRole.lead: _l("Lead institute"),
    PartnerRole.partner: _l("Partner"),
    PartnerRole.foreign_collaborator: _l("Foreign collaborator"),
}

#: The team role of the principal investigator (at most one per proposal).
PRINCIPAL_INVESTIGATOR = "principal_investigator"

#: The roles a team member may have, with their labels (stored as plain strings).
TEAM_ROLE_LABELS = {
    PRINCIPAL_INVESTIGATOR: _l("Principal investigator"),
    "scientist": _l("Scientist"),
    "engineer": _l("Engineer"),
    "technician": _l("Technician"),
    "student": _l("Student"),
}


def team_role_label(role: str) -> str:
    """Name a team member's role for people (never the stored value)."""
    return str(TEAM_ROLE_LABELS.get(role) or humanize(role))


class ForegroundIP(enum.StrEnum):
    joint = "joint"  #: owned jointly by the consortium
    inventor = "inventor"  #: owned by the inventing institute
    licensed_to_donors = "licensed_to_donors"  #: owned by institutes, licensed to donors

    @property
    def label(self) -> str:
        return str(FOREGROUND_IP_LABELS[self])


FOREGROUND_IP_LABELS = {
    ForegroundIP.joint: _l("The consortium, jointly"),
    ForegroundIP.inventor: _l("The inventing institute"),
    ForegroundIP.licensed_to_donors: _l("The institutes, with a licence to the donors"),
}


class Proposal(TenantScoped, Versioned, db.Model):
    """An application to one call by a consortium. Status changes go through
    `center.proposals.workflow`; content changes through `center.proposals.services`."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = tenant_fk("calls.id", ondelete="RESTRICT", index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    status: Mapped[ProposalStatus] = mapped_column(String(20), default=ProposalStatus.draft,
                                                   index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    acronym: Mapped[str] = mapped_column(String(40), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(500), default="")
    topic: Mapped[str] = mapped_column(String(200), default="")
    duration_months: Mapped[int | None] = mapped_column()
    # IP plan
    foreground_ip: Mapped[ForegroundIP | None] = mapped_column(String(30))
    foreground_ip_terms: Mapped[str] = mapped_column(Text, default="")
    publication_policy: Mapped[str] = mapped_column(Text, default="")
    #: Who last changed each section: {"budget": {"by": "Name", "at": "iso"}}.
    section_edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Number of the last submitted version; 0 while never submitted.
    version_no: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(Text, default="")

    call: Mapped[Call] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    partners: Mapped[list[ProposalInstitute]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalInstitute.id")
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="TeamMember.id")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Task.id")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="BudgetLine.id")
    trips: Mapped[list[Trip]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Trip.id")
    background_ip: Mapped[list[BackgroundIP]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="BackgroundIP.id")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Attachment.id")
    collaborators: Mapped[list[Collaborator]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Collaborator.id")
    versions: Mapped[list[ProposalVersion]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalVersion.number")

    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="known_status"),
        CheckConstraint("(status = 'draft') OR (submitted_at IS NOT NULL)",
                        name="submitted_has_time"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)",
                        name="withdrawn_has_time"),
    )

    @property
    def lead(self) -> ProposalInstitute | None:
        return next((p for p in self.partners if p.is_lead), None)

    @property
    def status_label(self) -> str:
        """The state in words, e.g. "in screening"."""
        return ProposalStatus(self.status).label

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATES

    @property
    def total_budget(self) -> int:
        return sum(line.amount for line in self.budget_lines)

    @property
    def principal_investigator(self) -> TeamMember | None:
        return next((m for m in self.team if m.role == PRINCIPAL_INVESTIGATOR), None)

    @property
    def countries(self) -> list[str]:
        """Every country of the consortium, foreign collaborators' included."""
        return sorted({p.institute.country_code for p in self.partners})

    @property
    def partner_countries(self) -> list[str]:
        """The countries of the lead and partners: the ones eligibility and host-government
        concurrence are about (foreign collaborators' countries are not)."""
        return sorted({p.institute.country_code for p in self.partners
                       if not p.foreign_collaborator})


class ProposalInstitute(TenantScoped, db.Model):
    """An institute of the consortium: the lead (at most one, by a partial unique index), a
    partner, or a foreign collaborator (a donor country's institute, funded by nobody)."""

    __tablename__ = "proposal_institutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    institute_id: Mapped[int] = tenant_fk("institutes.id", ondelete="RESTRICT")
    is_lead: Mapped[bool] = mapped_column(default=False)
    foreign_collaborator: Mapped[bool] = mapped_column(default=False,
                                                       server_default=sql("false"))

    proposal: Mapped[Proposal] = relationship(back_populates="partners")
    institute: Mapped[Institute] = relationship()

    __table_args__ = (
        UniqueConstraint("proposal_id", "institute_id"),
        CheckConstraint("NOT (is_lead AND foreign_collaborator)", name="lead_is_not_foreign"),
        Index("uq_proposal_institutes_one_lead", "proposal_id", unique=True,
              sqlite_where=sql("is_lead"), postgresql_where=sql("is_lead")),
    )

    @property
    def role(self) -> PartnerRole:
        if self.is_lead:
            return PartnerRole.lead
        return PartnerRole.foreign_collaborator if self.foreign_collaborator else \
            PartnerRole.partner


class TeamMember(TenantScoped, db.Model):
    """A scientist on the team, with role, institute and citizenship."""

    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(255), default="")
    #: The person's ORCID iD in canonical form, if given; it decides identity first.
    orcid: Mapped[str] = mapped_column(String(19), default="", server_default="")
    role: Mapped[str] = mapped_column(String(30))  #: principal_investigator, scientist, ...
    institute_id: Mapped[int] = tenant_fk("institutes.id", ondelete="RESTRICT")
    citizenship: Mapped[str] = mapped_column(String(2))
    birth_year: Mapped[int | None] = mapped_column()
    # What a consulate asks for an invitation letter. Shown only to the proposal's
    # applicants, officers and administrators (`permissions.can_see_consular_data`); never
    # in reviewers' or officials' copies, blind review, the version snapshot or exports.
    position: Mapped[str] = mapped_column(String(120), default="")
    date_of_birth: Mapped[dt.date | None] = mapped_column()
    passport_number: Mapped[str] = mapped_column(String(40), default="")
    passport_expires_on: Mapped[dt.date | None] = mapped_column()

    proposal: Mapped[Proposal] = relationship(back_populates="team")
    institute: Mapped[Institute] = relationship()
    efforts: Mapped[list[TaskEffort]] = relationship(back_populates="member",
                                                     cascade="all, delete-orphan")

    #: At most one principal investigator per proposal.
    __table_args__ = (
        Index("uq_team_members_one_pi", "proposal_id", unique=True,
              sqlite_where=sql(f"role = '{PRINCIPAL_INVESTIGATOR}'"),
              postgresql_where=sql(f"role = '{PRINCIPAL_INVESTIGATOR}'")),
    )

    @property
    def orcid_url(self) -> str:
        return orcid_url(self.orcid) if self.orcid else ""


class Task(TenantScoped, db.Model):
    """A work-plan task carried out by one institute over a span of months."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    institute_id: Mapped[int] = tenant_fk("institutes.id", ondelete="RESTRICT")
    start_month: Mapped[int] = mapped_column(default=1)
    end_month: Mapped[int] = mapped_column(default=1)

    proposal: Mapped[Proposal] = relationship(back_populates="tasks")
    institute: Mapped[Institute] = relationship()
    efforts: Mapped[list[TaskEffort]] = relationship(back_populates="task",
                                                     cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("end_month >= start_month", name="months_in_order"),)


class TaskEffort(TenantScoped, db.Model):
    """Working days one team member spends on one task."""

    __tablename__ = "task_efforts"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = tenant_fk("tasks.id", ondelete="CASCADE", index=True)
    member_id: Mapped[int] = tenant_fk("team_members.id", ondelete="CASCADE", index=True)
    days: Mapped[int] = mapped_column()

    task: Mapped[Task] = relationship(back_populates="efforts")
    member: Mapped[TeamMember] = relationship(back_populates="efforts")

    __table_args__ = (UniqueConstraint("task_id", "member_id"),
                      CheckConstraint("days > 0", name="positive_days"))


class BudgetLine(TenantScoped, db.Model):
    """A budget line in minor units, spent by one institute of the consortium (ISTC budgets
    are per institute) and split between the call's donors. ``institute_id`` is NULL only on
    lines written before lines had institutes; the checklist asks for one."""

    __tablename__ = "budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    category: Mapped[BudgetCategory] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger)
    institute_id: Mapped[int | None] = tenant_fk("institutes.id", ondelete="RESTRICT", index=True)

    proposal: Mapped[Proposal] = relationship(back_populates="budget_lines")
    institute: Mapped[Institute | None] = relationship()
    splits: Mapped[list[BudgetSplit]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="BudgetSplit.id")

    __table_args__ = (CheckConstraint("amount > 0", name="positive_amount"),)


class BudgetSplit(TenantScoped, db.Model):
    """The part of a budget line one donor is asked to fund."""

    __tablename__ = "budget_splits"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = tenant_fk("budget_lines.id", ondelete="CASCADE", index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    amount: Mapped[int] = mapped_column(BigInteger)

    line: Mapped[BudgetLine] = relationship(back_populates="splits")
    donor: Mapped[Donor] = relationship()

    __table_args__ = (UniqueConstraint("line_id", "donor_id"),
                      CheckConstraint("amount >= 0", name="split_not_negative"))


class Trip(TenantScoped, db.Model):
    """A planned trip; visa and invitation needs are derived from the tenant's visa rules."""

    __tablename__ = "trips"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    traveller_id: Mapped[int] = tenant_fk("team_members.id", ondelete="CASCADE")
    origin_country: Mapped[str] = mapped_column(String(2))
    origin_city: Mapped[str] = mapped_column(String(120), default="")
    destination_country: Mapped[str] = mapped_column(String(2))
    destination_city: Mapped[str] = mapped_column(String(120), default="")
    depart_on: Mapped[dt.date] = mapped_column()
    return_on: Mapped[dt.date] = mapped_column()
    purpose: Mapped[str] = mapped_column(Text)
    #: Derived from the tenant's visa rules (`center.tenants.visas`), never typed.
    visa_needed: Mapped[bool] = mapped_column(default=True)
    invitation_needed: Mapped[bool] = mapped_column(default=True)
    #: Estimated cost in minor units of the tenant's currency; the travel budget covers it.
    cost: Mapped[int] = mapped_column(BigInteger, default=0)

    proposal: Mapped[Proposal] = relationship(back_populates="trips")
    traveller: Mapped[TeamMember] = relationship()

    __table_args__ = (CheckConstraint("return_on >= depart_on", name="dates_in_order"),
                      CheckConstraint("cost >= 0", name="cost_not_negative"))


class BackgroundIP(TenantScoped, db.Model):
    """Intellectual property a party brings into the project."""

    __tablename__ = "background_ip"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    institute_id: Mapped[int] = tenant_fk("institutes.id", ondelete="RESTRICT")
    description: Mapped[str] = mapped_column(Text)
    restrictions: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship(back_populates="background_ip")
    institute: Mapped[Institute] = relationship()


class Attachment(TenantScoped, db.Model):
    """An uploaded file, kept in storage under ``storage_key`` with its sha256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")

    #: What the upload services changed in the file (active content taken out of a PDF),
    #: for the page that uploaded it; not stored (the audit event records it).
    upload_note = ""


class Collaborator(TenantScoped, db.Model):
    """A co-applicant invited by e-mail to edit the proposal with the lead applicant."""

    __tablename__ = "collaborators"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    email: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship(back_populates="collaborators")

    __table_args__ = (UniqueConstraint("proposal_id", "email"),)


class ProposalVersion(TenantScoped, db.Model):
    """An immutable snapshot made at each submission (v1, v2 ... after requested changes)."""

    __tablename__ = "proposal_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    number: Mapped[int] = mapped_column()
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    #: The declaration the submitter ticked, in the words shown to them.
    declaration: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("proposal_id", "number"),)
