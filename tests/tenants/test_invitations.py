"""Bringing people in and out of a center: invitations, acceptance, revocation (services)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from center.auth import services as accounts
from center.auth.models import User
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import all_tenants, db, tenant_scope
from center.core.notifications import OutboxMessage
from center.reviews import funding
from center.reviews.models import DonorDelegate
from center.tenants import services
from center.tenants.models import (
    Donor,
    Institute,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
)
from tests.world import PASSWORD, World


def _tenant(world: World) -> Tenant:
    return db.session.get(Tenant, world.a.tenant_id)


def _admin(world: World) -> User:
    return db.session.get(User, world.a.user_ids[Role.admin])


def _invite(world: World, email: str = "new.person@example.org", role_key: str = "officer",
            **where) -> tuple[Invitation, str]:  # noqa: ANN003
    return services.invite_member(_tenant(world), email=email, role_key=role_key,
                                  by=_admin(world), **where)


def _actions(object_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Invitation", AuditEvent.object_id == object_id)
        .order_by(AuditEvent.id)))


def test_an_invitation_keeps_only_the_sha256_of_its_token_and_mails_the_link(
        app, in_tenant: World) -> None:
    invitation, token = _invite(in_tenant, email="  New.Person@Example.org ")
    db.session.commit()
    assert invitation.email == "new.person@example.org"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in vars(invitation).values()}
    assert invitation.expires_at - invitation.created_at == dt.timedelta(
        days=app.config["INVITATION_MAX_AGE_DAYS"])
    mail = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "new.person@example.org")).one()
    assert f"{app.config['PUBLIC_URL']}/alpha/join/{token}" in mail.body
    assert mail.subject == "Invitation to Center ALPHA"
    assert "Programme officer" in mail.body and "officer" not in mail.subject
    assert _actions(invitation.id) == ["member.invited"]
    assert services.find_invitation(token) == invitation
    assert services.find_invitation(token + "x") is None


def test_a_new_person_registers_through_the_link_with_the_invited_address(
        in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    user = services.register_and_accept(invitation, name="Nina New", password=PASSWORD)
    db.session.commit()
    assert user.email == "new.person@example.org"
    membership = db.session.scalars(select(Membership).where(
        Membership.user_id == user.id)).one()
    assert membership.role == Role.officer
    assert invitation.status == InvitationStatus.accepted
    assert invitation.accepted_by_id == user.id and invitation.accepted_at is not None
    assert _actions(invitation.id) == ["member.invited", "member.invitation_accepted"]


def test_an_existing_account_accepts_with_the_invited_address(in_tenant: World) -> None:
    with all_tenants():
        outsider = db.session.get(User, in_tenant.b.user_ids[Role.officer])
    invitation, _token = _invite(in_tenant, email=outsider.email.upper(), role_key="officer")
    services.accept_invitation(invitation, user=outsider)
    db.session.commit()
    assert db.session.scalar(select(Membership.role).where(
        Membership.user_id == outsider.id)) == Role.officer


def test_another_account_cannot_accept(in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    intruder = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    with pytest.raises(services.WrongAccount):
        services.accept_invitation(invitation, user=intruder)
    assert invitation.status == InvitationStatus.pending
    assert db.session.scalar(select(Membership).where(
        Membership.user_id == intruder.id, Membership.role == Role.officer)) is None


def test_an_expired_invitation_cannot_be_accepted(in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    with clock.frozen_at(invitation.expires_at + dt.timedelta(seconds=1)):
        assert invitation.is_expired and invitation.status_label == "Expired"
        with pytest.raises(services.InvitationClosed, match="expired"):
            services.register_and_accept(invitation, name="Late", password=PASSWORD)
    assert accounts.find_user(invitation.email) is None


def test_a_cancelled_invitation_cannot_be_accepted(in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    services.cancel_invitation(invitation, by=_admin(in_tenant))
    assert invitation.status == InvitationStatus.cancelled and invitation.cancelled_at
    with pytest.raises(services.InvitationClosed, match="cancelled"):
        services.register_and_accept(invitation, name="Too late", password=PASSWORD)
    with pytest.raises(services.MembershipError):
        services.cancel_invitation(invitation, by=_admin(in_tenant))
    assert _actions(invitation.id) == ["member.invited", "member.invitation_cancelled"]


def test_a_used_link_cannot_be_used_again(in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    user = services.register_and_accept(invitation, name="Nina New", password=PASSWORD)
    db.session.commit()
    with pytest.raises(services.InvitationClosed, match="already used"):
        services.accept_invitation(invitation, user=user)


def test_two_acceptances_racing_each_other_let_only_one_through(app, in_tenant: World) -> None:
    invitation, _token = _invite(in_tenant)
    db.session.commit()
    stale = invitation.id
    # Another request accepts and commits while this one still holds version 1.
    with app.app_context(), tenant_scope(in_tenant.a.tenant_id):
        other = db.session.get(Invitation, stale)
        services.register_and_accept(other, name="First", password=PASSWORD)
        db.session.commit()
        db.session.remove()
    invitation.status = InvitationStatus.accepted
    invitation.accepted_at = clock.now()
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()


def test_a_delegate_invitation_makes_a_reviewer_who_commits_the_donors_funds(
        in_tenant: World) -> None:
    donor = db.session.get(Donor, in_tenant.a.donor_ids[1])
    invitation, _token = _invite(in_tenant, role_key="delegate", donor=donor)
    assert invitation.role == Role.reviewer and invitation.delegate
    assert invitation.role_label == "Donor delegate (reviews and commits funds)"
    user = services.register_and_accept(invitation, name="Dana Delegate", password=PASSWORD)
    db.session.flush()
    assert funding.delegated_donor(user) == donor
    membership = db.session.scalars(select(Membership).where(
        Membership.user_id == user.id)).one()
    assert (membership.role, membership.donor_id) == (Role.reviewer, donor.id)


def test_each_role_asks_for_what_it_acts_for(in_tenant: World) -> None:
    with pytest.raises(services.MembershipError):
        _invite(in_tenant, role_key="reviewer")
    with pytest.raises(services.MembershipError, match="partner countries"):
        _invite(in_tenant, role_key="concurrence", country_code="FR")
    with pytest.raises(services.MembershipError):
        _invite(in_tenant, role_key="signatory")
    official, _token = _invite(in_tenant, role_key="concurrence", country_code="am")
    assert official.country_code == "AM" and official.acts_for == "Armenia"
    institute = db.session.get(Institute, in_tenant.a.institute_ids[0])
    signatory, _token = _invite(in_tenant, email="sign@example.org", role_key="signatory",
                                institute=institute)
    user = services.register_and_accept(signatory, name="Sam Sign", password=PASSWORD)
    assert db.session.scalar(select(Membership.institute_id).where(
        Membership.user_id == user.id)) == institute.id


def test_inviting_a_member_to_a_role_they_hold_or_twice_is_refused(in_tenant: World) -> None:
    with pytest.raises(services.MembershipError, match="already holds"):
        _invite(in_tenant, email=in_tenant.a.emails[Role.officer], role_key="officer")
    donor = db.session.get(Donor, in_tenant.a.donor_ids[0])
    with pytest.raises(services.MembershipError, match="delegates page"):
        _invite(in_tenant, email=in_tenant.a.emails[Role.reviewer], role_key="delegate",
                donor=donor)
    _invite(in_tenant)
    with pytest.raises(services.MembershipError, match="waiting"):
        _invite(in_tenant)


def test_a_member_of_another_center_is_invited_like_anyone_and_not_enrolled(
        in_tenant: World) -> None:
    """Center A's administrator gets the same answer for B's user as for an unknown address,
    and B's user holds no role in A until they accept."""
    b_officer = in_tenant.b.emails[Role.officer]
    known, _token = _invite(in_tenant, email=b_officer, role_key="admin")
    unknown, _token = _invite(in_tenant, email="nobody@nowhere.example", role_key="admin")
    assert (known.status, known.role) == (unknown.status, unknown.role)
    with all_tenants():
        assert db.session.scalar(select(Membership).where(
            Membership.tenant_id == in_tenant.a.tenant_id,
            Membership.user_id == in_tenant.b.user_ids[Role.officer])) is None


