"""The JSON API with tokens of every role: what each may read and change, and the refusals."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from center.api.models import ApiToken
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from tests.support.api import bearer, issue_token
from tests.world import World


def base(world: World, side: str = "a") -> str:
    return f"/{getattr(world, side).slug}/api/v1"


@pytest.fixture()
def applicant(app: Flask, world: World) -> dict[str, str]:
    return bearer(issue_token(app, world.a, world.a.emails["applicant"]))


def test_no_token_is_401_with_a_json_message(client: FlaskClient, world: World, login) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = client.get(f"{base(world)}/calls", headers=headers)
        assert response.status_code == 401
        assert response.is_json and "Bearer" in response.json["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # A browser's session is no credential: CSRF cannot reach the API.
    login(world.a.emails["applicant"])
    assert client.get(f"{base(world)}/proposals").status_code == 401


def test_a_token_works_only_in_its_own_center(app: Flask, client: FlaskClient,
                                              world: World, applicant) -> None:
    assert client.get(f"{base(world)}/token", headers=applicant).json["center"] == world.a.slug
    assert client.get(f"{base(world, 'b')}/token", headers=applicant).status_code == 401


def test_token_info_names_its_owner_and_roles(client: FlaskClient, world: World,
                                              applicant) -> None:
    info = client.get(f"{base(world)}/token", headers=applicant).json
    assert info["email"] == world.a.emails["applicant"]
    assert info["roles"] == ["applicant"] and info["scope"] == "write"


def test_calls_list_is_paged_and_amounts_name_their_currency(client: FlaskClient, world: World,
                                                             applicant) -> None:
    page = client.get(f"{base(world)}/calls?per_page=1", headers=applicant).json
    assert page["per_page"] == 1 and page["total"] >= 1 and len(page["items"]) == 1
    call = page["items"][0]
    assert call["budget_ceiling"]["currency"] == "EUR"
    assert "." in call["budget_ceiling"]["amount"]
    for bad in ("page=0", "per_page=1000", "page=abc", "state=nonsense"):
        response = client.get(f"{base(world)}/calls?{bad}", headers=applicant)
        assert response.status_code == 422, bad
        assert response.json["errors"]["query"]


def test_applicant_opens_saves_and_is_refused_like_on_the_page(
        app: Flask, client: FlaskClient, world: World, applicant) -> None:
    call_id = world.a.ids["call_id"]
    created = client.post(f"{base(world)}/proposals", json={"call_id": call_id},
                          headers=applicant)
    assert created.status_code == 201, created.json
    proposal = created.json
    assert proposal["status"] == "draft" and proposal["editable"]
    url = f"{base(world)}/proposals/{proposal['id']}/overview"
    saved = client.patch(url, json={"title": "Снеговые запасы Тянь-Шаня", "duration_months": 12,
                                    "expected_revision": 0}, headers=applicant)
    assert saved.status_code == 200, saved.json
    assert saved.json["title"] == "Снеговые запасы Тянь-Шаня"
    assert saved.json["revisions"]["overview"] == 1
    # A field left out keeps its value; the page's rules apply (the call's maximum).
    too_long = client.patch(url, json={"duration_months": 400}, headers=applicant)
    assert too_long.status_code == 422
    assert "duration_months" in too_long.json["errors"]["json"]
    # A save made from a stale read is refused, not written over the newer one.
    stale = client.patch(url, json={"abstract": "Old text", "expected_revision": 0},
                         headers=applicant)
    assert stale.status_code == 409 and "after you opened it" in stale.json["message"]
    with app.app_context(), tenant_scope(world.a.tenant_id):
        row = db.session.get(Proposal, proposal["id"])
        assert (row.title, row.duration_months, row.abstract) == (
            "Снеговые запасы Тянь-Шаня", 12, "")
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "proposal.overview_saved",
            AuditEvent.object_id == row.id)) is not None
        db.session.remove()


def test_submit_lists_what_stops_it_and_needs_the_declaration(
        client: FlaskClient, world: World, applicant) -> None:
    proposal = client.post(f"{base(world)}/proposals", json={"call_id": world.a.ids["call_id"]},
                           headers=applicant).json
    url = f"{base(world)}/proposals/{proposal['id']}/submit"
    undeclared = client.post(url, json={"expected_version": proposal["version"],
                                        "declaration": False}, headers=applicant)
    assert undeclared.status_code == 422 and "declaration" in undeclared.json["errors"]["json"]
    blocked = client.post(url, json={"expected_version": proposal["version"],
                                     "declaration": True}, headers=applicant)
    assert blocked.status_code == 422
    assert blocked.json["errors"]["json"]["proposal"]


def test_a_read_token_changes_nothing(app: Flask, client: FlaskClient, world: World) -> None:
    reader = bearer(issue_token(app, world.a, world.a.emails["applicant"], scope="read"))
    response = client.post(f"{base(world)}/proposals", json={"call_id": world.a.ids["call_id"]},
                           headers=reader)
    assert response.status_code == 403 and "only read" in response.json["message"]


@pytest.mark.parametrize(("role", "path", "status"), [
    ("reviewer", "/proposals", 403), ("officer", "/proposals", 403),
    ("applicant", "/reviews", 403), ("applicant", "/projects", 403),
    ("concurrence", "/agreements", 403), ("officer", "/projects", 200),
    ("reviewer", "/reviews", 200), ("admin", "/agreements", 200),
    ("signatory", "/agreements", 200), ("concurrence", "/calls", 200),
])
def test_each_role_reaches_what_its_pages_reach(app: Flask, client: FlaskClient, world: World,
                                                role: str, path: str, status: int) -> None:
    token = bearer(issue_token(app, world.a, world.a.emails[role], scope="read"))
    response = client.get(base(world) + path, headers=token)
    assert response.status_code == status, response.json


def test_another_applicants_proposal_is_404(app: Flask, client: FlaskClient,
                                             world: World) -> None:
    officer = bearer(issue_token(app, world.a, world.a.emails["officer"]))
    proposal_id = world.a.ids["proposal_id"]
    assert client.get(f"{base(world)}/proposals/{proposal_id}", headers=officer).status_code == 200
    with app.app_context(), tenant_scope(world.a.tenant_id):
        from center.auth import services as accounts
        from center.tenants.models import Role, Tenant
        other = accounts.create_user("other@alpha.example", "Other Applicant", "x" * 12)
        accounts.add_membership(other, db.session.get(Tenant, world.a.tenant_id),
                                Role.applicant, by=None)
        db.session.commit()
        db.session.remove()
    theirs = bearer(issue_token(app, world.a, "other@alpha.example"))
    response = client.get(f"{base(world)}/proposals/{proposal_id}", headers=theirs)
    assert response.status_code == 404 and response.is_json
    patch = client.patch(f"{base(world)}/proposals/{proposal_id}/overview",
                         json={"title": "Mine now"}, headers=theirs)
    assert patch.status_code == 404


def test_a_revoked_or_expired_token_is_refused(app: Flask, client: FlaskClient,
                                              world: World, applicant) -> None:
    from center.core import clock
    assert client.get(f"{base(world)}/token", headers=applicant).status_code == 200
    with app.app_context(), tenant_scope(world.a.tenant_id):
        for token in db.session.scalars(select(ApiToken)):
            token.revoked_at = clock.now()
        db.session.commit()
        db.session.remove()
    assert client.get(f"{base(world)}/token", headers=applicant).status_code == 401


def test_the_secret_is_not_stored(app: Flask, world: World) -> None:
    secret = issue_token(app, world.a, world.a.emails["admin"])
    with app.app_context(), tenant_scope(world.a.tenant_id):
        stored = [(t.prefix, t.secret_hash) for t in db.session.scalars(select(ApiToken))]
        db.session.remove()
    assert all(secret not in (prefix, digest) for prefix, digest in stored)
    assert any(secret.startswith(prefix) for prefix, _ in stored)


def test_the_documents_describe_every_endpoint(client: FlaskClient, world: World) -> None:
    generic = client.get("/openapi.json").json
    center = client.get(f"{base(world)}/openapi.json").json
    assert "{center}" in generic["servers"][0]["url"]
    assert center["servers"][0]["url"].endswith(f"/{world.a.slug}/api/v1")
    assert {"/calls", "/proposals", "/proposals/{proposal_id}/submit", "/reviews/{assignment_id}",
            "/projects", "/agreements/{agreement_id}/pdf", "/token"} <= set(center["paths"])
    assert not any("tenant" in str(item.get("parameters", "")) for item in center["paths"].values())
    assert center["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert {tag["name"] for tag in center["tags"]} == {
        "Token", "Calls", "Proposals", "Reviews", "Portfolio", "Agreements"}
    page = client.get(f"{base(world)}/docs")
    assert page.status_code == 200 and b"swagger-ui" in page.data
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/assets/index.html").status_code == 404


def test_an_agreement_downloads_as_stored_and_states_the_committed_total(
        app: Flask, client: FlaskClient, world: World) -> None:
    admin = bearer(issue_token(app, world.a, world.a.emails["admin"], scope="read"))
    agreement_id = world.a.ids["agreement_id"]
    shown = client.get(f"{base(world)}/agreements/{agreement_id}", headers=admin).json
    with app.app_context(), tenant_scope(world.a.tenant_id):
        from center.agreements.models import Agreement
        from center.core.money import to_decimal
        stored = db.session.get(Agreement, agreement_id)
        assert shown["total"] == {"amount": str(to_decimal(stored.total, "EUR")),
                                  "currency": "EUR"}
        db.session.remove()
    pdf = client.get(f"{base(world)}/agreements/{agreement_id}/pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == shown["sha256"]
    assert pdf.headers["X-Content-SHA256"] == shown["sha256"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert re.sub(r"\D", "", shown["total"]["amount"]) in re.sub(r"\D", "", text)


def test_a_reviewer_saves_and_submits_a_review(app: Flask, client: FlaskClient,
                                               world: World) -> None:
    from center.auth.models import User
    from center.core import clock
    from center.proposals import services as proposals
    from center.proposals.models import ProposalStatus
    from center.reviews.models import Assignment, AssignmentStatus
    from center.tenants.models import Institute, Role
    from tests.reviews.conftest import fill
    from tests.support.states import put_in_state
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        from center.calls.models import Call
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        proposal = proposals.start_proposal(db.session.get(Call, side.ids["call_id"]),
                                            by=applicant)
        fill(proposal, applicant, title="Permafrost carbon", abstract="Boreholes.",
             keywords="permafrost", pi="Dana Petrova",
             institutes=[db.session.get(Institute, i) for i in side.institute_ids],
             budget={side.donor_ids[0]: 10_000_00})
        put_in_state(proposal, ProposalStatus.under_review,
                     by=db.session.get(User, side.user_ids[Role.officer]))
        assignment = Assignment(proposal_id=proposal.id, reviewer_id=side.user_ids[Role.reviewer],
                                donor_id=side.donor_ids[0], status=AssignmentStatus.accepted,
                                assigned_at=clock.now(), declared_at=clock.now(),
                                conflict_reason="")
        db.session.add(assignment)
        db.session.commit()
        assignment_id = assignment.id
        db.session.remove()
    reviewer = bearer(issue_token(app, side, side.emails["reviewer"]))
    url = f"{base(world)}/reviews/{assignment_id}"
    shown = client.get(url, headers=reviewer).json
    assert shown["proposal"]["title"] == "Permafrost carbon" and shown["editable"]
    assert [c["name"] for c in shown["rubric"]] == ["Scientific merit", "Team"]
    out_of_scale = client.put(url, json={"expected_version": 0, "scores": {
        "Scientific merit": 9}}, headers=reviewer)
    assert out_of_scale.status_code == 422 and "score_0" in out_of_scale.json["errors"]["json"]
    unknown = client.put(url, json={"expected_version": 0, "scores": {"Charm": 3}},
                         headers=reviewer)
    assert unknown.status_code == 422 and "Charm" in str(unknown.json["errors"])
    draft = client.put(url, json={"expected_version": 0, "scores": {"Scientific merit": 4}},
                       headers=reviewer)
    assert draft.status_code == 200 and draft.json["review"]["scores"] == {"Scientific merit": 4}
    stale = client.put(url, json={"expected_version": 0, "scores": {"Team": 2}},
                       headers=reviewer)
    assert stale.status_code == 409
    incomplete = client.put(url, json={"expected_version": draft.json["review"]["version"],
                                       "scores": {"Scientific merit": 4}, "submit": True},
                            headers=reviewer)
    assert incomplete.status_code == 422
    done = client.put(url, json={"expected_version": draft.json["review"]["version"],
                                 "scores": {"Scientific merit": 4, "Team": 5},
                                 "comments_to_applicants": "Sound design.", "submit": True},
                      headers=reviewer)
    assert done.status_code == 200, done.json
    assert done.json["submitted"] and not done.json["editable"]
    again = client.put(url, json={"expected_version": done.json["review"]["version"],
                                  "scores": {"Team": 1}}, headers=reviewer)
    assert again.status_code == 409


def test_tokens_are_issued_shown_once_and_revoked_on_the_account_page(
        app: Flask, client: FlaskClient, world: World, login) -> None:
    login(world.a.emails["reviewer"])
    page = f"/{world.a.slug}/account/tokens"
    assert client.get(page).status_code == 200
    refused = client.post(page, data={"name": "", "scope": "write", "lifetime": "30"})
    assert refused.status_code == 422
    issued = client.post(page, data={"name": "Donor board sheet", "scope": "read",
                                     "lifetime": "30"})
    assert issued.status_code == 201
    secret = re.search(r'<code id="new-token">([^<]+)</code>', issued.get_data(as_text=True))[1]
    assert secret not in client.get(page).get_data(as_text=True)  # shown once
    assert client.get(f"{base(world)}/token", headers=bearer(secret)).json["scope"] == "read"
    with app.app_context(), tenant_scope(world.a.tenant_id):
        token_id = db.session.scalar(select(ApiToken.id).where(
            ApiToken.name == "Donor board sheet"))
        db.session.remove()
    # Someone else's token is not theirs to revoke.
    other = world.a.ids["token_id"]
    assert client.post(f"{page}/{other}/revoke").status_code == 404
    assert client.post(f"{page}/{token_id}/revoke").status_code == 302
    assert client.get(f"{base(world)}/token", headers=bearer(secret)).status_code == 401


def test_each_token_has_its_own_rate_limit_answered_in_json(tmp_root, world: World) -> None:
    from center import create_app
    from center.extensions import limiter
    from tests.conftest import _test_settings

    limited = create_app(_test_settings(tmp_root, RATE_LIMITS=True, LIMIT_API="2 per minute"))
    limiter.reset()
    try:
        first = bearer(issue_token(limited, world.a, world.a.emails["applicant"]))
        second = bearer(issue_token(limited, world.a, world.a.emails["officer"]))
        client = limited.test_client()
        answers = [client.get(f"{base(world)}/calls", headers=first).status_code
                   for _ in range(3)]
        assert answers == [200, 200, 429]
        refused = client.get(f"{base(world)}/calls", headers=first)
        assert refused.is_json and refused.json["code"] == 429
        assert client.get(f"{base(world)}/calls", headers=second).status_code == 200
    finally:
        limiter.reset()


@pytest.mark.parametrize("body", [
    {"title": "Water\x00quality"}, {"duration_months": "12,5"}, {"duration_months": 10**30},
    {"duration_months": "Infinity"}, {"expected_revision": -1}, {"title": ["a list"]},
    {"title": "x" * 301}, {"topic": "Not a topic of the call"},
])
def test_hostile_section_input_is_refused_and_changes_nothing(
        app: Flask, client: FlaskClient, world: World, applicant, body: dict) -> None:
    proposal = client.post(f"{base(world)}/proposals", json={"call_id": world.a.ids["call_id"]},
                           headers=applicant).json
    response = client.patch(f"{base(world)}/proposals/{proposal['id']}/overview", json=body,
                            headers=applicant)
    assert response.status_code in (400, 422) and response.is_json, response.data[:300]
    assert response.json["message"]
    after = client.get(f"{base(world)}/proposals/{proposal['id']}", headers=applicant).json
    assert after["revisions"]["overview"] == 0 and after["title"] == ""


def test_a_body_that_is_not_json_is_a_clear_error(client: FlaskClient, world: World,
                                                  applicant) -> None:
    response = client.post(f"{base(world)}/proposals", data="call_id=1", headers={
        **applicant, "Content-Type": "application/json"})
    assert response.status_code in (400, 422) and response.is_json


def test_every_endpoint_that_names_an_object_declares_how_it_loads_it(app: Flask) -> None:
    """Like the pages' object permissions: an API endpoint with an id in its URL declares
    the loader that refuses whoever may not reach that object (checked before its body)."""
    undeclared = [rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("api_") and rule.arguments - {"tenant"}
                  and getattr(app.view_functions[rule.endpoint], "loads", None) is None]
    assert undeclared == []
