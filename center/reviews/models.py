"""Donor review and funding: reviewer profiles, a call's review round, assignments with their
conflict-of-interest declarations, reviews, the panel's consensus, and donors' funding
commitments.

Proposal status changes go through `center.proposals.workflow`; the reviews module attaches
its guards and effects there (`center.reviews.services`, `center.reviews.funding`).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.auth.models import User
    from center.calls.models import Call
    from center.proposals.models import Proposal
    from center.tenants.models import Donor, Institute


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member}'" for member in enum_cls)


class NationalityRule(enum.StrEnum):
    """Whether a reviewer's nationality can exclude them from a proposal."""

    none = "none"
    #: A reviewer may not review a proposal with an institute from their own country.
    not_consortium_country = "not_consortium_country"

    @property
    def label(self) -> str:
        return str(NATIONALITY_RULE_LABELS[self])


NATIONALITY_RULE_LABELS = {
    NationalityRule.none: _l("No nationality rule"),
    NationalityRule.not_consortium_country: _l(
        "Reviewers may not review proposals with an institute from their own country"),
}


class ReviewPhase(enum.StrEnum):
    """What reviewers of a call see of each other's reviews."""

    independent = "independent"  #: each reviewer sees only their own review
    discussion = "discussion"  #: a reviewer who submitted sees the other submitted reviews
    closed = "closed"  #: as in discussion, and no review can be saved any more

    @property
    def label(self) -> str:
        return str(REVIEW_PHASE_LABELS[self])


REVIEW_PHASE_LABELS = {
    ReviewPhase.independent: _l("Independent: reviewers see only their own review"),
    ReviewPhase.discussion: _l("Discussion: once they submitted, reviewers see the other "
                               "reviews of the proposal"),
    ReviewPhase.closed: _l("Closed: reviews are read-only"),
}


class ReviewRound(TenantScoped, Versioned, db.Model):
    """How one call is reviewed: reviewers per proposal, load cap, conflict rule, phase, due
    date. A call without a saved round uses the defaults below."""

    __tablename__ = "review_rounds"

    #: Defaults of a round no officer has saved yet.
    DEFAULTS = {"reviewers_per_proposal": 3, "max_per_reviewer": 6,
                "nationality_rule": NationalityRule.none, "phase": ReviewPhase.independent,
                "due_at": None, "remind_days_before": 3}

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = tenant_fk("calls.id", ondelete="CASCADE", unique=True)
    reviewers_per_proposal: Mapped[int] = mapped_column(default=3)
    #: No reviewer gets more proposals of this call than this (nor than their own limit).
    max_per_reviewer: Mapped[int] = mapped_column(default=6)
    nationality_rule: Mapped[NationalityRule] = mapped_column(String(30),
                                                              default=NationalityRule.none)
    phase: Mapped[ReviewPhase] = mapped_column(String(20), default=ReviewPhase.independent)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Reviewers with an open review are reminded this many days before it is due (0: only
    #: once it is overdue).
    remind_days_before: Mapped[int] = mapped_column(default=3, server_default="3")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship()

    __table_args__ = (
        CheckConstraint("reviewers_per_proposal BETWEEN 1 AND 10", name="reviewers_per_proposal"),
        CheckConstraint("max_per_reviewer BETWEEN 1 AND 100", name="max_per_reviewer"),
        CheckConstraint(f"nationality_rule IN ({_values(NationalityRule)})",
                        name="known_nationality_rule"),
        CheckConstraint(f"phase IN ({_values(ReviewPhase)})", name="known_phase"),
        CheckConstraint("remind_days_before BETWEEN 0 AND 60", name="remind_days_before"),
    )


class ReviewerProfile(TenantScoped, Versioned, db.Model):
    """What a reviewer knows and who they work with, kept by the reviewer."""

    __tablename__ = "reviewer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: Fields of expertise, as keywords or short phrases.
    expertise: Mapped[str] = mapped_column(Text, default="")
    institute_id: Mapped[int | None] = tenant_fk("institutes.id", ondelete="SET NULL")
    nationality: Mapped[str | None] = mapped_column(String(2))
    #: People the reviewer works with (one name per line): their proposals are conflicts.
    collaborators: Mapped[str] = mapped_column(Text, default="")
    #: Most proposals the reviewer takes in one call; 0 means not available for reviewing.
    max_load: Mapped[int] = mapped_column(default=6)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    institute: Mapped[Institute | None] = relationship()

    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint("max_load BETWEEN 0 AND 100", name="max_load"),
    )

    @property
    def collaborator_names(self) -> list[str]:
        return [" ".join(line.split()) for line in (self.collaborators or "").splitlines()
                if line.strip()]


