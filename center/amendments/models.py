"""Change requests made during a project and the amendments that approved ones produce.

Status changes of a change request go through `center.amendments.services` (its
``TRANSITIONS`` table) and nowhere else. An amendment is a new numbered document beside the
agreement: the agreement's row and stored PDF are never touched.
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.agreements.models import Agreement
    from center.auth.models import User
    from center.proposals.models import Proposal


class ChangeKind(enum.StrEnum):
    redirection = "redirection"  #: move money between budget lines (or institutes)
    extension = "extension"  #: a later end date, no more money
    team_change = "team_change"  #: a change of team or partner

    @property
    def label(self) -> str:
        return str(CHANGE_KIND_LABELS[self])


CHANGE_KIND_LABELS = {
    ChangeKind.redirection: _l("Redirection of funds"),
    ChangeKind.extension: _l("No-cost extension"),
    ChangeKind.team_change: _l("Change of team or partner"),
}


class ChangeStatus(enum.StrEnum):
    submitted = "submitted"  #: with the programme officer
    donor_review = "donor_review"  #: forwarded to the funding donors' delegates
    approved = "approved"  #: an amendment was issued
    rejected = "rejected"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return str(CHANGE_STATUS_LABELS[self])


CHANGE_STATUS_LABELS = {
    ChangeStatus.submitted: _l("with the officer"),
    ChangeStatus.donor_review: _l("awaiting the donors"),
    ChangeStatus.approved: _l("approved"),
    ChangeStatus.rejected: _l("rejected"),
    ChangeStatus.withdrawn: _l("withdrawn"),
}
#: States in which nothing more happens to a request.
CLOSED_STATES = frozenset({ChangeStatus.approved, ChangeStatus.rejected, ChangeStatus.withdrawn})
_STATUS_VALUES = ", ".join(f"'{s}'" for s in ChangeStatus)
_KIND_VALUES = ", ".join(f"'{k}'" for k in ChangeKind)


class ChangeRequest(TenantScoped, Versioned, db.Model):
    """A request to change an active project. Status changes go through
    `center.amendments.services`.

    ``moves`` (redirection): ``[{"from_line_id", "to_line_id", "amount"}]`` in minor units.
    ``extra_days``: ``[{"member_id", "task_id", "days"}]`` working days granted beyond a
    task's plan (any kind may carry them). ``new_end_on`` (extension): the new end date.
    """

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    #: The issued agreement the request changes.
    agreement_id: Mapped[int] = tenant_fk("agreements.id", ondelete="RESTRICT", index=True)
    kind: Mapped[ChangeKind] = mapped_column(String(20))
    status: Mapped[ChangeStatus] = mapped_column(String(20), default=ChangeStatus.submitted)
    justification: Mapped[str] = mapped_column(Text)
    moves: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extra_days: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    new_end_on: Mapped[dt.date | None] = mapped_column()
    #: Whether every move stayed within the center's limit when the request was made.
    within_limit: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship()
    agreement: Mapped[Agreement] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    donor_decisions: Mapped[list[DonorDecision]] = relationship(
        back_populates="change", cascade="all, delete-orphan", order_by="DonorDecision.id")
    amendment: Mapped[Amendment | None] = relationship(back_populates="change")

    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="known_status"),
        CheckConstraint(f"kind IN ({_KIND_VALUES})", name="known_kind"),
        CheckConstraint("(status IN ('approved', 'rejected', 'withdrawn')) = "
                        "(decided_at IS NOT NULL)", name="decided_has_time"),
        CheckConstraint("kind <> 'extension' OR new_end_on IS NOT NULL",
                        name="extension_has_date"),
    )

    @property
    def kind_label(self) -> str:
        return ChangeKind(self.kind).label

    @property
    def status_label(self) -> str:
        return ChangeStatus(self.status).label


class DonorDecision(TenantScoped, db.Model):
    """One funding donor's answer to a forwarded change request, given by its delegate."""

    __tablename__ = "change_donor_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = tenant_fk("change_requests.id", ondelete="CASCADE", index=True)
    donor_id: Mapped[int] = tenant_fk("donors.id", ondelete="RESTRICT")
    approved: Mapped[bool] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    change: Mapped[ChangeRequest] = relationship(back_populates="donor_decisions")

    __table_args__ = (UniqueConstraint("change_id", "donor_id"),)


class Amendment(TenantScoped, db.Model):
    """Amendment No. n to an issued agreement: a stored PDF with its sha256, numbered per
    agreement (``ISTC-2026-0042-A1``). The agreement itself is left exactly as issued."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    agreement_id: Mapped[int] = tenant_fk("agreements.id", ondelete="RESTRICT", index=True)
    change_id: Mapped[int] = tenant_fk("change_requests.id", ondelete="RESTRICT", unique=True)
    number: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(String(80))
    pdf_key: Mapped[str] = mapped_column(String(500), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: [{"donor_id", "name"}]: the donors that acknowledge, as on the agreement.
    donor_shares: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    change: Mapped[ChangeRequest] = relationship(back_populates="amendment")
    agreement: Mapped[Agreement] = relationship()
    acknowledgements: Mapped[list[AmendmentAcknowledgement]] = relationship(
        back_populates="amendment", cascade="all, delete-orphan",
        order_by="AmendmentAcknowledgement.id")

    __table_args__ = (UniqueConstraint("agreement_id", "number"),
                      CheckConstraint("number >= 1", name="positive_number"))

    @property
    def filename(self) -> str:
        return f"{self.reference}.pdf"

    def acknowledgement_for(self, party: str, donor_id: int | None = None
                            ) -> AmendmentAcknowledgement | None:
        return next((a for a in self.acknowledgements
                     if a.party == party and a.donor_id == donor_id), None)

    @property
    def missing_parties(self) -> list[tuple[str, int | None]]:
        """The agreement's parties that have not acknowledged this amendment yet."""
        wanted: list[tuple[str, int | None]] = [("lead_institute", None)]
        wanted += [("donor", int(d["donor_id"])) for d in self.donor_shares]
        return [(p, d) for p, d in wanted if self.acknowledgement_for(p, d) is None]


class AmendmentAcknowledgement(TenantScoped, db.Model):
    """A party's acknowledgement of an amendment, by the hash of the PDF it was shown."""

    __tablename__ = "amendment_acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = tenant_fk("amendments.id", ondelete="CASCADE", index=True)
    party: Mapped[str] = mapped_column(String(20))
    donor_id: Mapped[int | None] = tenant_fk("donors.id", ondelete="RESTRICT")
    typed_name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))

    amendment: Mapped[Amendment] = relationship(back_populates="acknowledgements")

    __table_args__ = (
        CheckConstraint("party IN ('lead_institute', 'donor')", name="known_party"),
        CheckConstraint("(party = 'donor') = (donor_id IS NOT NULL)", name="donor_party_has_donor"),
        Index("uq_amendment_acknowledgements_lead", "amendment_id", unique=True,
              sqlite_where=text("party = 'lead_institute'"),
              postgresql_where=text("party = 'lead_institute'")),
        Index("uq_amendment_acknowledgements_donor", "amendment_id", "donor_id", unique=True,
              sqlite_where=text("party = 'donor'"), postgresql_where=text("party = 'donor'")),
    )
