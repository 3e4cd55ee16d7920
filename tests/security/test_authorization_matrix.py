"""Inside one center, nobody reaches another person's objects: every URL rule and method,
walked by every member who must not reach it, with real object ids.

The outsiders are members of the same center with the right kind of role but the wrong
object: another applicant, a co-applicant of another proposal, a reviewer of another donor,
a reviewer who declared a conflict on the proposal, a government official of another
country. Each must get 403 or 404 on every route that loads world A's objects, and the
database must be exactly as it was after each refused request. `ROUTES` says what every
route is; a route missing from it fails the test, so a new view must be thought about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call
from center.core import clock
from center.core.db import db, tenant_scope
from center.proposals import services as proposals
from center.reviews.models import Assignment, AssignmentStatus
from center.screening.models import ConcurrenceRequest
from center.tenants.models import Country, Role, Tenant
from tests.world import PASSWORD, World

#: What a route is, for this walk.
#: - "public": anyone may call it; nothing to check here.
#: - "own": it loads no object named in its URL (a list, a form for the user's own data, a
#:   center-wide setting); who may call it is the view's role declaration, checked elsewhere.
#: - "refused": it loads an object named in its URL; every outsider is refused.
ROUTES: dict[str, str] = {
    "static": "public", "core.healthz": "public", "tenants.choose": "public",
    "dashboard.home": "public", "calls.index": "public", "calls.detail": "public",
    "auth.login": "public", "auth.forgot_password": "public", "auth.register": "public",
    "auth.reset_password": "public", "auth.confirm_registration": "public",
    # An invitation's link is its own credential: bound to the invited address, single use.
    "tenants.join": "public",
    # Own data, lists and settings.
    "auth.account": "own", "auth.logout": "own", "auth.change_password": "own",
    "auth.end_other_sessions": "own", "dashboard.index": "own",
    "proposals.mine": "own", "proposals.all": "own", "proposals.start": "own",
    "reviews.mine": "own", "reviews.profile": "own", "reviews.calls": "own",
    "reviews.funding_index": "own", "reviews.delegates": "own",
    "screening.index": "own", "screening.concurrence_index": "own",
    "screening.sanctions": "own", "screening.settings": "own", "screening.run_deadlines": "own",
    "screening.workflow_diagram": "own", "screening.institutes": "own",
    "dedup.matches": "own", "dedup.projects": "own",
    "dedup.coordination": "own", "agreements.index": "own", "agreements.clauses": "own",
    "agreements.edit_clause": "own", "agreements.example_pdf": "own", "calls.create": "own",
    "tenants.members": "own", "tenants.institutes": "own", "tenants.donors": "own",
    "tenants.visa_rules": "own", "tenants.new_visa_regime": "own",
    "tenants.load_visa_rules": "own", "tenants.platform_index": "own",
    "tenants.create_tenant": "own", "core.outbox": "own",
    # Routes that load an object named in the URL.
    **{endpoint: "refused" for endpoint in (
        "agreements.acknowledge", "agreements.batch", "agreements.clause_version",
        "agreements.countersign", "agreements.download", "agreements.generate",
        "agreements.issue", "agreements.letter", "agreements.show",
        "calls.edit", "core.job_page", "core.job_status",
        "dedup.check_call", "dedup.check_proposal", "dedup.match",
        "proposals.accept", "proposals.download", "proposals.edit", "proposals.invite",
        "proposals.preview", "proposals.preview_pdf", "proposals.remove",
        "proposals.remove_file", "proposals.replace_file", "proposals.show",
        "proposals.transition",
        "reviews.assign", "reviews.assign_one", "reviews.call_funding", "reviews.commit",
        "reviews.consensus", "reviews.decide", "reviews.declare", "reviews.panel",
        "reviews.panel_csv", "reviews.panel_xlsx", "reviews.proposal_panel",
        "reviews.rapporteur", "reviews.remind",
        "reviews.reopen", "reviews.review", "reviews.review_file", "reviews.review_pdf",
        "reviews.set_delegate", "reviews.settings", "reviews.unassign",
        "screening.audit_csv", "screening.audit_trail", "screening.bulk", "screening.changes",
        "screening.clear_hit", "screening.concurrence_request", "screening.decide",
        "screening.refresh", "screening.review_sensitive", "screening.sanctions_list",
        "screening.show", "screening.start",
        "tenants.delete_visa_rule", "tenants.verify_institute", "tenants.cancel_invitation",
        "tenants.revoke", "tenants.visa_regime", "tenants.delete_visa_regime",
        "proposals.make_lead", "proposals.make_pi", "screening.confirm_institute",
        "screening.merge_institute", "agreements.confirm_split", "reviews.set_due",
    )},
}

#: Routes an outsider may legitimately reach although they name an object: the call's
#: funding board is shared by the reviewers of every donor of the call.
ALLOWED = {("reviews.call_funding", "reviewer_other_donor")}

#: Routes whose refusal is itself recorded (an attempt to use someone else's invitation is
#: audited): the refused request may redirect to a page saying why and add audit rows only.
AUDITED_REFUSALS = {"proposals.accept"}

#: The public endpoints, pinned: a view made public by mistake fails here.
PUBLIC_ENDPOINTS = {e for e, kind in ROUTES.items() if kind == "public"}


def _rules(app: Flask):
    return [r for r in app.url_map.iter_rules()]


def test_every_route_is_in_the_table(app) -> None:
    missing = sorted({r.endpoint for r in _rules(app)} - set(ROUTES))
    assert missing == [], f"add these routes to ROUTES in {__file__}: {missing}"
    stale = sorted(set(ROUTES) - {r.endpoint for r in _rules(app)})
    assert stale == [], f"these routes no longer exist: {stale}"


def test_the_public_endpoints_are_exactly_these(app) -> None:
    public = {r.endpoint for r in _rules(app)
              if getattr(app.view_functions[r.endpoint], "access", "public") == "public"}
    assert public == PUBLIC_ENDPOINTS


@pytest.fixture()
def outsiders(app: Flask, world: World) -> Iterator[dict[str, FlaskClient]]:
    """Members of center A who must not reach A's world objects, each signed in."""
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        tenant = db.session.get(Tenant, side.tenant_id)
        people = {}

        def member(key: str, role: Role, **extra) -> User:
            user = accounts.create_user(f"{key}@{side.slug}.example", key.replace("_", " "),
                                        PASSWORD)
            accounts.add_membership(user, tenant, role, by=None, **extra)
            people[key] = user
            return user

        other = member("other_applicant", Role.applicant)
        their_proposal = proposals.start_proposal(db.session.get(Call, side.ids["call_id"]),
                                                  by=other)
        co = member("coapplicant_elsewhere", Role.applicant)
        invitation = proposals.invite_collaborator(
            their_proposal, co.email, by=other, tenant=tenant,
            accept_url_for=lambda token: f"/invitations/{token}")
        proposals.accept_invitation(invitation, user=co)
        member("reviewer_other_donor", Role.reviewer, donor_id=side.donor_ids[1])
        conflicted = member("conflicted_reviewer", Role.reviewer, donor_id=side.donor_ids[0])
        db.session.add(Assignment(proposal_id=side.ids["proposal_id"],
                                  reviewer_id=conflicted.id, donor_id=side.donor_ids[0],
                                  status=AssignmentStatus.conflict, assigned_at=clock.now(),
                                  declared_at=clock.now(), conflict_reason="My co-author."))
        asked = db.session.get(ConcurrenceRequest, side.ids["concurrence_request_id"])
        member("official_other_country", Role.concurrence,
               country_code=next(c for c in _partner_countries() if c != asked.country_code))
        db.session.commit()
    clients = {}
    for key in people:
        client = app.test_client()
        response = client.post("/login", data={"email": f"{key}@{side.slug}.example",
                                               "password": PASSWORD})
        assert response.status_code == 302, key
        clients[key] = client
    yield clients