class AssignmentStatus(enum.StrEnum):
    pending = "pending"  #: the reviewer has not declared whether they have a conflict
    accepted = "accepted"  #: no conflict declared: the reviewer reviews the proposal
    conflict = "conflict"  #: the reviewer declared a conflict; the assignment no longer counts

    @property
    def label(self) -> str:
        return str(ASSIGNMENT_STATUS_LABELS[self])


ASSIGNMENT_STATUS_LABELS = {
    AssignmentStatus.pending: _l("conflict declaration awaited"),
    AssignmentStatus.accepted: _l("reviewing"),
    AssignmentStatus.conflict: _l("conflict of interest declared"),
}


class Assignment(TenantScoped, Versioned, db.Model):
    """A reviewer, acting for one donor, asked to review one proposal."""

    __tablename__ = "review_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                             index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    status: Mapped[AssignmentStatus] = mapped_column(String(10),
                                                     default=AssignmentStatus.pending)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    declared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    conflict_reason: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    donor: Mapped[Donor] = relationship()
    review: Mapped[Review | None] = relationship(back_populates="assignment",
                                                 cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("proposal_id", "reviewer_id"),
        CheckConstraint(f"status IN ({_values(AssignmentStatus)})", name="known_status"),
        CheckConstraint("(status = 'pending') = (declared_at IS NULL)", name="declared_has_time"),
        CheckConstraint("(status <> 'conflict') OR (conflict_reason <> '')",
                        name="conflict_has_reason"),
    )

    @property
    def is_active(self) -> bool:
        """Counts towards the proposal's reviewers and the reviewer's load."""
        return self.status != AssignmentStatus.conflict

    @property
    def submitted(self) -> bool:
        return self.review is not None and self.review.status == ReviewStatus.submitted


class ReminderKind(enum.StrEnum):
    before = "before"  #: the review is due within the round's reminder days
    overdue = "overdue"  #: the due date has passed


class ReviewReminder(TenantScoped, db.Model):
    """A reminder e-mailed to a reviewer: one of each kind per assignment and due date.

    The unique constraint is what makes ``reviews remind`` safe to run twice, even at once:
    the second run cannot record, and so cannot send, the same reminder again. A new due
    date earns new reminders.
    """

    __tablename__ = "review_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = tenant_fk("review_assignments.id", ondelete="CASCADE", index=True)
    kind: Mapped[ReminderKind] = mapped_column(String(10))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("assignment_id", "kind", "due_at"),
        CheckConstraint(f"kind IN ({_values(ReminderKind)})", name="known_kind"),
    )


class ReviewStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"  #: read-only unless an officer reopens it

    @property
    def label(self) -> str:
        return str(REVIEW_STATUS_LABELS[self])


REVIEW_STATUS_LABELS = {ReviewStatus.draft: _l("draft review"),
                        ReviewStatus.submitted: _l("review submitted")}


class Review(TenantScoped, Versioned, db.Model):
    """A reviewer's scores on the call's rubric and their comments."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = tenant_fk("review_assignments.id", ondelete="CASCADE", unique=True)
    #: {criterion name: score from 1 to the criterion's scale}
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: Shown to the applicants once the panel decided, without the reviewer's name.
    comments_to_applicants: Mapped[str] = mapped_column(Text, default="")
    #: Read by the panel (officers and fellow reviewers) only.
    confidential_comments: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ReviewStatus] = mapped_column(String(10), default=ReviewStatus.draft)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopen_reason: Mapped[str] = mapped_column(Text, default="")

    assignment: Mapped[Assignment] = relationship(back_populates="review")

    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ReviewStatus)})", name="known_status"),
        CheckConstraint("(status = 'submitted') = (submitted_at IS NOT NULL)",
                        name="submitted_has_time"),
    )


class PanelEntry(TenantScoped, Versioned, db.Model):
    """The panel's work on one proposal: its rapporteur and their consensus summary."""

    __tablename__ = "panel_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", unique=True)
    rapporteur_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    #: Shown to the applicants with the decision.
    consensus: Mapped[str] = mapped_column(Text, default="")
    consensus_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    rapporteur: Mapped[User | None] = relationship()


