"""Create tenants, keep their reference data (countries, institutes, donors) and bring
people in and out of a tenant: invitations by e-mail, their acceptance, role revocation."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from center.auth import services as accounts
from center.auth.models import User
from center.core import audit, clock
from center.core.collation import by_locale
from center.core.db import db, tenant_scope
from center.core.links import external_url
from center.core.notifications import send_email
from center.core.security import secret_digest
from center.reviews.models import DonorDelegate
from center.tenants import visas
from center.tenants.models import (
    INVITABLE_ROLES,
    Country,
    Donor,
    Institute,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
    VisaRule,
)

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


class InstituteExists(Exception):
    """An institute of that name is already listed in that country."""

    def __init__(self, institute: Institute) -> None:
        super().__init__(institute.name)
        self.institute = institute


def find_institute(name: str, country_code: str) -> Institute | None:
    """Return the tenant's institute of this name in this country, whatever the case and
    spacing the name is typed with."""
    wanted = " ".join(name.split()).casefold()
    return next((i for i in db.session.scalars(select(Institute).where(
        Institute.country_code == country_code.upper()))
        if " ".join(i.name.split()).casefold() == wanted), None)


def find_by_ror(ror_id: str) -> Institute | None:
    """Return the tenant's institute with this ROR id (canonical form), if any."""
    return db.session.scalar(select(Institute).where(Institute.ror_id == ror_id))


def add_institute(*, by: User, verified: bool = True, **fields: Any) -> Institute:
    """Add an institute (verified when an officer adds it, pending when an applicant does).

    Raises `InstituteExists` when the name is already listed in that country, or when an
    institute with the same ROR id is (whatever its name: the id decides).
    """
    fields["name"] = " ".join(fields["name"].split())
    existing = (find_by_ror(fields["ror_id"]) if fields.get("ror_id") else None) or \
        find_institute(fields["name"], fields["country_code"])
    if existing is not None:
        raise InstituteExists(existing)
    institute = Institute(verified=verified, **fields)
    db.session.add(institute)
    audit.record("institute.added", institute, actor=by, name=institute.name,
                 verified=verified, ror_id=institute.ror_id)
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
    query = select(Institute).order_by(Institute.country_code, by_locale(Institute.name))
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(Institute.name.ilike(pattern) | Institute.local_name.ilike(pattern))
    if verified_only:
        query = query.where(Institute.verified.is_(True))
    return list(db.session.scalars(query))


#: The languages a center may issue its legal documents in, by their own names.
LEGAL_LANGUAGES = {"en": "English", "ko": "한국어", "ru": "Русский"}


def set_document_language(tenant: Tenant, *, by: User, legal_language: str,
                          bilingual: bool) -> dict[str, Any]:
    """Choose the language the center's agreements, letters and summaries are written in,
    and whether agreements and letters carry English beside it; return what changed."""
    if legal_language not in LEGAL_LANGUAGES:
        raise ValueError(f"unknown legal-document language {legal_language!r}")
    bilingual = bool(bilingual) and legal_language != "en"
    changed = {key: {"from": old, "to": new} for key, old, new in (
        ("legal_language", tenant.legal_language, legal_language),
        ("bilingual_documents", bool(tenant.bilingual_documents), bilingual)) if old != new}
    if changed:
        tenant.legal_language = legal_language
        tenant.bilingual_documents = bilingual
        audit.record("tenant.document_language_changed", tenant, actor=by,
                     tenant_id=tenant.id, changes=changed)
        db.session.flush()
    return changed


def donors() -> list[Donor]:
    return list(db.session.scalars(select(Donor).order_by(Donor.name)))


def set_visa_rule(citizenship: str, destination: str, *, visa_required: bool,
                  invitation_required: bool, by: User) -> VisaRule:
    """Add or change the pair rule for citizens of one country travelling to another."""
    return visas.save_pair_rule(citizenship, destination, visa_required=visa_required,
                                invitation_required=invitation_required, by=by)


# --- people: invitations, acceptance, revocation -----------------------------------------

class MembershipError(Exception):
    """An invitation or role change that cannot go ahead; the message is for the user."""


class InvitationClosed(MembershipError):
    """The invitation was used, cancelled or has expired."""


class WrongAccount(MembershipError):
    """The signed-in account is not the invited address."""


class LastAdmin(MembershipError):
    """Revoking this role would leave the center without an administrator."""



def _role_of(role_key: str) -> Role:
    return Role.reviewer if role_key == "delegate" else Role(role_key)


