"""Fingerprints of every proposal and funded project, the matches found between them, and
the links through which two centers compare fingerprints without sharing text."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk

if TYPE_CHECKING:
    from center.proposals.models import Proposal


class FundedProject(TenantScoped, db.Model):
    """A project already funded (by this center or known to it), imported from CSV."""

    __tablename__ = "funded_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(5), default="en")
    donor: Mapped[str] = mapped_column(String(200), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    lead_institute: Mapped[str] = mapped_column(String(300), default="")
    pi_name: Mapped[str] = mapped_column(String(200), default="")
    start_year: Mapped[int | None] = mapped_column()
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("tenant_id", "reference"),)


class DocumentFingerprint(TenantScoped, db.Model):
    """The stored fingerprint of one document, the source of every index.

    ``doc_key`` is ``p:<proposal id>`` or ``f:<funded project id>``. ``seq`` is the tenant's
    change sequence (`DedupSequence`): a replaced fingerprint is a new row with a higher
    number, so an index catches up by reading the rows after the last number it saw.
    """

    __tablename__ = "document_fingerprints"
    tenant_id_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_key: Mapped[str] = mapped_column(String(30))
    proposal_id: Mapped[int | None] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    project_id: Mapped[int | None] = tenant_fk("funded_projects.id", ondelete="CASCADE", index=True)
    lang: Mapped[str] = mapped_column(String(5))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    #: The MinHash signature (little-endian 32-bit values), also inside ``blob``: a check
    #: compares the signatures of its LSH candidates and reads the whole fingerprints
    #: (tens of kilobytes each, with passage vectors) only of those it keeps.
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("tenant_id", "doc_key"),
        Index("ix_document_fingerprints_tenant_seq", "tenant_id", "seq"),
        CheckConstraint("(proposal_id IS NULL) <> (project_id IS NULL)", name="one_source"),
    )


class DedupSequence(TenantScoped, db.Model):
    """The last change number given to a tenant's fingerprints.

    Taking the next number locks this row until the transaction ends, so numbers become
    visible in the order they were given: a reader never skips one committed later.
    """

    __tablename__ = "dedup_sequences"
    tenant_id_indexed = False

    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (PrimaryKeyConstraint("tenant_id"),)


class LshBucket(TenantScoped, db.Model):
    """One MinHash-LSH band of a stored fingerprint: documents sharing a bucket of any band
    are candidates of each other. Rows go with their fingerprint."""

    __tablename__ = "dedup_lsh_buckets"
    tenant_id_indexed = False

    fingerprint_id: Mapped[int] = tenant_fk("document_fingerprints.id", ondelete="CASCADE")
    band: Mapped[int] = mapped_column(SmallInteger)
    #: 64-bit hash of the band number and the band's signature values.
    bucket: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        PrimaryKeyConstraint("fingerprint_id", "band"),
        # With the document: a check counts a bucket's documents from the index alone.
        Index("ix_dedup_lsh_buckets_tenant_bucket", "tenant_id", "bucket", "fingerprint_id"),
    )


class ShingleCount(TenantScoped, db.Model):
    """How many of a tenant's stored fingerprints contain a word n-gram (its document
    frequency), kept up to date as fingerprints are stored and replaced."""

    __tablename__ = "dedup_shingle_counts"
    tenant_id_indexed = False

    #: The n-gram's 64-bit hash, stored as a signed integer.
    shingle: Mapped[int] = mapped_column(BigInteger)
    docs: Mapped[int] = mapped_column(default=0)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "shingle"),)


class MatchStatus(enum.StrEnum):
    open = "open"
    cleared = "cleared"  #: not the same work
    complementary = "complementary"  #: related work: coordinate the teams
    duplicate = "duplicate"  #: the same work: reject or merge

    @property
    def label(self) -> str:
        return str(MATCH_STATUS_LABELS[self])


MATCH_STATUS_LABELS = {
    MatchStatus.open: _l("open"),
    MatchStatus.cleared: _l("cleared: not the same work"),
    MatchStatus.complementary: _l("complementary: coordinate the teams"),
    MatchStatus.duplicate: _l("duplicate: the same work"),
}

#: How a match was found (`SimilarityMatch.method`), with its label.
METHOD_LABELS = {
    "lexical": _l("shared wording"),
    "semantic": _l("same meaning"),
    "cross-lingual": _l("same meaning across languages"),
}


class SimilarityMatch(TenantScoped, Versioned, db.Model):
    """A proposal whose content overlaps another proposal or a funded project."""

    __tablename__ = "similarity_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    other_key: Mapped[str] = mapped_column(String(30))
    other_proposal_id: Mapped[int | None] = tenant_fk("proposals.id", ondelete="CASCADE",
                                                      index=True)
    project_id: Mapped[int | None] = tenant_fk("funded_projects.id", ondelete="CASCADE", index=True)
    score: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The two lead institutes are in different partner countries.
    cross_country: Mapped[bool] = mapped_column(default=False)
    #: The same principal investigator (a re-submission).
    same_pi: Mapped[bool] = mapped_column(default=False)
    status: Mapped[MatchStatus] = mapped_column(String(20), default=MatchStatus.open)
    comment: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    proposal: Mapped[Proposal] = relationship(foreign_keys=[proposal_id])
    other_proposal: Mapped[Proposal | None] = relationship(foreign_keys=[other_proposal_id])
    project: Mapped[FundedProject | None] = relationship()

    __table_args__ = (
        UniqueConstraint("proposal_id", "other_key"),
        CheckConstraint("status IN ('open', 'cleared', 'complementary', 'duplicate')",
                        name="known_status"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_has_time"),
    )


class CoordinationLink(db.Model):
    """Two centers that agreed to compare fingerprints (never text) of their proposals.

    Active once each side's administrator has opted in.
    """

    __tenant_scope__ = "global: a link between two tenants belongs to neither alone"
    __tablename__ = "coordination_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_a_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tenant_b_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    a_consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    b_consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("tenant_a_id", "tenant_b_id"),
        CheckConstraint("tenant_a_id < tenant_b_id", name="ordered_pair"),
    )

    @property
    def active(self) -> bool:
        return self.a_consented_at is not None and self.b_consented_at is not None


class ExternalOverlap(TenantScoped, db.Model):
    """A proposal that overlaps one in a linked center: what the officer may know of it."""

    __tablename__ = "external_overlaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = tenant_fk("proposals.id", ondelete="CASCADE", index=True)
    partner_tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    partner_doc_key: Mapped[str] = mapped_column(String(30))
    partner_center: Mapped[str] = mapped_column(String(200))
    partner_call: Mapped[str] = mapped_column(String(300))
    partner_submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    partner_contact: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Float)
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("proposal_id", "partner_tenant_id", "partner_doc_key"),)