class DonorDelegate(TenantScoped, db.Model):
    """A donor's reviewer whom the center lets commit money for that donor.

    Funding is a donor's decision, not every reviewer's: an officer or administrator names
    the reviewers (memberships with role reviewer and this donor) who speak for the donor's
    money. A partner company's delegate is a reviewer member for that partner donor.
    """

    __tablename__ = "donor_delegates"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="CASCADE")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    donor: Mapped[Donor] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("donor_id", "user_id"),)


class ProposalFunding(TenantScoped, Versioned, db.Model):
    """The running total of commitments to one recommended proposal.

    Every commitment updates this row under a row lock (PostgreSQL) and its version
    (everywhere), so two donors committing at once cannot both pass the budget; the CHECK
    makes over-commitment impossible even for code that forgets.
    """

    __tablename__ = "proposal_funding"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", unique=True)
    budget: Mapped[int] = mapped_column(BigInteger)
    committed: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the funded split (`FundedSplit`) was fixed: kept from the asked split at
    #: approval, or confirmed by an officer where the commitments differ from it.
    split_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The officer who confirmed a re-split; None when the asked split was kept as it was.
    split_confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    proposal: Mapped[Proposal] = relationship()
    split_confirmed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("budget > 0", name="positive_budget"),
        CheckConstraint("committed BETWEEN 0 AND budget", name="not_over_committed"),
        CheckConstraint("split_confirmed_at IS NULL OR approved_at IS NOT NULL",
                        name="split_confirmed_when_approved"),
    )

    @property
    def needed(self) -> int:
        return self.budget - self.committed


class DonorBudget(TenantScoped, Versioned, db.Model):
    """What one donor has committed in one call so far, held against its offer."""

    __tablename__ = "donor_budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = tenant_fk("calls.id", ondelete="CASCADE")
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="CASCADE")
    committed: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("call_id", "donor_id"),
        CheckConstraint("committed >= 0", name="committed_not_negative"),
    )


class FundingCommitment(TenantScoped, db.Model):
    """The amount one donor commits to one proposal; at approval these rows are the split
    the agreement uses."""

    __tablename__ = "funding_commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    amount: Mapped[int] = mapped_column(BigInteger)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                   ondelete="SET NULL"))
    committed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    donor: Mapped[Donor] = relationship()
    committed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("proposal_id", "donor_id"),
        CheckConstraint("amount > 0", name="positive_amount"),
    )


class FundedSplit(TenantScoped, db.Model):
    """The part of one budget line one donor funds, as the agreement states it.

    Written from the donors' commitments once the proposal is approved
    (`center.reviews.funded_split`): each donor's rows add up to its commitment and each
    line's rows to the line's amount. A donor that committed nothing has no row.
    """

    __tablename__ = "funded_splits"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    line_id: Mapped[int] = tenant_fk("budget_lines.id", ondelete="CASCADE")
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    amount: Mapped[int] = mapped_column(BigInteger)

    donor: Mapped[Donor] = relationship()

    __table_args__ = (
        UniqueConstraint("line_id", "donor_id"),
        CheckConstraint("amount > 0", name="positive_amount"),
    )


def weighted_score(scores: dict[str, Any], rubric: list[dict[str, Any]]) -> float | None:
    """Return a review's score on 0–100: each criterion's score over its scale, weighted.

    None while a criterion of the rubric has no score.
    """
    total_weight = sum(int(c["weight"]) for c in rubric)
    if not rubric or not total_weight:
        return None
    points = 0.0
    for criterion in rubric:
        score = scores.get(criterion["name"])
        if score is None:
            return None
        points += int(criterion["weight"]) * int(score) / int(criterion["scale"])
    return round(100 * points / total_weight, 2)