def invite_member(tenant: Tenant, *, email: str, role_key: str, by: User,
                  donor: Donor | None = None, country_code: str | None = None,
                  institute: Institute | None = None) -> tuple[Invitation, str]:
    """Invite ``email`` to a role in ``tenant``; return the invitation and its secret token.

    ``role_key`` is a key of `INVITABLE_ROLES`. Reviewers and delegates act for ``donor``,
    concurrence officials for a partner ``country_code``, signatories for ``institute``.
    Whether the address has an account on the platform plays no part: only this center's
    own members and invitations are consulted.

    Effects: an Invitation holding the token's sha256, an audit event, an e-mail with the
    link (valid for INVITATION_MAX_AGE_DAYS) in the outbox.
    """
    if role_key not in INVITABLE_ROLES:
        raise ValueError(f"not an invitable role: {role_key!r}")
    role = _role_of(role_key)
    email = accounts.normalize_email(email)
    country_code = (country_code or "").upper() or None
    if role == Role.reviewer and donor is None:
        raise MembershipError(_("Choose the donor this person acts for."))
    if role == Role.concurrence and country_code not in {c.code for c in partner_countries()}:
        raise MembershipError(_("Choose one of the center's partner countries."))
    if role == Role.signatory and institute is None:
        raise MembershipError(_("Choose the institute this person signs for."))
    held = db.session.scalar(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(User.email == email, Membership.role == role))
    if held is not None:
        if role_key == "delegate" and held.donor_id == donor.id:
            raise MembershipError(_("This person already reviews for this donor: make them "
                                    "a delegate on the funding delegates page."))
        raise MembershipError(_("A member with this e-mail already holds this role in this "
                                "center."))
    now = clock.now()
    waiting = db.session.scalar(select(Invitation).where(
        Invitation.email == email, Invitation.role == role,
        Invitation.status == InvitationStatus.pending, Invitation.expires_at > now))
    if waiting is not None:
        raise MembershipError(_("An invitation of this address to this role is waiting for "
                                "an answer; cancel it to send a new one."))
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_MAX_AGE_DAYS"]
    invitation = Invitation(
        email=email, role=role, delegate=role_key == "delegate",
        donor_id=donor.id if role == Role.reviewer else None,
        country_code=country_code if role == Role.concurrence else None,
        institute_id=institute.id if role == Role.signatory else None,
        token_hash=secret_digest(token), status=InvitationStatus.pending, invited_by_id=by.id,
        created_at=now, expires_at=now + dt.timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    audit.record("member.invited", invitation, actor=by, to_state="pending", email=email,
                 role=role_key, donor=invitation.donor_id, country=invitation.country_code,
                 institute=invitation.institute_id, expires_at=invitation.expires_at)
    send_email(email, _l("Invitation to %(center)s", center=tenant.name), "member_invitation",
               tenant_id=tenant.id, tenant=tenant, inviter=by, invitation=invitation,
               role=invitation.role_label, acts_for=invitation.acts_for,
               expires_on=format_date(invitation.expires_at, "long"),
               url=external_url("tenants.join", tenant=tenant.slug, token=token))
    db.session.flush()
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    """Return this tenant's invitation whose link carries ``token``, whatever its state."""
    return db.session.scalar(select(Invitation).where(
        Invitation.token_hash == secret_digest(token)))


def check_open(invitation: Invitation) -> None:
    """Raise `InvitationClosed` unless the invitation can still be accepted."""
    if invitation.status == InvitationStatus.accepted:
        raise InvitationClosed(_("This invitation was already used. If that was not you, "
                                 "tell the center's administrator."))
    if invitation.status == InvitationStatus.cancelled:
        raise InvitationClosed(_("The center's administrator cancelled this invitation."))
    if invitation.is_expired:
        raise InvitationClosed(_("This invitation expired on %(date)s. Ask the center's "
                                 "administrator for a new one.",
                                 date=format_date(invitation.expires_at, "long")))


def accept_invitation(invitation: Invitation, *, user: User) -> Membership:
    """Give ``user``, the invited person, the role; the link stops working.

    Effects: a membership (none when the user already holds exactly this role), for a
    delegate a DonorDelegate row, the invitation marked accepted, audit events. A second
    acceptance racing this one fails at flush on the invitation's version.
    """
    check_open(invitation)
    if accounts.normalize_email(user.email) != invitation.email:
        raise WrongAccount(_("This invitation was sent to another e-mail address than the "
                             "one you are signed in with. Sign out, then open the link "
                             "again and sign in with the invited address."))
    role = Role(invitation.role)
    held = db.session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                      Membership.role == role))
    if held is not None and (held.donor_id, held.country_code, held.institute_id) != (
            invitation.donor_id, invitation.country_code, invitation.institute_id):
        raise MembershipError(_("You already are %(role)s here for %(other)s; one person "
                                "holds each role once per center. Ask the administrator.",
                                role=role.label, other=held.acts_for))
    tenant = db.session.get(Tenant, invitation.tenant_id)
    membership = held or accounts.add_membership(
        user, tenant, role, by=user, donor_id=invitation.donor_id,
        country_code=invitation.country_code, institute_id=invitation.institute_id)
    if invitation.delegate and db.session.scalar(select(DonorDelegate).where(
            DonorDelegate.donor_id == invitation.donor_id,
            DonorDelegate.user_id == user.id)) is None:
        delegate = DonorDelegate(donor_id=invitation.donor_id, user_id=user.id,
                                 added_by_id=invitation.invited_by_id, added_at=clock.now())
        db.session.add(delegate)
        audit.record("funding.delegate_added", delegate, actor=user,
                     donor=invitation.donor_id, user=user.email, invitation=invitation.id)
    invitation.status = InvitationStatus.accepted
    invitation.accepted_at = clock.now()
    invitation.accepted_by_id = user.id
    audit.record("member.invitation_accepted", invitation, actor=user, from_state="pending",
                 to_state="accepted", email=invitation.email, role=invitation.role_key,
                 membership=membership.id)
    db.session.flush()
    return membership


