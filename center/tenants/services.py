"""Create tenants and keep their reference data: countries, institutes, donors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db, tenant_scope
from center.tenants import visas
from center.tenants.models import Country, Donor, Institute, Tenant, VisaRule

#: First path segments the portal itself uses; no tenant may take them.
RESERVED_SLUGS = frozenset({"login", "logout", "password", "platform", "healthz", "static",
                            "api", "admin", "jobs"})


class SlugTaken(Exception):
    """Another tenant, or the portal itself, already uses this URL name."""


def create_tenant(*, slug: str, name: str, short_name: str, currency: str, by: User | None,
                  partner_countries: list[str] = (), visa_rules: bool = True,
                  **fields: Any) -> Tenant:
    """Create a tenant with its partner countries and the portal's visa rules; audit it."""
    if slug in RESERVED_SLUGS or db.session.scalar(
            select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise SlugTaken(slug)
    tenant = Tenant(slug=slug, name=name, short_name=short_name, currency=currency.upper(),
                    created_at=clock.now(), **fields)
    db.session.add(tenant)
    db.session.flush()
    with tenant_scope(tenant.id):
        for code in partner_countries:
            db.session.add(Country(code=code.upper(), is_partner=True))
        audit.record("tenant.created", tenant, actor=by, tenant_id=tenant.id, slug=slug)
        if visa_rules:
            visas.load_shipped_rules(by=by)
        db.session.flush()
    return tenant


def partner_countries() -> list[Country]:
    """Return the current tenant's partner countries, by name."""
    countries = db.session.scalars(select(Country).where(Country.is_partner.is_(True))).all()
    return sorted(countries, key=lambda c: c.name)


def add_country(code: str, *, is_partner: bool, by: User) -> Country:
    country = Country(code=code.upper(), is_partner=is_partner)
    db.session.add(country)
    audit.record("country.added", country, actor=by, code=country.code, partner=is_partner)
    return country


def add_institute(*, by: User, verified: bool = True, **fields: Any) -> Institute:
    """Add an institute (verified when an officer adds it, pending when an applicant does)."""
    institute = Institute(verified=verified, **fields)
    db.session.add(institute)
    audit.record("institute.added", institute, actor=by, name=institute.name,
                 verified=verified)
    return institute


def verify_institute(institute: Institute, *, by: User) -> None:
    institute.verified = True
    audit.record("institute.verified", institute, actor=by)


def add_donor(*, by: User, **fields: Any) -> Donor:
    donor = Donor(**fields)
    db.session.add(donor)
    audit.record("donor.added", donor, actor=by, name=donor.name)
    return donor


def institutes(*, search: str = "", verified_only: bool = False) -> list[Institute]:
    """Return the tenant's institutes, optionally matching ``search`` in either name."""
    query = select(Institute).order_by(Institute.country_code, Institute.name)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(Institute.name.ilike(pattern) | Institute.local_name.ilike(pattern))
    if verified_only:
        query = query.where(Institute.verified.is_(True))
    return list(db.session.scalars(query))


def donors() -> list[Donor]:
    return list(db.session.scalars(select(Donor).order_by(Donor.name)))


def set_visa_rule(citizenship: str, destination: str, *, visa_required: bool,
                  invitation_required: bool, by: User) -> VisaRule:
    """Add or change the pair rule for citizens of one country travelling to another."""
    return visas.save_pair_rule(citizenship, destination, visa_required=visa_required,
                                invitation_required=invitation_required, by=by)
