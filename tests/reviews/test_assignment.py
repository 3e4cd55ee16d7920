"""Assigning reviewers: suggestions the officer accepts or adjusts, automatic conflicts of
interest, the reviewer's declaration before any content is shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import services
from center.reviews.models import Assignment, AssignmentStatus, NationalityRule, ReviewPhase
from center.tenants.models import Institute
from tests.reviews.conftest import (
    TB_ABSTRACT,
    Panel,
    accepted,
    membership,
    proposal,
    user,
)
from tests.support.states import put_in_state


def _plan(panel: Panel) -> dict[int, services.ProposalPlan]:
    return {p.proposal.id: p for p in services.assignment_plan(
        db.session.get(Proposal, panel.tb).call)}


def _names(options: list[services.ReviewerOption]) -> list[str]:
    return [o.membership.user.name for o in options]


def test_suggestions_fit_expertise_and_cover_both_donors(scope: Panel) -> None:
    plans = _plan(scope)
    tb, water = plans[scope.tb], plans[scope.water]
    assert len(tb.suggested) == 3 and len(water.suggested) == 3
    assert _names(tb.suggested)[0] in ("Chen Genome", "Reviewer of alpha")
    assert {o.membership.donor.short_name for o in tb.suggested} == {"D1", "D2"}
    assert "Emil Outside" not in _names(tb.suggested) + _names(tb.options)
    assert "tuberculosis" in next(o for o in tb.suggested
                                  if o.membership.user.name == "Chen Genome").match.shared
    assert _names(water.suggested)[:2] == ["Bea Wasser", "Dana Hydro"] or set(
        _names(water.suggested)[:2]) == {"Bea Wasser", "Dana Hydro"}


def test_the_officer_accepts_suggestions_in_bulk_and_reviewers_are_asked_to_declare(
        app, client, login, panel: Panel) -> None:
    login(panel.emails["officer"])
    url = f"/{panel.slug}/reviews/calls/{panel.call_id}/assign"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    picks = [f"{panel.tb}:{panel.users['r3']}", f"{panel.water}:{panel.users['r2']}"]
    assert all(f'value="{p}"' in html for p in picks)
    response = client.post(url, data={"picks": picks})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        rows = db.session.scalars(select(Assignment)).all()
        assert {(a.proposal_id, a.reviewer_id) for a in rows} == {
            (panel.tb, panel.users["r3"]), (panel.water, panel.users["r2"])}
        assert all(a.status == AssignmentStatus.pending for a in rows)
        mail = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == panel.emails["r3"])).all()
        assert len(mail) == 1 and "/conflict" in mail[0].body
        assert TB_ABSTRACT[:40] not in mail[0].body


def test_a_pick_that_is_not_a_suggestion_is_refused(client, login, panel: Panel) -> None:
    login(panel.emails["officer"])
    response = client.post(f"/{panel.slug}/reviews/calls/{panel.call_id}/assign",
                           data={"picks": [f"{panel.tb}:{panel.users['r5']}"]})
    assert response.status_code == 200  # the form re-renders: not a valid choice


def test_the_officer_adds_and_removes_one_reviewer(app, client, login, panel: Panel) -> None:
    login(panel.emails["officer"])
    response = client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/assign",
                           data={f"p{panel.tb}-reviewer_id": panel.users["r4"]})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment = db.session.scalar(select(Assignment))
        assert assignment.reviewer_id == panel.users["r4"]
    client.post(f"/{panel.slug}/reviews/assignments/{assignment.id}/remove")
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(Assignment)) is None
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "review.unassigned")) is not None


def test_a_reviewer_of_a_donor_outside_the_call_cannot_be_assigned(scope: Panel) -> None:
    with pytest.raises(services.ReviewError, match="does not take part"):
        services.assign(proposal(scope, "tb"), membership(scope, "r5"),
                        by=user(scope, "officer"))


def test_the_cap_per_reviewer_is_enforced(scope: Panel) -> None:
    call = proposal(scope, "tb").call
    services.save_round(call, by=user(scope, "officer"), expected_version=0,
                        reviewers_per_proposal=2, max_per_reviewer=1,
                        nationality_rule=NationalityRule.none, phase=ReviewPhase.independent,
                        due_at=None)
    services.assign(proposal(scope, "tb"), membership(scope, "r3"), by=user(scope, "officer"))
    with pytest.raises(services.ReviewError, match="their limit"):
        services.assign(proposal(scope, "water"), membership(scope, "r3"),
                        by=user(scope, "officer"))
    assert all(o.membership.user.name != "Chen Genome" for o in _plan(scope)[scope.water].suggested)


def _conflict_reasons(scope: Panel, key: str) -> list[str]:
    plan = _plan(scope)[scope.tb]
    return next((reasons for m, reasons in plan.excluded if m.user_id == scope.users[key]), [])


def test_working_at_an_institute_of_the_consortium_is_a_conflict(scope: Panel) -> None:
    profile = services.reviewer_profile(user(scope, "r3"))
    services.save_profile(user(scope, "r3"), by=user(scope, "r3"),
                          expected_version=profile.version, expertise=profile.expertise,
                          institute_id=scope.world.a.institute_ids[1], nationality="KR",
                          collaborators="", max_load=6)
    assert any("which is in the consortium" in r for r in _conflict_reasons(scope, "r3"))
    with pytest.raises(services.ReviewError, match="conflict of interest"):
        services.assign(proposal(scope, "tb"), membership(scope, "r3"), by=user(scope, "officer"))


def test_a_listed_collaborator_in_the_team_is_a_conflict(scope: Panel) -> None:
    profile = services.reviewer_profile(user(scope, "r4"))
    services.save_profile(user(scope, "r4"), by=user(scope, "r4"),
                          expected_version=profile.version, expertise=profile.expertise,
                          institute_id=None, nationality="NO",
                          collaborators="Somebody Else\n  aigerim   NURLANOVNA ", max_load=6)
    assert _conflict_reasons(scope, "r4") == ["Lists Aigerim Nurlanovna as a collaborator."]


def test_a_reviewer_in_the_team_under_another_name_and_e_mail_is_found_by_orcid(
        scope: Panel) -> None:
    reviewer, tb = user(scope, "r4"), proposal(scope, "tb")
    assert _conflict_reasons(scope, "r4") == []
    member = tb.team[0]
    member.name, member.email, member.orcid = "Q. Unrelated", "", "0000-0002-1825-0097"
    reviewer.orcid = "0000-0002-1694-233X"  # another person's iD: still no conflict
    db.session.flush()
    assert _conflict_reasons(scope, "r4") == []
    reviewer.orcid = "0000-0002-1825-0097"
    db.session.flush()
    assert _conflict_reasons(scope, "r4") == ["Applies in this proposal."]


def test_applying_with_a_consortium_institute_in_recent_years_is_a_conflict(
        scope: Panel) -> None:
    officer, reviewer = user(scope, "officer"), user(scope, "r2")
    botany = db.session.get(Institute, scope.world.a.institute_ids[1])
    call = proposal(scope, "tb").call
    old = proposals.start_proposal(call, by=reviewer)
    proposals.update_sections(old, "overview", by=reviewer, expected_revision=None,
                              title="An older joint project")
    proposals.add_partner(old, botany, lead=True, by=reviewer)
    put_in_state(old, ProposalStatus.rejected, by=officer)
    old.submitted_at = clock.now() - dt.timedelta(days=400)  # set-up: an earlier round
    db.session.flush()
    reasons = _conflict_reasons(scope, "r2")
    assert any("An older joint project" in r and "Institute of Botany" in r for r in reasons)
    # Four years back is outside the look-back.
    old.submitted_at = clock.now() - dt.timedelta(days=4 * 365 + 10)
    db.session.flush()
    assert _conflict_reasons(scope, "r2") == []


def test_the_calls_nationality_rule_excludes_nationals_of_consortium_countries(
        scope: Panel) -> None:
    profile = services.reviewer_profile(user(scope, "r4"))
    services.save_profile(user(scope, "r4"), by=user(scope, "r4"),
                          expected_version=profile.version, expertise="", institute_id=None,
                          nationality="KZ", collaborators="", max_load=6)
    assert _conflict_reasons(scope, "r4") == []
    services.save_round(proposal(scope, "tb").call, by=user(scope, "officer"),
                        expected_version=0, reviewers_per_proposal=3, max_per_reviewer=6,
                        nationality_rule=NationalityRule.not_consortium_country,
                        phase=ReviewPhase.independent, due_at=None)
    assert _conflict_reasons(scope, "r4") == ["A national of Kazakhstan, a country of the "
                                              "consortium."]


def test_declaring_no_conflict_opens_the_proposal(app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment = services.assign(proposal(panel, "tb"), membership(panel, "r3"),
                                     by=user(panel, "officer"))
        db.session.commit()
        assignment_id, version = assignment.id, assignment.version
    login(panel.emails["r3"])
    review_url = f"/{panel.slug}/reviews/assignments/{assignment_id}"
    assert client.get(review_url).headers["Location"].endswith("/conflict")
    page = client.get(f"{review_url}/conflict").get_data(as_text=True)
    assert "Genomic surveillance of drug-resistant tuberculosis" in page
    assert "whole-genome sequencing" not in page  # no content before the declaration
    response = client.post(f"{review_url}/conflict", data={"version": version,
                                                           "answer": "none"})
    assert response.headers["Location"].endswith(review_url)
    assert "whole-genome sequencing" in client.get(review_url).get_data(as_text=True)


def test_declaring_a_conflict_removes_the_assignment_and_tells_the_officers(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment = services.assign(proposal(panel, "tb"), membership(panel, "r3"),
                                     by=user(panel, "officer"))
        db.session.commit()
        assignment_id, version = assignment.id, assignment.version
    login(panel.emails["r3"])
    url = f"/{panel.slug}/reviews/assignments/{assignment_id}/conflict"
    missing_reason = client.post(url, data={"version": version, "answer": "conflict"})
    assert missing_reason.status_code == 200 and "what the conflict is" in (
        missing_reason.get_data(as_text=True))
    client.post(url, data={"version": version, "answer": "conflict",
                           "reason": "I co-supervise a student of the PI."})
    assert client.get(f"/{panel.slug}/reviews/assignments/{assignment_id}").status_code == 404
    assert client.get(url).status_code == 404
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment = db.session.get(Assignment, assignment_id)
        assert assignment.status == AssignmentStatus.conflict
        mail = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.recipient == panel.emails["officer"]))
        assert "co-supervise" in mail.body and "/assign" in mail.body
        plan = _plan(panel)[panel.tb]
        assert all(o.membership.user_id != panel.users["r3"] for o in plan.suggested)
        assert plan.short == 0  # someone else is suggested in their place
    client.post("/logout")
    login(panel.emails["officer"])
    page = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/assign")
    assert "co-supervise a student" in page.get_data(as_text=True)


def test_an_accepted_assignment_counts_and_a_declared_conflict_does_not(scope: Panel) -> None:
    accepted(scope, "tb", "r3")
    conflicted = services.assign(proposal(scope, "tb"), membership(scope, "r4"),
                                 by=user(scope, "officer"))
    services.declare(conflicted, by=user(scope, "r4"), conflict=True, reason="Former student.")
    plan = _plan(scope)[scope.tb]
    assert [a.reviewer_id for a in plan.active] == [scope.users["r3"]]
    assert len(plan.suggested) == 2
    with pytest.raises(services.ReviewError, match="declared a conflict"):
        services.assign(proposal(scope, "tb"), membership(scope, "r4"), by=user(scope, "officer"))


def test_the_officer_adds_any_reviewer_of_the_calls_donors_and_a_conflicted_one_is_refused(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        r3 = user(panel, "r3")
        profile = services.reviewer_profile(r3)
        services.save_profile(r3, by=r3, expected_version=profile.version,
                              expertise=profile.expertise,
                              institute_id=panel.world.a.institute_ids[0], nationality="KR",
                              collaborators="", max_load=6)
        services.save_round(proposal(panel, "tb").call, by=user(panel, "officer"),
                            expected_version=0, reviewers_per_proposal=1, max_per_reviewer=6,
                            nationality_rule=NationalityRule.none,
                            phase=ReviewPhase.independent, due_at=None)
        db.session.commit()
        plan = _plan(panel)[panel.tb]
        suggested = {o.membership.user_id for o in plan.suggested}
    login(panel.emails["officer"])
    page = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/assign").get_data(
        as_text=True)
    # The chooser lists the reviewers nobody suggested and the conflicted one, marked.
    assert "Chen Genome (D2) — conflict of interest" in page
    url = f"/{panel.slug}/reviews/proposals/{panel.tb}/assign"
    refused = client.post(url, data={f"p{panel.tb}-reviewer_id": panel.users["r3"]},
                          follow_redirects=True).get_data(as_text=True)
    assert "Chen Genome has a conflict of interest" in refused
    assert "which is in the consortium" in refused
    outsider = client.post(url, data={f"p{panel.tb}-reviewer_id": panel.users["r5"]},
                           follow_redirects=True).get_data(as_text=True)
    assert "Choose a reviewer of a donor taking part in the call." in outsider
    unsuggested = next(panel.users[k] for k in ("r1", "r2", "r4")
                       if panel.users[k] not in suggested)
    assert client.post(url, data={f"p{panel.tb}-reviewer_id": unsuggested}).status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert [a.reviewer_id for a in db.session.scalars(select(Assignment).where(
            Assignment.proposal_id == panel.tb))] == [unsuggested]
