"""Reviewing: the rubric form, drafts, submission, read-only reviews an officer may reopen,
what each phase shows of the other reviews, due dates and reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from center.core import clock
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.reviews import services
from center.reviews.models import (
    Assignment,
    NationalityRule,
    Review,
    ReviewPhase,
    ReviewStatus,
    weighted_score,
)
from tests.reviews.conftest import Panel, accepted, membership, proposal, review, user

RUBRIC = [{"name": "Scientific merit", "weight": 60, "scale": 5},
          {"name": "Team", "weight": 40, "scale": 5}]


def _round(panel: Panel, *, phase: ReviewPhase = ReviewPhase.independent,
           due_at: dt.datetime | None = None) -> None:
    current = services.round_for(proposal(panel, "tb").call)
    services.save_round(proposal(panel, "tb").call, by=user(panel, "officer"),
                        expected_version=services.round_version(current),
                        reviewers_per_proposal=3, max_per_reviewer=6,
                        nationality_rule=NationalityRule.none, phase=phase, due_at=due_at)


@pytest.mark.parametrize("scores,expected", [
    ({"Scientific merit": 5, "Team": 5}, 100.0),
    ({"Scientific merit": 1, "Team": 5}, 52.0),
    ({"Scientific merit": 4, "Team": 3}, 72.0),
    ({"Scientific merit": 4}, None),
])
def test_the_weighted_score_follows_the_rubric(scores: dict, expected: float | None) -> None:
    assert weighted_score(scores, RUBRIC) == expected


def _accepted_ids(app, panel: Panel, *keys: str) -> list[int]:
    with app.app_context(), tenant_scope(panel.tenant_id):
        ids = [accepted(panel, "tb", key).id for key in keys]
        db.session.commit()
    return ids


def _post(client, panel: Panel, assignment_id: int, *, follow: bool = False,  # noqa: ANN001
          **data):  # noqa: ANN003, ANN202
    return client.post(f"/{panel.slug}/reviews/assignments/{assignment_id}", data=data,
                       follow_redirects=follow)


def test_a_reviewer_saves_a_draft_then_submits_and_it_becomes_read_only(
        app, client, login, panel: Panel) -> None:
    (assignment_id,) = _accepted_ids(app, panel, "r3")
    login(panel.emails["r3"])
    page = client.get(f"/{panel.slug}/reviews/assignments/{assignment_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Scientific merit" in html and "Weight 60 %" in html
    draft = _post(client, panel, assignment_id, version="0", score_0="4",
                  comments_to_applicants="Good plan.", action="save")
    assert draft.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        saved = db.session.scalar(select(Review))
        assert saved.status == ReviewStatus.draft and saved.scores == {"Scientific merit": 4}
        version = saved.version
    incomplete = _post(client, panel, assignment_id, version=version, score_0="4",
                       comments_to_applicants="Good plan.", action="submit")
    assert incomplete.status_code == 422
    assert "Score “Team”." in incomplete.get_data(as_text=True)
    assert 'selected value="4"' in incomplete.get_data(as_text=True)  # typed input kept
    done = _post(client, panel, assignment_id, version=version, score_0="4", score_1="3",
                 comments_to_applicants="Good plan.", confidential_comments="Ambitious.",
                 action="submit")
    assert done.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        saved = db.session.scalar(select(Review))
        assert saved.status == ReviewStatus.submitted and saved.submitted_at is not None
        version = saved.version
    again = _post(client, panel, assignment_id, version=version, score_0="1", score_1="1",
                  comments_to_applicants="Changed my mind.", action="submit",
                  follow=True)
    assert "can no longer be changed" in again.get_data(as_text=True)
    assert 'name="action"' not in again.get_data(as_text=True)  # no form any more
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(Review)).scores == {"Scientific merit": 4, "Team": 3}


def test_a_stale_save_is_refused_and_keeps_what_was_typed(app, client, login,
                                                          panel: Panel) -> None:
    (assignment_id,) = _accepted_ids(app, panel, "r3")
    login(panel.emails["r3"])
    _post(client, panel, assignment_id, version="0", score_0="4",
          comments_to_applicants="Saved in tab one.", action="save")
    second = _post(client, panel, assignment_id, version="0", score_0="2",
                   comments_to_applicants="Typed in tab two.", action="save")
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "saved elsewhere" in html and "Typed in tab two." in html
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(Review)).comments_to_applicants == "Saved in tab one."


def test_an_officer_reopens_a_submitted_review_and_the_reviewer_is_told(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment = accepted(panel, "tb", "r3")
        review(assignment, 4, 3)
        db.session.commit()
        assignment_id = assignment.id
    login(panel.emails["officer"])
    url = f"/{panel.slug}/reviews/assignments/{assignment_id}/reopen"
    assert client.post(url, data={f"a{assignment_id}-reason": ""}).status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(Review)).status == ReviewStatus.submitted
    client.post(url, data={f"a{assignment_id}-reason": "Please score the team again."})
    with app.app_context(), tenant_scope(panel.tenant_id):
        reopened = db.session.scalar(select(Review))
        assert reopened.status == ReviewStatus.draft and reopened.submitted_at is None
        mail = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.recipient == panel.emails["r3"],
            OutboxMessage.subject.like("Review reopened%")))
        assert "score the team again" in mail.body


def test_a_reviewer_cannot_reopen_a_review(client, login, panel: Panel) -> None:
    login(panel.emails["r3"])
    assert client.post(f"/{panel.slug}/reviews/assignments/1/reopen").status_code == 403


def test_other_reviews_stay_hidden_until_the_discussion_phase_and_ones_own_submission(
        scope: Panel) -> None:
    first, second = accepted(scope, "tb", "r3"), accepted(scope, "tb", "r1")
    review(first, 5, 4, confidential="Strong team.")
    rr = services.round_for(proposal(scope, "tb").call)
    from center.reviews.permissions import can_see_other_reviews

    assert not can_see_other_reviews(first, rr)  # independent phase
    _round(scope, phase=ReviewPhase.discussion)
    rr = services.round_for(proposal(scope, "tb").call)
    assert can_see_other_reviews(first, rr)
    assert not can_see_other_reviews(second, rr)  # has not submitted
    review(second, 2, 2)
    assert can_see_other_reviews(second, rr)
    (label, seen), = services.other_reviews(second)
    assert label == "Reviewer 1" and seen.confidential_comments == "Strong team."


def test_the_review_page_hides_other_scores_before_submission(app, client, login,
                                                              panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        first, second = accepted(panel, "tb", "r3"), accepted(panel, "tb", "r1")
        review(first, 5, 4, confidential="A secret for the panel.")
        _round(panel, phase=ReviewPhase.discussion)
        db.session.commit()
        second_id = second.id
    login(panel.emails["r1"])
    html = client.get(f"/{panel.slug}/reviews/assignments/{second_id}").get_data(as_text=True)
    assert "A secret for the panel." not in html and "once you submitted yours" in html
    _post(client, panel, second_id, version="0", score_0="3", score_1="3",
          comments_to_applicants="Fine.", action="submit")
    html = client.get(f"/{panel.slug}/reviews/assignments/{second_id}").get_data(as_text=True)
    assert "A secret for the panel." in html and "Chen Genome" not in html


def test_a_closed_round_refuses_every_save(scope: Panel) -> None:
    assignment = accepted(scope, "tb", "r3")
    _round(scope, phase=ReviewPhase.closed)
    with pytest.raises(services.ReviewError, match="closed the review round"):
        review(assignment, 4, 4, submit=False)


def test_a_new_due_date_moves_open_reviews_and_reminders_go_once(scope: Panel) -> None:
    due = clock.now() + dt.timedelta(days=10)
    _round(scope, due_at=due)
    early = accepted(scope, "tb", "r3")
    done = accepted(scope, "tb", "r1")
    review(done, 3, 3)
    assert early.due_at == due
    assert services.send_reminders() == 0  # not due within three days
    later = due - dt.timedelta(days=2)
    assert services.send_reminders(now=later) == 1
    assert services.send_reminders(now=later + dt.timedelta(hours=5)) == 0
    assert services.send_reminders(now=due + dt.timedelta(days=1)) == 1
    mail = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.subject.like("Review %due%")).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in mail] == [scope.emails["r3"]] * 2
    assert mail[1].subject.startswith("Review overdue") and "was due" in mail[1].body
    new_due = due + dt.timedelta(days=7)
    _round(scope, due_at=new_due)
    assert db.session.get(Assignment, early.id).due_at == new_due
    assert db.session.get(Assignment, done.id).due_at == due


def test_the_reviewer_lists_and_dashboard_show_what_is_due(app, client, login,
                                                           panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        services.assign(proposal(panel, "water"), membership(panel, "r3"),
                        by=user(panel, "officer"))
        db.session.commit()
    login(panel.emails["r3"])
    mine = client.get(f"/{panel.slug}/reviews/").get_data(as_text=True)
    assert "Small rivers, heavy metals and village health" in mine
    assert "Declare any conflict of interest" in mine
    dashboard = client.get(f"/{panel.slug}/dashboard").get_data(as_text=True)
    assert "Declare any conflict of interest" in dashboard
    assert "Commit funds for Donor Two of alpha" in dashboard
