"""The remaining pages: the round's settings, the reviewer's profile, funding delegates, the
officers' overview and dashboard, and the reminder command."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from center.core import clock
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.reviews import funding, services
from center.reviews.models import (
    DonorDelegate,
    NationalityRule,
    ReviewerProfile,
    ReviewPhase,
    ReviewRound,
)
from tests.reviews.conftest import Panel, accepted, membership, proposal, user

SETTINGS = {"reviewers_per_proposal": "2", "max_per_reviewer": "4",
            "nationality_rule": "not_consortium_country", "phase": "discussion",
            "due_at": "2036-03-01T17:00", "remind_days_before": "3"}


def test_the_officer_sets_the_round_and_a_stale_form_is_refused(app, client, login,
                                                                panel: Panel) -> None:
    login(panel.emails["officer"])
    url = f"/{panel.slug}/reviews/calls/{panel.call_id}/settings"
    assert client.get(url).status_code == 200
    assert client.post(url, data={**SETTINGS, "version": "0"}).status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        saved = db.session.scalar(select(ReviewRound))
        assert (saved.reviewers_per_proposal, saved.phase) == (2, ReviewPhase.discussion)
        assert saved.nationality_rule == NationalityRule.not_consortium_country
        assert saved.due_at == dt.datetime(2036, 3, 1, 17, 0, tzinfo=dt.UTC)  # tenant in UTC
    stale = client.post(url, data={**SETTINGS, "reviewers_per_proposal": "5", "version": "0"})
    assert stale.status_code == 409 and "after you opened them" in stale.get_data(as_text=True)
    assert 'value="5"' in stale.get_data(as_text=True)
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(ReviewRound)).reviewers_per_proposal == 2


def test_out_of_range_settings_are_explained_by_the_field(client, login, panel: Panel) -> None:
    login(panel.emails["officer"])
    response = client.post(f"/{panel.slug}/reviews/calls/{panel.call_id}/settings",
                           data={**SETTINGS, "reviewers_per_proposal": "0", "version": "0"})
    assert 'id="reviewers_per_proposal-error"' in response.get_data(as_text=True)


def test_a_reviewer_keeps_their_profile(app, client, login, panel: Panel) -> None:
    login(panel.emails["r2"])
    url = f"/{panel.slug}/reviews/profile"
    page = client.get(url).get_data(as_text=True)
    assert "hydrology, water quality" in page
    with app.app_context(), tenant_scope(panel.tenant_id):
        version = db.session.scalar(select(ReviewerProfile).where(
            ReviewerProfile.user_id == panel.users["r2"])).version
    data = {"version": version, "expertise": "limnology", "institute_id": "0",
            "nationality": "AT", "collaborators": "Ana Lima\n\n  Bo  Berg ", "max_load": "2"}
    assert client.post(url, data=data).status_code == 302
    stale = client.post(url, data={**data, "expertise": "typed twice"})
    assert stale.status_code == 409 and "typed twice" in stale.get_data(as_text=True)
    with app.app_context(), tenant_scope(panel.tenant_id):
        saved = db.session.scalar(select(ReviewerProfile).where(
            ReviewerProfile.user_id == panel.users["r2"]))
        assert (saved.expertise, saved.nationality, saved.max_load) == ("limnology", "AT", 2)
        assert saved.collaborator_names == ["Ana Lima", "Bo Berg"]


def test_officers_name_and_remove_funding_delegates(app, client, login, panel: Panel) -> None:
    login(panel.emails["officer"])
    assert "Make delegate" in client.get(f"/{panel.slug}/reviews/delegates").get_data(
        as_text=True)
    d1 = f"/{panel.slug}/reviews/donors/{panel.donors['d1']}/delegates"
    with app.app_context(), tenant_scope(panel.tenant_id):
        ids = {key: membership(panel, key).id for key in ("r1", "r2", "r3")}
    assert client.post(d1, data={"membership_id": ids["r2"], "action": "add"}).status_code == 302
    # r3 reviews for another donor: not one of d1's reviewers, so not found among them.
    assert client.post(d1, data={"membership_id": ids["r3"], "action": "add"}).status_code == 404
    client.post(d1, data={"membership_id": ids["r1"], "action": "remove"})
    with app.app_context(), tenant_scope(panel.tenant_id):
        named = {(d.donor_id, d.user_id) for d in db.session.scalars(select(DonorDelegate))}
        assert (panel.donors["d1"], panel.users["r2"]) in named
        assert (panel.donors["d1"], panel.users["r1"]) not in named
        assert (panel.donors["d1"], panel.users["r3"]) not in named
        assert funding.delegated_donor(user(panel, "r2")).id == panel.donors["d1"]
        assert funding.delegated_donor(user(panel, "r1")) is None


def test_the_officer_overview_and_dashboard_show_where_review_stands(app, client, login,
                                                                     panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        accepted(panel, "tb", "r3")
        conflicted = services.assign(proposal(panel, "water"), membership(panel, "r4"),
                                     by=user(panel, "officer"))
        services.declare(conflicted, by=user(panel, "r4"), conflict=True, reason="Cousin.")
        services.assign(proposal(panel, "water"), membership(panel, "r2"),
                        by=user(panel, "officer"))
        db.session.commit()
        # (The agreements tests' world has a call of its own, with an approved proposal.)
        progress = next(p for p in services.review_progress() if p.call.id == panel.call_id)
        assert (progress.under_review, progress.pending, progress.writing,
                progress.conflicts) == (2, 1, 1, 1)
    login(panel.emails["officer"])
    overview = client.get(f"/{panel.slug}/reviews/calls/").get_data(as_text=True)
    assert "Sustainable watersheds and public health" in overview
    dashboard = client.get(f"/{panel.slug}/dashboard").get_data(as_text=True)
    assert "1 conflict declared" in dashboard and "1 declaration awaited" in dashboard


def test_the_reminder_command_reminds_every_center(app, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        services.save_round(proposal(panel, "tb").call, by=user(panel, "officer"),
                            expected_version=0, reviewers_per_proposal=3, max_per_reviewer=6,
                            nationality_rule=NationalityRule.none,
                            phase=ReviewPhase.independent,
                            due_at=clock.now() + dt.timedelta(days=1))
        accepted(panel, "tb", "r3")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["reviews", "remind"])
    assert result.exit_code == 0 and "Reminders sent: 1." in result.output
    with app.app_context():
        mail = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.subject.like("Review due%")))
        assert mail.recipient == panel.emails["r3"] and "/reviews/assignments/" in mail.body
    again = app.test_cli_runner().invoke(args=["reviews", "remind"])
    assert again.exit_code == 0 and "Reminders sent: 0." in again.output
