"""Tenants (science centers), memberships and roles, countries, institutes and donors."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from center.core import clock
from center.core.db import TenantScoped, UTCDateTime, Versioned, db, tenant_fk
from center.core.identifiers import ror_url
from center.core.labels import humanize

if TYPE_CHECKING:
    from center.auth.models import User


def _enum_label(enum_type: type[enum.StrEnum], value: str) -> str:
    """The label of a stored value of ``enum_type`` (its ``label``), spelled out if unknown."""
    try:
        return enum_type(value).label  # type: ignore[attr-defined]
    except ValueError:
        return humanize(value)


class Role(enum.StrEnum):
    """What a member may do in one tenant."""

    applicant = "applicant"
    reviewer = "reviewer"  #: acts for one donor
    officer = "officer"
    admin = "admin"
    concurrence = "concurrence"  #: a partner country's government official
    signatory = "signatory"  #: signs agreements for one institute

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.applicant: _l("Applicant"),
    Role.reviewer: _l("Donor reviewer"),
    Role.officer: _l("Programme officer"),
    Role.admin: _l("Administrator"),
    Role.concurrence: _l("Government concurrence official"),
    Role.signatory: _l("Authorised signatory of an institute"),
}

#: Per-tenant options and their defaults; a tenant stores only what it changes.
TENANT_SETTING_DEFAULTS: dict[str, Any] = {
    "concurrence_deadline_days": 60,
    "negative_concurrence": False,
    "effort_limit_days_per_year": 220,
    "sensitive_keywords": ["dual-use", "CBRN", "enrichment", "pathogen enhancement",
                           "missile", "explosive"],
    "overhead_cap_percent": 15,
    #: A redirection moving at most this share of each source budget line (as agreed) may
    #: be approved by the programme officer alone; more needs the funding donors' approval.
    "redirection_limit_percent": 10,
    #: Where the sanctions list is fetched from on a schedule (center/screening/list_sources):
    #: {"urls": [...], "label": "..."}, and how the last fetch went.
    "sanctions_source": None,
    "sanctions_source_last": None,
}


class Tenant(db.Model):
    """A science center hosted on the portal; everything else belongs to one."""

    __tenant_scope__ = "global: the tenant table itself"
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    contact_email: Mapped[str] = mapped_column(String(255), default="")
    #: The language agreements, invitation letters and the other documents the center
    #: issues are written in (one of `LEGAL_LANGUAGES`), whoever clicks to print them.
    legal_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    #: Whether agreements and invitation letters carry English beside `legal_language`:
    #: consulates and ministries often ask for both.
    bilingual_documents: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("slug <> ''", name="slug_not_empty"),
                      CheckConstraint("legal_language IN ('en', 'ko', 'ru')",
                                      name="legal_language_known"))

    @property
    def documents_bilingual(self) -> bool:
        """Whether agreements and letters print English beside the legal language."""
        return bool(self.bilingual_documents) and self.legal_language != "en"

    def setting(self, key: str) -> Any:
        """Return this tenant's value for ``key``, or the code default."""
        if key not in TENANT_SETTING_DEFAULTS:
            raise KeyError(f"unknown tenant setting {key!r}")
        return (self.settings or {}).get(key, TENANT_SETTING_DEFAULTS[key])


class Membership(TenantScoped, db.Model):
    """A user's role in one tenant; reviewers act for a donor, officials for a country."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(String(20))
    donor_id: Mapped[int | None] = tenant_fk("donors.id", ondelete="CASCADE")
    country_code: Mapped[str | None] = mapped_column(String(2))
    institute_id: Mapped[int | None] = tenant_fk("institutes.id", ondelete="CASCADE", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="memberships")
    donor: Mapped[Donor | None] = relationship(back_populates="memberships")
    institute: Mapped[Institute | None] = relationship()

    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "role"),
        CheckConstraint(
            "role IN ('applicant', 'reviewer', 'officer', 'admin', 'concurrence', 'signatory')",
            name="known_role",
        ),
        CheckConstraint("(role = 'signatory') = (institute_id IS NOT NULL)",
                        name="signatory_has_institute"),
        CheckConstraint("(role = 'reviewer') = (donor_id IS NOT NULL)", name="reviewer_has_donor"),
        CheckConstraint(
            "(role = 'concurrence') = (country_code IS NOT NULL)", name="official_has_country"
        ),
    )

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def acts_for(self) -> str:
        """The donor, country or institute the role is for, as a reader names it."""
        if self.donor is not None:
            return self.donor.name
        if self.country_code:
            return country_name(self.country_code)
        if self.institute is not None:
            return self.institute.name
        return ""


def country_name(code: str) -> str:
    """Return the country's name in the interface language."""
    try:
        locale = get_locale() or Locale("en")
    except RuntimeError:  # outside a request
        locale = Locale("en")
    return locale.territories.get(code.upper(), code.upper())


class Country(TenantScoped, db.Model):
    """An ISO 3166 country the tenant works with: a partner country or a donor country."""

    __tablename__ = "countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2))
    #: Applicants from partner countries may apply; their governments concur.
    is_partner: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("length(code) = 2", name="iso_alpha2"),
    )

    @property
    def name(self) -> str:
        return country_name(self.code)


