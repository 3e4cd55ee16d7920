"""Clause templates, agreement versions, acknowledgements and visa invitation letters.

Status changes of an agreement go through `center.agreements.services`; the proposal's own
status moves with them through `center.proposals.workflow` (``issue_agreement``,
``activate``).
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
    from center.auth.models import User
    from center.proposals.models import Proposal, Trip
    from center.tenants.models import Donor


class ClauseTemplate(TenantScoped, db.Model):
    """One version of a tenant's wording of one clause; the highest number is in force.

    Rows are never changed: an edit adds the next version, so an agreement can always say
    which wording it was issued under. A clause with no row uses the code default
    (`center.agreements.clauses`), recorded as version 0.
    """

    __tablename__ = "clause_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    #: Plain text with ``{placeholders}``; see `center.agreements.clauses.fill`.
    body: Mapped[str] = mapped_column(Text)
    #: The clause's numeric terms (payment schedule, per-diem ...), if it has any.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("tenant_id", "key", "number"),
        CheckConstraint("number >= 1", name="positive_number"),
    )


class AgreementStatus(enum.StrEnum):
    draft = "draft"  #: generated, may still be replaced
    issued = "issued"  #: frozen and sent to the parties
    superseded = "superseded"  #: replaced by a later version, kept for the record

    @property
    def label(self) -> str:
        return str(AGREEMENT_STATUS_LABELS[self])


AGREEMENT_STATUS_LABELS = {AgreementStatus.draft: _l("draft"),
                           AgreementStatus.issued: _l("issued"),
                           AgreementStatus.superseded: _l("superseded")}


_STATUS_VALUES = ", ".join(f"'{s}'" for s in AgreementStatus)


class Agreement(TenantScoped, Versioned, db.Model):
    """One version (v1, v2 ...) of the agreement of a proposal, with its stored PDF.

    The PDF is rendered once, when the version is generated; issuing freezes those exact
    bytes, identified by ``sha256``. Status changes go through `center.agreements.services`;
    two administrators issuing or superseding the same version at once collide on
    ``version`` instead of both succeeding.
    """

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    number: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(String(60))
    status: Mapped[AgreementStatus] = mapped_column(String(12), default=AgreementStatus.draft)
    pdf_key: Mapped[str] = mapped_column(String(500), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: {clause key: version number used}, 0 for the code default.
    clause_versions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: [{"donor_id", "name", "short_name", "amount"}] in minor units, from the budget splits.
    donor_shares: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: [{"percent", "condition", "amounts": {donor_id: minor units}, "total"}].
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    generated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    countersigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    countersigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    countersigned_name: Mapped[str] = mapped_column(String(200), default="")

    proposal: Mapped[Proposal] = relationship()
    generated_by: Mapped[User | None] = relationship(foreign_keys=[generated_by_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    countersigned_by: Mapped[User | None] = relationship(foreign_keys=[countersigned_by_id])
    acknowledgements: Mapped[list[Acknowledgement]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="Acknowledgement.id")
    letters: Mapped[list[InvitationLetter]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="InvitationLetter.id")

    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="known_status"),
        CheckConstraint("status <> 'issued' OR issued_at IS NOT NULL", name="issued_has_time"),
        CheckConstraint("(status = 'superseded') = (superseded_at IS NOT NULL)",
                        name="superseded_has_time"),
        CheckConstraint("countersigned_at IS NULL OR (status = 'issued' AND "
                        "countersigned_name <> '')", name="countersigned_when_issued"),
        # At most one draft and one issued version per proposal at any time.
        Index("uq_agreements_one_draft", "proposal_id", unique=True,
              sqlite_where=text("status = 'draft'"), postgresql_where=text("status = 'draft'")),
        Index("uq_agreements_one_issued", "proposal_id", unique=True,
              sqlite_where=text("status = 'issued'"),
              postgresql_where=text("status = 'issued'")),
    )

    @property
    def label(self) -> str:
        return f"{self.reference} v{self.number}"

    @property
    def filename(self) -> str:
        return f"{self.reference}-v{self.number}.pdf"

    @property
    def donor_ids(self) -> list[int]:
        """The donors with a share, each of which must acknowledge."""
        return [int(s["donor_id"]) for s in self.donor_shares if s["amount"] > 0]

    def acknowledgement_for(self, party: str, donor_id: int | None = None
                            ) -> Acknowledgement | None:
        return next((a for a in self.acknowledgements
                     if a.party == party and a.donor_id == donor_id), None)

    @property
    def missing_parties(self) -> list[tuple[str, int | None]]:
        """The parties that have not acknowledged yet: ("lead_institute", None), ("donor", id)."""
        wanted: list[tuple[str, int | None]] = [(Party.lead_institute, None)]
        wanted += [(Party.donor, d) for d in self.donor_ids]
        return [(p, d) for p, d in wanted if self.acknowledgement_for(p, d) is None]


class Party(enum.StrEnum):
    lead_institute = "lead_institute"
    donor = "donor"

    @property
    def label(self) -> str:
        return str(PARTY_LABELS[self])


PARTY_LABELS = {Party.lead_institute: _l("Lead institute"), Party.donor: _l("Donor")}


class Acknowledgement(TenantScoped, db.Model):
    """A party's acknowledgement of one issued agreement: the name its signatory typed, when,
    who, and the sha256 of the PDF they were shown (always equal to the agreement's)."""

    __tablename__ = "agreement_acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = tenant_fk("agreements.id", ondelete="CASCADE", index=True)
    party: Mapped[Party] = mapped_column(String(20))
    donor_id: Mapped[int | None] = tenant_fk("donors.id", ondelete="RESTRICT")
    typed_name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))

    agreement: Mapped[Agreement] = relationship(back_populates="acknowledgements")
    user: Mapped[User] = relationship()
    donor: Mapped[Donor | None] = relationship()

    __table_args__ = (
        CheckConstraint("party IN ('lead_institute', 'donor')", name="known_party"),
        CheckConstraint("(party = 'donor') = (donor_id IS NOT NULL)", name="donor_party_has_donor"),
        CheckConstraint("typed_name <> ''", name="typed_name_given"),
        Index("uq_agreement_acknowledgements_lead", "agreement_id", unique=True,
              sqlite_where=text("party = 'lead_institute'"),
              postgresql_where=text("party = 'lead_institute'")),
        Index("uq_agreement_acknowledgements_donor", "agreement_id", "donor_id", unique=True,
              sqlite_where=text("party = 'donor'"), postgresql_where=text("party = 'donor'")),
    )


class InvitationLetter(TenantScoped, db.Model):
    """The visa invitation letter for one trip, rendered with one agreement version."""

    __tablename__ = "invitation_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = tenant_fk("agreements.id", ondelete="CASCADE", index=True)
    trip_id: Mapped[int] = tenant_fk("trips.id", ondelete="CASCADE")
    reference: Mapped[str] = mapped_column(String(80))
    traveller_name: Mapped[str] = mapped_column(String(200))
    pdf_key: Mapped[str] = mapped_column(String(500), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)

    agreement: Mapped[Agreement] = relationship(back_populates="letters")
    trip: Mapped[Trip] = relationship()

    __table_args__ = (UniqueConstraint("agreement_id", "trip_id"),)

    @property
    def filename(self) -> str:
        return f"{self.reference.replace('/', '-')}.pdf"
