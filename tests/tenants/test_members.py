"""The members page, invitation links and revocation, as the people who use them see them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from center.auth.models import User
from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import all_tenants, db, tenant_scope
from center.core.notifications import OutboxMessage
from center.reviews.models import DonorDelegate
from center.tenants.models import Invitation, InvitationStatus, Membership, Role
from tests.world import PASSWORD, World

MEMBERS = "/alpha/admin/members"


def _invite(client, email: str = "new.person@example.org", role: str = "officer",  # noqa: ANN001
            **extra: object):  # noqa: ANN202
    return client.post(MEMBERS, data={"email": email, "role": role, "donor_id": "0",
                                      "country_code": "", "institute_id": "0", **extra})


def _link(app, email: str) -> str:  # noqa: ANN001
    """The path of the last invitation link mailed to ``email``."""
    with app.app_context():
        body = db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == email).order_by(OutboxMessage.id.desc())).first()
    return re.search(r"https?://[^/\s]+(/alpha/join/\S+)", body).group(1)


def _membership(app, world: World, email: str, *, tenant: str = "a") -> Membership | None:  # noqa: ANN001
    side = getattr(world, tenant)
    with app.app_context(), tenant_scope(side.tenant_id):
        return db.session.scalar(select(Membership).join(User, User.id == Membership.user_id)
                                 .where(User.email == email))


def test_an_admin_invites_and_the_page_never_says_whether_an_account_exists(
        app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    answers = []
    for email in (world.b.emails[Role.officer], "nobody@nowhere.example"):
        response = _invite(client, email=email, role="admin")
        assert response.status_code == 302 and response.location.endswith(MEMBERS)
        page = client.get(MEMBERS).get_data(as_text=True)
        answers.append(re.sub(re.escape(email), "EMAIL", page.split('class="flash')[1][:300]))
    assert answers[0] == answers[1]
    page = client.get(MEMBERS).get_data(as_text=True)
    assert "Officer of beta" not in page  # B's user is listed by invited address only
    assert _membership(app, world, world.b.emails[Role.officer]) is None


@pytest.mark.parametrize(("field", "data"), [
    ("donor_id", {"role": "delegate"}),
    ("country_code", {"role": "concurrence"}),
    ("institute_id", {"role": "signatory"}),
    ("email", {"email": "not an address"}),
])
def test_an_incomplete_invitation_keeps_the_input_and_shows_the_error_by_its_field(
        client, login, world: World, field: str, data: dict) -> None:
    login(world.a.emails[Role.admin])
    response = _invite(client, **{"email": "typed@example.org", **data})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert 'value="typed@example.org"' in page or data.get("email")


def test_the_members_page_searches_filters_pages_and_names_roles(client, login,
                                                                 world: World) -> None:
    login(world.a.emails[Role.admin])
    page = client.get(MEMBERS).get_data(as_text=True)
    assert "Government concurrence official" in page and "Donor One of alpha" in page
    assert ">concurrence<" not in page and ">reviewer<" not in page
    assert "<caption>" in page and 'scope="col"' in page
    found = client.get(MEMBERS, query_string={"q": "OFFICER@alpha"}).get_data(as_text=True)
    assert "Officer of alpha" in found and "Applicant of alpha" not in found
    filtered = client.get(MEMBERS, query_string={"role": "signatory"}).get_data(as_text=True)
    assert "Signatory of alpha" in filtered and "Officer of alpha" not in filtered
    nothing = client.get(MEMBERS, query_string={"q": "Ωμέγα"}).get_data(as_text=True)
    assert "No member matches" in nothing
    odd = client.get(MEMBERS, query_string={"role": "root", "page": "999"})
    assert odd.status_code == 200


def test_the_members_page_is_the_admins_alone(client, login, world: World) -> None:
    login(world.a.emails[Role.officer])
    assert client.get(MEMBERS).status_code == 403
    assert _invite(client).status_code == 403
    client.post("/logout")
    login(world.b.emails[Role.admin])
    assert client.get(MEMBERS).status_code == 404


def test_a_new_person_registers_through_the_link_with_the_invited_address(
        app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    _invite(client, role="concurrence", country_code="AM")
    client.post("/logout")
    link = _link(app, "new.person@example.org")
    page = client.get(link).get_data(as_text=True)
    assert 'value="new.person@example.org" readonly' in page and "Armenia" in page
    short = client.post(link, data={"name": "Nina", "password": "short", "confirm": "short"})
    assert short.status_code == 200 and 'id="password-error"' in short.get_data(as_text=True)
    done = client.post(link, data={"name": "Nina New", "password": PASSWORD,
                                   "confirm": PASSWORD, "email": "other@evil.example"})
    assert done.status_code == 302 and done.location.endswith("/alpha/dashboard")
    membership = _membership(app, world, "new.person@example.org")
    assert (membership.role, membership.country_code) == (Role.concurrence, "AM")
    assert client.get("/alpha/dashboard").status_code == 200  # signed in, as the new member
    assert client.get(link).status_code == 410  # single use


def test_an_existing_account_signs_in_and_accepts(app, client, login, world: World) -> None:
    b_user = world.b.emails[Role.officer]
    login(world.a.emails[Role.admin])
    _invite(client, email=b_user, role="officer")
    client.post("/logout")
    link = _link(app, b_user)
    signed_out = client.get(link).get_data(as_text=True)
    assert f'href="/login?next={link}"' in signed_out
    login(b_user)
    assert "Accept the role" in client.get(link).get_data(as_text=True)
    assert _membership(app, world, b_user) is None  # nothing until they accept
    response = client.post(link)
    assert response.status_code == 302
    assert _membership(app, world, b_user).role == Role.officer
    with app.app_context(), tenant_scope(world.a.tenant_id):
        invitation = db.session.scalars(select(Invitation).where(
            Invitation.email == b_user)).one()
        assert invitation.status == InvitationStatus.accepted
        assert db.session.scalar(select(AuditEvent.actor_id).where(
            AuditEvent.action == "member.invitation_accepted")) == world.b.user_ids[Role.officer]


def test_registering_for_an_address_that_has_an_account_sends_its_owner_to_sign_in(
        app, client, login, world: World) -> None:
    b_user = world.b.emails[Role.officer]
    login(world.a.emails[Role.admin])
    _invite(client, email=b_user, role="officer")
    client.post("/logout")
    link = _link(app, b_user)
    response = client.post(link, data={"name": "Someone", "password": PASSWORD,
                                       "confirm": PASSWORD})
    assert response.status_code == 302 and "/login?next=" in response.location
    assert _membership(app, world, b_user) is None
    with app.app_context():
        assert db.session.scalar(select(User.name).where(User.email == b_user)) == \
            "Officer of beta"


def test_another_signed_in_account_cannot_accept(app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    _invite(client)
    link = _link(app, "new.person@example.org")
    refused = client.get(link)
    assert refused.status_code == 403
    assert "another e-mail address" in refused.get_data(as_text=True)
    assert client.post(link).status_code == 403
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(Invitation.status)) == InvitationStatus.pending


def test_a_cancelled_link_stops_working(app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    _invite(client)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        invitation_id = db.session.scalar(select(Invitation.id).where(
            Invitation.email == "new.person@example.org"))
    cancelled = client.post(f"/alpha/admin/invitations/{invitation_id}/cancel")
    assert cancelled.status_code == 302
    again = client.post(f"/alpha/admin/invitations/{invitation_id}/cancel",
                        follow_redirects=True)
    assert "already answered or cancelled" in again.get_data(as_text=True)
    client.post("/logout")
    closed = client.get(_link(app, "new.person@example.org"))
    assert closed.status_code == 410 and "cancelled" in closed.get_data(as_text=True)


def test_an_expired_link_says_so(app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    _invite(client)
    client.post("/logout")
    with clock.frozen_at(clock.now() + dt.timedelta(days=15)):
        expired = client.get(_link(app, "new.person@example.org"))
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert client.get("/alpha/join/not-a-token").status_code == 404


def test_another_centers_link_is_not_found_here(app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    _invite(client)
    client.post("/logout")
    link = _link(app, "new.person@example.org")
    assert client.get(link.replace("/alpha/", "/beta/")).status_code == 404


def test_revoking_asks_for_confirmation_then_takes_the_role_away(app, client, login,
                                                                 world: World) -> None:
    reviewer = _membership(app, world, world.a.emails[Role.reviewer])
    login(world.a.emails[Role.admin])
    url = f"/alpha/admin/members/{reviewer.id}/revoke"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Revoke the role" in confirm.get_data(as_text=True)
    assert _membership(app, world, world.a.emails[Role.reviewer]) is not None
    done = client.post(url)
    assert done.status_code == 302 and done.location.endswith(MEMBERS)
    assert _membership(app, world, world.a.emails[Role.reviewer]) is None
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(DonorDelegate).where(
            DonorDelegate.user_id == world.a.user_ids[Role.reviewer])) is None
        assert db.session.scalar(select(AuditEvent.actor_id).where(
            AuditEvent.action == "membership.revoked")) == world.a.user_ids[Role.admin]
    assert client.post(url).status_code == 404


def test_the_last_administrator_cannot_revoke_themselves(app, client, login,
                                                         world: World) -> None:
    admin = _membership(app, world, world.a.emails[Role.admin])
    login(world.a.emails[Role.admin])
    url = f"/alpha/admin/members/{admin.id}/revoke"
    page = client.get(url).get_data(as_text=True)
    assert "only administrator" in page and "Revoke the role" not in page
    refused = client.post(url, follow_redirects=True)
    assert "only administrator" in refused.get_data(as_text=True)
    assert _membership(app, world, world.a.emails[Role.admin]) is not None


def test_an_admin_of_another_center_cannot_see_or_revoke_this_centers_members(
        app, client, login, world: World) -> None:
    officer = _membership(app, world, world.a.emails[Role.officer])
    login(world.b.emails[Role.admin])
    page = client.get("/beta/admin/members", query_string={"q": "alpha"}).get_data(as_text=True)
    assert "Officer of alpha" not in page and world.a.emails[Role.officer] not in page
    assert client.get(f"/beta/admin/members/{officer.id}/revoke").status_code == 404
    assert client.post(f"/beta/admin/members/{officer.id}/revoke").status_code == 404
    assert _membership(app, world, world.a.emails[Role.officer]) is not None


def test_an_officer_cannot_read_a_users_name_by_id(app, client, login, world: World) -> None:
    """The delegates form takes this center's reviewer memberships, never a user id."""
    with app.app_context(), all_tenants():
        b_reviewer = db.session.scalar(select(Membership).where(
            Membership.tenant_id == world.b.tenant_id, Membership.role == Role.reviewer))
        b_reviewer_id, b_user_id = b_reviewer.id, b_reviewer.user_id
    login(world.a.emails[Role.officer])
    url = f"/alpha/reviews/donors/{world.a.donor_ids[0]}/delegates"
    for data in ({"membership_id": b_reviewer_id, "action": "add"},
                 {"membership_id": b_user_id, "action": "add"},
                 {"user_id": b_user_id, "action": "add"}):
        response = client.post(url, data=data, follow_redirects=True)
        assert "Reviewer of beta" not in response.get_data(as_text=True)
        assert response.status_code in (200, 404)
    assert client.post(url, data={"membership_id": b_reviewer_id,
                                  "action": "add"}).status_code == 404
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(DonorDelegate).where(
            DonorDelegate.tenant_id == world.a.tenant_id,
            DonorDelegate.user_id == b_user_id)) is None


def test_the_delegates_page_links_an_admin_to_invite_a_delegate(client, login,
                                                                world: World) -> None:
    login(world.a.emails[Role.admin])
    page = client.get("/alpha/reviews/delegates").get_data(as_text=True)
    link = f"/alpha/admin/members?invite=delegate&amp;donor={world.a.donor_ids[1]}"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'<option selected value="{world.a.donor_ids[1]}">' in form
    assert '<option selected value="delegate">' in form


def test_another_centers_donor_or_an_unknown_role_is_refused_by_its_field(
        app, client, login, world: World) -> None:
    login(world.a.emails[Role.admin])
    for data, field in (({"role": "reviewer", "donor_id": str(world.b.donor_ids[0])},
                         "donor_id"),
                        ({"role": "applicant"}, "role"), ({"role": "root"}, "role"),
                        ({"role": "reviewer", "donor_id": "1e3"}, "donor_id"),
                        ({"email": "x" * 250 + "@example.org"}, "email")):
        response = _invite(client, **data)
        assert response.status_code == 200, data
        assert f'id="{field}-error"' in response.get_data(as_text=True), data
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalars(select(Invitation.email)).all() == ["newcomer@alpha.example"]