class InstituteKind(enum.StrEnum):
    institute = "institute"
    university = "university"
    company = "company"
    ministry_lab = "ministry_lab"

    @property
    def label(self) -> str:
        return str(INSTITUTE_KIND_LABELS[self])


INSTITUTE_KIND_LABELS = {
    InstituteKind.institute: _l("Research institute"),
    InstituteKind.university: _l("University"),
    InstituteKind.company: _l("Company"),
    InstituteKind.ministry_lab: _l("Ministry laboratory"),
}


class Institute(TenantScoped, db.Model):
    """A research organisation in a country; proposals are made by consortia of these."""

    __tablename__ = "institutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    #: The name in the institute's own script (Cyrillic, Hangul ...), if different.
    local_name: Mapped[str] = mapped_column(String(300), default="")
    country_code: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[InstituteKind] = mapped_column(String(20), default=InstituteKind.institute)
    #: Institutes proposed by applicants wait for an officer to confirm them.
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Its ROR id in canonical form (`center.core.identifiers.parse_ror`), if known; when two
    #: records both carry one, it decides whether they are the same institute.
    ror_id: Mapped[str | None] = mapped_column(String(9))

    __table_args__ = (UniqueConstraint("tenant_id", "name", "country_code"),
                      UniqueConstraint("tenant_id", "ror_id"))

    @property
    def country_name(self) -> str:
        return country_name(self.country_code)

    @property
    def kind_label(self) -> str:
        return _enum_label(InstituteKind, self.kind)

    @property
    def ror_url(self) -> str:
        return ror_url(self.ror_id) if self.ror_id else ""


class DonorKind(enum.StrEnum):
    government = "government"
    organisation = "organisation"
    foundation = "foundation"
    partner = "partner"  #: a company or agency funding as an ISTC "Partner"

    @property
    def label(self) -> str:
        return str(DONOR_KIND_LABELS[self])


DONOR_KIND_LABELS = {
    DonorKind.government: _l("Government"),
    DonorKind.organisation: _l("Organisation"),
    DonorKind.foundation: _l("Foundation"),
    DonorKind.partner: _l("Partner (company or agency)"),
}


class Donor(TenantScoped, db.Model):
    """A funding party: a government, an organisation, a foundation or a company partner."""

    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(20))
    kind: Mapped[DonorKind] = mapped_column(String(20), default=DonorKind.government)
    country_code: Mapped[str | None] = mapped_column(String(2))
    contact_email: Mapped[str] = mapped_column(String(255), default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="donor")

    __table_args__ = (UniqueConstraint("tenant_id", "short_name"),)

    @property
    def kind_label(self) -> str:
        return _enum_label(DonorKind, self.kind)


class VisaRegimeKind(enum.StrEnum):
    #: Citizens of every member travel to every other member without a visa.
    bloc = "bloc"
    #: The destinations let the listed nationalities in without a visa (one-sided).
    waiver = "waiver"

    @property
    def label(self) -> str:
        return str(VISA_REGIME_KIND_LABELS[self])


VISA_REGIME_KIND_LABELS = {
    VisaRegimeKind.bloc: _l("Bloc: visa-free among its members"),
    VisaRegimeKind.waiver: _l("Waiver: listed nationalities enter the destinations visa-free"),
}


class VisaRegime(TenantScoped, Versioned, db.Model):
    """A visa-free regime: a bloc (EAEU, Schengen ...) or a waiver (Korea's visa-free entry).

    A regime never requires a visa; a pair rule (`VisaRule`) overrides it for one pair.
    The precedence lives in `center.tenants.visas.visa_needs`.
    """

    __tablename__ = "visa_regimes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[VisaRegimeKind] = mapped_column(String(10), default=VisaRegimeKind.bloc)
    #: Whether a trip under this regime still needs an invitation letter (rarely).
    invitation_required: Mapped[bool] = mapped_column(default=False)
    #: The citation: treaty or ministry page title (never a link to fetch).
    source: Mapped[str] = mapped_column(String(500), default="")
    source_date: Mapped[dt.date | None] = mapped_column()

    countries: Mapped[list[VisaRegimeCountry]] = relationship(
        back_populates="regime", cascade="all, delete-orphan", order_by="VisaRegimeCountry.code")

    __table_args__ = (UniqueConstraint("tenant_id", "name"),
                      CheckConstraint("kind IN ('bloc', 'waiver')", name="known_regime_kind"))

    def codes(self, side: str) -> list[str]:
        return [c.code for c in self.countries if c.side == side]

    def covers(self, citizenship: str, destination: str) -> bool:
        """Whether a citizen of ``citizenship`` travels to ``destination`` under this regime."""
        if self.kind == VisaRegimeKind.bloc:
            members = set(self.codes("member"))
            return citizenship in members and destination in members
        return (citizenship in self.codes("nationality")
                and destination in self.codes("destination"))


