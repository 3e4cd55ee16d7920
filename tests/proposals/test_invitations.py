"""Co-applicant invitations are bound to the invited address, expire, and end with editing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from center.auth import services as accounts
from center.auth.models import User
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals.models import Collaborator, Proposal, ProposalStatus
from center.tenants.models import Role, Tenant
from tests.support.states import put_in_state
from tests.world import PASSWORD, World


def _applicant(app, world: World, email: str) -> None:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        user = accounts.create_user(email, "A colleague", PASSWORD)
        accounts.add_membership(user, db.session.get(Tenant, world.a.tenant_id),
                                Role.applicant, by=user)
        db.session.commit()


def _invitation(app, world: World) -> Collaborator:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        row = db.session.scalar(select(Collaborator).where(
            Collaborator.token == world.a.ids["token"]))
        db.session.expunge(row)
        return row


def _actions(app, world: World) -> list[str]:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        return list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("proposal.collaborator_%")).order_by(AuditEvent.id)))


def _url(world: World) -> str:
    return f"/{world.a.slug}/invitations/{world.a.ids['token']}"


def test_the_invited_address_accepts_whatever_its_case(app, client, world, login) -> None:
    _applicant(app, world, "Colleague@ALPHA.example")
    login("colleague@alpha.example")
    assert client.get(_url(world)).status_code == 200
    response = client.post(_url(world))
    assert response.status_code == 302 and "/proposals/" in response.headers["Location"]
    invitation = _invitation(app, world)
    assert invitation.accepted_at is not None and invitation.user_id is not None
    assert _actions(app, world)[-1] == "proposal.collaborator_joined"
    with app.app_context(), tenant_scope(world.a.tenant_id):
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "proposal.collaborator_joined"))
        assert event.details["email"] == "colleague@alpha.example"


def test_someone_else_holding_the_link_is_refused(app, client, world, login) -> None:
    _applicant(app, world, "forwarded.to@alpha.example")
    login("forwarded.to@alpha.example")
    page = client.get(_url(world))
    assert page.status_code == 403
    assert "sent to another e-mail address" in page.get_data(as_text=True)
    response = client.post(_url(world))
    assert response.status_code == 302
    assert _invitation(app, world).accepted_at is None
    assert _actions(app, world)[-1] == "proposal.collaborator_refused"
    # Nor can the lead applicant's own account take it.
    client.post("/logout")
    login(world.a.emails["applicant"])
    client.post(_url(world))
    assert _invitation(app, world).accepted_at is None


def test_an_invitation_expires(app, client, world: World, login) -> None:
    _applicant(app, world, "colleague@alpha.example")
    days = app.config["COLLABORATOR_INVITATION_DAYS"]
    with clock.frozen_at(clock.now() + dt.timedelta(days=days, minutes=1)):
        login("colleague@alpha.example")
        assert "has expired" in client.get(_url(world)).get_data(as_text=True)
        client.post(_url(world))
    assert _invitation(app, world).accepted_at is None


@pytest.mark.parametrize("status", [ProposalStatus.submitted, ProposalStatus.withdrawn])
def test_an_invitation_ends_when_the_proposal_is_no_longer_editable(
        app, client, world: World, login, status: ProposalStatus) -> None:
    _applicant(app, world, "colleague@alpha.example")
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        put_in_state(proposal, status, by=db.session.get(User, world.a.user_ids["applicant"]))
        db.session.commit()
    login("colleague@alpha.example")
    assert client.get(_url(world)).status_code == 403
    client.post(_url(world))
    assert _invitation(app, world).accepted_at is None


def test_an_accepted_invitation_cannot_be_used_again(app, client, world, login) -> None:
    _applicant(app, world, "colleague@alpha.example")
    login("colleague@alpha.example")
    client.post(_url(world))
    first = _invitation(app, world).accepted_at
    client.post(_url(world))
    assert _invitation(app, world).accepted_at == first
    assert _actions(app, world).count("proposal.collaborator_joined") == 1