def test_revoking_a_reviewer_ends_their_delegation_and_is_audited(in_tenant: World) -> None:
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == in_tenant.a.user_ids[Role.reviewer]))
    assert db.session.scalar(select(DonorDelegate).where(
        DonorDelegate.user_id == membership.user_id)) is not None
    membership_id = membership.id
    services.revoke_membership(membership, by=_admin(in_tenant))
    db.session.commit()
    assert db.session.get(Membership, membership_id) is None
    assert db.session.scalar(select(DonorDelegate).where(
        DonorDelegate.user_id == in_tenant.a.user_ids[Role.reviewer])) is None
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "membership.revoked", AuditEvent.object_id == membership_id))
    assert event.details["role"] == "reviewer" and event.actor_id == _admin(in_tenant).id


def test_the_last_administrator_cannot_be_revoked(in_tenant: World) -> None:
    admin = db.session.scalar(select(Membership).where(Membership.role == Role.admin))
    assert services.is_last_admin(admin)
    with pytest.raises(services.LastAdmin):
        services.revoke_membership(admin, by=_admin(in_tenant))
    second, _token = _invite(in_tenant, role_key="admin")
    services.register_and_accept(second, name="Second Admin", password=PASSWORD)
    assert not services.is_last_admin(admin)
    services.revoke_membership(admin, by=_admin(in_tenant))
    assert db.session.scalars(select(Membership.role).where(
        Membership.role == Role.admin)).all() == [Role.admin]