class VisaRegimeCountry(TenantScoped, db.Model):
    """A country of a regime: a bloc's member, or a waiver's destination or nationality."""

    __tablename__ = "visa_regime_countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    regime_id: Mapped[int] = tenant_fk("visa_regimes.id", ondelete="CASCADE", index=True)
    code: Mapped[str] = mapped_column(String(2))
    side: Mapped[str] = mapped_column(String(12), default="member")

    regime: Mapped[VisaRegime] = relationship(back_populates="countries")

    __table_args__ = (
        UniqueConstraint("regime_id", "side", "code"),
        CheckConstraint("side IN ('member', 'destination', 'nationality')",
                        name="known_regime_side"),
    )


class VisaRule(TenantScoped, db.Model):
    """Whether a citizen of one country needs a visa / invitation letter to travel to another.

    A pair rule overrides any regime; a pair no rule or regime covers means "visa and
    invitation needed", the cautious default for planning.
    """

    __tablename__ = "visa_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizenship: Mapped[str] = mapped_column(String(2))
    destination: Mapped[str] = mapped_column(String(2))
    visa_required: Mapped[bool] = mapped_column(default=True)
    invitation_required: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(500), default="")
    source_date: Mapped[dt.date | None] = mapped_column()

    __table_args__ = (UniqueConstraint("tenant_id", "citizenship", "destination"),
                      CheckConstraint("citizenship <> destination", name="two_countries"))


#: Roles an administrator may invite someone to; applicants register on their own. The key
#: ``delegate`` is a reviewer membership for the donor whom the center also lets commit
#: the donor's money (a `DonorDelegate` row in `center.reviews`).
INVITABLE_ROLES: dict[str, Any] = {
    "reviewer": _l("Donor reviewer"),
    "delegate": _l("Donor delegate (reviews and commits funds)"),
    "concurrence": ROLE_LABELS[Role.concurrence],
    "officer": ROLE_LABELS[Role.officer],
    "admin": ROLE_LABELS[Role.admin],
    "signatory": ROLE_LABELS[Role.signatory],
}


class InvitationStatus(enum.StrEnum):
    """Where an invitation stands; *expired* is derived from ``expires_at``, not stored."""

    pending = "pending"
    accepted = "accepted"
    cancelled = "cancelled"


INVITATION_STATUS_LABELS = {
    InvitationStatus.pending: _l("Waiting for an answer"),
    InvitationStatus.accepted: _l("Accepted"),
    InvitationStatus.cancelled: _l("Cancelled"),
}


class Invitation(TenantScoped, Versioned, db.Model):
    """An administrator's invitation of an e-mail address to a role in this tenant.

    Only the sha256 of the link's token is stored, so a copy of the database cannot be
    turned into working links. The link works once, for the invited address only, until
    ``expires_at``. Status changes go through `center.tenants.services`; the version
    column makes a second, concurrent acceptance or a cancel racing an acceptance fail.
    """

    __tablename__ = "member_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[Role] = mapped_column(String(20))
    #: With role reviewer: the person also commits the donor's funds.
    delegate: Mapped[bool] = mapped_column(Boolean, default=False)
    donor_id: Mapped[int | None] = tenant_fk("donors.id", ondelete="CASCADE")
    country_code: Mapped[str | None] = mapped_column(String(2))
    institute_id: Mapped[int | None] = tenant_fk("institutes.id", ondelete="CASCADE")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(String(20),
                                                     default=InvitationStatus.pending)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    donor: Mapped[Donor | None] = relationship()
    institute: Mapped[Institute | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    __table_args__ = (
        CheckConstraint("role IN ('reviewer', 'officer', 'admin', 'concurrence', 'signatory')",
                        name="invitable_role"),
        CheckConstraint("status IN ('pending', 'accepted', 'cancelled')", name="known_status"),
        CheckConstraint("(status = 'accepted') = (accepted_at IS NOT NULL)",
                        name="accepted_has_time"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)",
                        name="cancelled_has_time"),
        CheckConstraint("(role = 'reviewer') = (donor_id IS NOT NULL)", name="reviewer_has_donor"),
        CheckConstraint("(role = 'concurrence') = (country_code IS NOT NULL)",
                        name="official_has_country"),
        CheckConstraint("(role = 'signatory') = (institute_id IS NOT NULL)",
                        name="signatory_has_institute"),
        CheckConstraint("NOT delegate OR role = 'reviewer'", name="delegate_is_reviewer"),
    )

    @property
    def role_key(self) -> str:
        """The key in `INVITABLE_ROLES`: the role, or ``delegate`` for a donor's delegate."""
        return "delegate" if self.delegate else str(self.role)

    @property
    def role_label(self) -> str:
        return str(INVITABLE_ROLES[self.role_key])

    @property
    def acts_for(self) -> str:
        """The donor, country or institute the role is for, as a reader names it."""
        if self.donor is not None:
            return self.donor.name
        if self.country_code:
            return country_name(self.country_code)
        if self.institute is not None:
            return self.institute.name
        return ""

    @property
    def is_expired(self) -> bool:
        return self.status == InvitationStatus.pending and self.expires_at <= clock.now()

    @property
    def status_label(self) -> str:
        if self.is_expired:
            return str(_l("Expired"))
        return str(INVITATION_STATUS_LABELS[InvitationStatus(self.status)])