def register_and_accept(invitation: Invitation, *, name: str, password: str) -> User:
    """Create the invited person's account (with the invited address) and accept.

    Raises `accounts.EmailTaken` when the address already has an account: its owner signs
    in to accept instead.
    """
    check_open(invitation)
    user = accounts.create_user(invitation.email, name, password)
    accept_invitation(invitation, user=user)
    return user


def cancel_invitation(invitation: Invitation, *, by: User) -> None:
    """Withdraw a waiting invitation; its link stops working. Audited."""
    if invitation.status != InvitationStatus.pending:
        raise MembershipError(_("Only an invitation waiting for an answer can be cancelled."))
    invitation.status = InvitationStatus.cancelled
    invitation.cancelled_at = clock.now()
    invitation.cancelled_by_id = by.id
    audit.record("member.invitation_cancelled", invitation, actor=by, from_state="pending",
                 to_state="cancelled", email=invitation.email, role=invitation.role_key)
    db.session.flush()


def revoke_membership(membership: Membership, *, by: User) -> None:
    """Take a role away from a member.

    Refuses (`LastAdmin`) to remove the center's last administrator; the administrators'
    rows are locked first (PostgreSQL), so two administrators revoking each other at once
    cannot both succeed. Effects: the membership is deleted; a reviewer's delegation for
    their donor ends with it; audit events.
    """
    if membership.role == Role.admin:
        admins = db.session.scalars(select(Membership.id).where(
            Membership.role == Role.admin).with_for_update()).all()
        if len(admins) <= 1:
            raise LastAdmin(_("%(name)s is the center's only administrator. Invite another "
                              "administrator first.", name=membership.user.name))
    if membership.role == Role.reviewer:
        for delegate in db.session.scalars(select(DonorDelegate).where(
                DonorDelegate.user_id == membership.user_id,
                DonorDelegate.donor_id == membership.donor_id)):
            audit.record("funding.delegate_removed", delegate, actor=by,
                         donor=delegate.donor_id, user=membership.user.email)
            db.session.delete(delegate)
    audit.record("membership.revoked", membership, actor=by, role=str(membership.role),
                 user=membership.user.email, donor=membership.donor_id,
                 country=membership.country_code, institute=membership.institute_id)
    db.session.delete(membership)
    db.session.flush()


def is_last_admin(membership: Membership) -> bool:
    """Tell whether ``membership`` is the center's only administrator role."""
    return membership.role == Role.admin and db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.role == Role.admin)) <= 1


def members_query(*, search: str = "", role: Role | None = None) -> Select:
    """The tenant's memberships by member name, optionally matching ``search`` in the name
    or e-mail and holding ``role``."""
    query = (select(Membership).join(User, User.id == Membership.user_id)
             .options(contains_eager(Membership.user), joinedload(Membership.donor),
                      joinedload(Membership.institute))
             .order_by(by_locale(User.name), User.id, Membership.role))
    search = search.strip()
    if search:
        pattern = f"%{search}%"
        query = query.where(or_(User.name.ilike(pattern), User.email.ilike(pattern)))
    if role is not None:
        query = query.where(Membership.role == role)
    return query


def pending_invitations() -> list[Invitation]:
    """The tenant's invitations still waiting for an answer (expired ones included)."""
    return list(db.session.scalars(select(Invitation).where(
        Invitation.status == InvitationStatus.pending).order_by(Invitation.created_at.desc())))


def delegate_pairs() -> set[tuple[int, int]]:
    """(donor id, user id) of the tenant's funding delegates."""
    return set(db.session.execute(select(DonorDelegate.donor_id, DonorDelegate.user_id)).all())