def _partner_countries() -> list[str]:
    return sorted(db.session.scalars(select(Country.code).where(Country.is_partner.is_(True))))


def _fingerprint() -> tuple:
    """Row counts of every table and the sum of every optimistic-lock version: a refused
    request that inserted, deleted or updated anything changes it."""
    parts = []
    for table in db.metadata.sorted_tables:
        count = select(func.count()).select_from(table)
        if "version" in table.c:
            count = select(func.count(), func.coalesce(func.sum(table.c.version), 0))
            count = count.select_from(table)
        parts.append((table.name, tuple(db.session.execute(count).one())))
    return tuple(parts)


def _fill(rule, ids: dict[str, object]) -> str:
    path = rule.rule
    for name in rule.arguments - {"tenant"}:
        assert name in ids, f"the world has no {name} for {rule.rule}: add it to tests/world"
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(ids[name]), path)
    return path


def test_outsiders_reach_no_object_of_another_member(app: Flask, world: World,
                                                      outsiders) -> None:
    side = world.a
    refused = []
    checked = 0
    for rule in _rules(app):
        if ROUTES.get(rule.endpoint) != "refused":
            continue
        path = _fill(rule, side.ids).replace("<tenant>", side.slug)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for persona, client in outsiders.items():
                if (rule.endpoint, persona) in ALLOWED:
                    continue
                with app.app_context(), tenant_scope(side.tenant_id):
                    before = _fingerprint()
                    db.session.remove()
                response = client.open(path, method=method, data={})
                with app.app_context(), tenant_scope(side.tenant_id):
                    after = _fingerprint()
                    db.session.remove()
                checked += 1
                changed = [b[0] for b, a in zip(before, after, strict=True) if a != b]
                if rule.endpoint in AUDITED_REFUSALS and response.status_code in (302, 403) \
                        and set(changed) <= {"audit_events"}:
                    continue
                if response.status_code not in (403, 404) or after != before:
                    refused.append((method, rule.rule, persona, response.status_code, changed))
    assert refused == [], "reached by an outsider (method, rule, who, status, tables changed):\n" \
        + "\n".join(map(str, refused))
    assert checked > 200
