"""Inside one center, nobody reaches another person's objects: every URL rule and method,
walked by every member who must not reach it, with real object ids.

The outsiders are members of the same center with the right kind of role but the wrong
object: another applicant, a co-applicant of another proposal, a reviewer of another donor,
a reviewer who declared a conflict on the proposal, a government official of another
country, and a blind reviewer: a reviewer of the proposal's donor, assigned to the proposal
itself, on a call made double-blind, and a delegate of that donor. Each must get 403 or 404
on every route that loads world A's objects (but those `ALLOWED` them, or `EXPECTED` to answer
otherwise), and the database must be exactly as it was after each refused request. Whatever
page or PDF the blind reviewer does reach, among those routes and their own lists, names none
of the applicants or their institutes, as in the redaction crawl of
tests/reviews/test_blind_crawl.py. `ROUTES` says what every route is; a route missing from it
fails the test, so a new view must be thought about.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from center.auth import services as accounts
from center.auth.models import User
from center.calls import services as calls
from center.calls.models import Call, ReviewMode
from center.core import clock
from center.core.db import db, tenant_scope
from center.core.exports import XLSX_MIMETYPE
from center.proposals import services as proposals
from center.proposals.models import ProposalStatus
from center.reviews import funding
from center.reviews.models import Assignment, AssignmentStatus
from center.screening.models import ConcurrenceRequest
from center.tenants.models import Country, Donor, Institute, Role, Tenant
from tests.reviews.conftest import fill
from tests.support.api import bearer, is_api_rule, issue_token
from tests.support.states import put_in_state
from tests.world import PASSWORD, World

#: What a route is, for this walk.
#: - "public": anyone may call it; nothing to check here.
#: - "own": it loads no object named in its URL (a list, a form for the user's own data, a
#:   center-wide setting); who may call it is the view's role declaration, checked elsewhere.
#: - "refused": it loads an object named in its URL; every outsider is refused.
ROUTES: dict[str, str] = {
    "static": "public", "core.healthz": "public", "core.readyz": "public",
    # /metrics: a bearer token (METRICS_TOKEN) or loopback; tests/ops/test_metrics.py.
    "core.metrics": "public", "tenants.choose": "public",
    "dashboard.home": "public", "calls.index": "public", "calls.detail": "public",
    "auth.login": "public", "auth.forgot_password": "public", "auth.register": "public",
    "auth.choose_language": "public",
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
    "screening.sanctions": "own", "screening.settings": "own",
    "screening.save_list_source": "own", "screening.fetch_list_now": "own",
    "screening.run_deadlines": "own",
    "screening.workflow_diagram": "own", "screening.institutes": "own",
    "dedup.matches": "own", "dedup.projects": "own",
    "dedup.coordination": "own", "agreements.index": "own", "agreements.clauses": "own",
    "agreements.edit_clause": "own", "agreements.example_pdf": "own", "calls.create": "own",
    "tenants.members": "own", "tenants.institutes": "own", "tenants.import_ror": "own",
    "tenants.donors": "own",
    "tenants.visa_rules": "own", "tenants.new_visa_regime": "own",
    "tenants.document_language": "own",
    "tenants.load_visa_rules": "own", "tenants.platform_index": "own",
    "tenants.create_tenant": "own", "core.outbox": "own", "projects.index": "own",
    "amendments.index": "own", "monitoring.claim_list": "own",
    # The JSON API: its document and interactive page are public; a token reaches the rest.
    "api.openapi": "public", "api.center_openapi": "public", "api.docs": "public",
    "api.docs_asset": "public", "api.tokens_page": "own",
    "api_token.show": "own", "api_calls.list": "own", "api_proposals.list": "own",
    "api_proposals.start": "own", "api_reviews.list": "own", "api_portfolio.list": "own",
    "api_agreements.list": "own",
    # A call is read by every member, as its page is by anyone.
    "api_calls.show": "own",
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
        "projects.show", "projects.report", "projects.report_action", "projects.report_comment",
        "projects.report_file", "projects.report_download", "projects.tranche",
        "projects.close", "projects.summary_pdf",
        "effort.cards", "effort.decide", "amendments.project_changes", "amendments.show",
        "amendments.download", "amendments.acknowledge", "monitoring.project",
        "monitoring.record_visit", "monitoring.close_action", "monitoring.hand_over",
        "monitoring.claim", "exports.call_exports", "exports.call_csv", "exports.call_xlsx",
        "screening.audit_xlsx", "api.revoke_token",
        "api_proposals.show", "api_proposals.overview", "api_proposals.ip",
        "api_proposals.submit", "api_reviews.show", "api_reviews.save", "api_portfolio.show",
        "api_agreements.show", "api_agreements.pdf",
    )},
}

#: Routes an outsider may legitimately reach although they name an object: the call's
#: funding board is shared by the reviewers of every donor of the call, and the blind
#: reviewer of the proposal sees it there too (struck of names, checked below).
ALLOWED = {("reviews.call_funding", "reviewer_other_donor"),
           ("reviews.call_funding", "blind_reviewer")}
#: The world's project is funded by D1; the matrix's conflicted and blind reviewers act for
#: D1 and are bound to other proposals only, so they read the project's pages as every
#: reviewer of a funding donor does (a reviewer of D2 is still refused).
PROJECT_PAGES = {f"projects.{endpoint}" for endpoint in (
    "show", "report", "report_action", "report_comment", "report_download", "summary_pdf")
} | {"api_portfolio.show"}
ALLOWED |= {(endpoint, persona) for endpoint in PROJECT_PAGES
            for persona in ("conflicted_reviewer", "blind_reviewer")}
#: A call's exports answer a delegate of any donor that may fund the call, scoped to that
#: donor: the blind reviewer delegates for the call's donor, so they read its exports, struck
#: of names (checked below, the XLSX too).
ALLOWED |= {(f"exports.{endpoint}", "blind_reviewer")
            for endpoint in ("call_exports", "call_csv", "call_xlsx")}

#: Refusals other than 403/404 that the table expects (the database still unchanged): the
#: blind reviewer delegates for the call's donor, so an empty commitment is a field error.
EXPECTED = {("reviews.commit", "blind_reviewer"): {422}}

#: Where the blind reviewer may be, whatever they reach must be struck of these (the world's
#: applicant and the proposal's institutes, by name and address). A funded project is not
#: under blind review: its pages name its team to every reviewer of its donors, so they are
#: not searched for names.
BLIND_PERSONA = "blind_reviewer"
NAMED_BY_DESIGN = PROJECT_PAGES
#: The principal investigator of the proposal the blind reviewer is assigned to.
BLIND_PI = "Aigerim Nurlanovna"

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
        blind = member(BLIND_PERSONA, Role.reviewer, donor_id=side.donor_ids[0])
        call = db.session.get(Call, side.ids["call_id"])
        calls.update_call(call, by=db.session.get(User, side.user_ids[Role.officer]),
                          expected_version=call.version, review_mode=ReviewMode.double_blind)
        # A delegate of the donor, as the crawl's blind reviewer is: the funding board too.
        funding.add_delegate(db.session.get(Donor, side.donor_ids[0]), blind,
                             by=db.session.get(User, side.user_ids[Role.admin]))
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        theirs = proposals.start_proposal(call, by=applicant)
        fill(theirs, applicant, title="Glacier melt and drinking water",
             abstract="Sampling at the lead institute.", keywords="glaciers",
             institutes=[db.session.get(Institute, i) for i in side.institute_ids],
             pi=BLIND_PI, budget={side.donor_ids[0]: 10_000_00})
        put_in_state(theirs, ProposalStatus.under_review,
                     by=db.session.get(User, side.user_ids[Role.officer]))
        db.session.add(Assignment(proposal_id=theirs.id, reviewer_id=blind.id,
                                  donor_id=side.donor_ids[0], status=AssignmentStatus.accepted,
                                  assigned_at=clock.now(), declared_at=clock.now(),
                                  conflict_reason=""))
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
        # The API's routes are walked with the persona's token (one that may write).
        client.api_headers = bearer(issue_token(app, side, f"{key}@{side.slug}.example"))
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
    blind_pages = {}
    for rule in _rules(app):
        if ROUTES.get(rule.endpoint) != "refused":
            continue
        path = _fill(rule, side.ids).replace("<tenant>", side.slug)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for persona, client in outsiders.items():
                if (rule.endpoint, persona) in ALLOWED:
                    if persona == BLIND_PERSONA and method == "GET" \
                            and rule.endpoint not in NAMED_BY_DESIGN:
                        blind_pages[path] = client.get(
                            path, headers=client.api_headers if is_api_rule(rule) else {})
                    continue
                with app.app_context(), tenant_scope(side.tenant_id):
                    before = _fingerprint()
                    db.session.remove()
                if is_api_rule(rule):
                    response = client.open(path, method=method, json={},
                                           headers=client.api_headers)
                else:
                    response = client.open(path, method=method, data={})
                with app.app_context(), tenant_scope(side.tenant_id):
                    after = _fingerprint()
                    db.session.remove()
                checked += 1
                changed = [b[0] for b, a in zip(before, after, strict=True) if a != b]
                if rule.endpoint in AUDITED_REFUSALS and response.status_code in (302, 403) \
                        and set(changed) <= {"audit_events"}:
                    continue
                expected = EXPECTED.get((rule.endpoint, persona), {403, 404})
                if response.status_code not in expected or after != before:
                    refused.append((method, rule.rule, persona, response.status_code, changed))
                    if persona == BLIND_PERSONA and response.status_code == 200:
                        blind_pages[path] = response
    assert refused == [], "reached by an outsider (method, rule, who, status, tables changed):\n" \
        + "\n".join(map(str, refused))
    assert checked > 200
    assert {p for p, r in blind_pages.items() if r.status_code == 200} >= {
        f"/{side.slug}/reviews/calls/{side.ids['call_id']}/funding"}
    assert _blind_leaks(app, world, blind_pages) == {}


def test_the_blind_reviewer_reads_no_applicant_name_on_their_own_pages(
        app: Flask, world: World, outsiders) -> None:
    """Their lists and dashboards (the "own" routes) and every page of their own assignment
    on the double-blind proposal X (its review, declaration and PDF) answer, struck of names
    like the pages of the crawl."""
    side, client = world.a, outsiders[BLIND_PERSONA]
    with app.app_context(), tenant_scope(side.tenant_id):
        mine = db.session.scalar(select(Assignment.id).join(User, User.id == Assignment.reviewer_id)
                                 .where(User.email == f"{BLIND_PERSONA}@{side.slug}.example"))
    ids = {**side.ids, "assignment_id": mine}
    pages = {}
    for rule in _rules(app):
        kind = ROUTES.get(rule.endpoint)
        if "GET" not in rule.methods or not (
                kind == "own" or (kind == "refused" and "assignment_id" in rule.arguments)):
            continue
        path = _fill(rule, ids).replace("<tenant>", side.slug)
        pages[path] = client.get(path, headers=client.api_headers if is_api_rule(rule) else {})
    reached = {p for p, r in pages.items() if r.status_code == 200}
    base = f"/{side.slug}/reviews/assignments/{mine}"
    api = f"/{side.slug}/api/v1"
    assert {f"/{side.slug}/reviews/", f"/{side.slug}/dashboard", base,
            f"{base}/proposal.pdf", f"{api}/reviews", f"{api}/reviews/{mine}"} <= reached
    # The pages carry the proposal, struck of names: the walk read real content.
    assert "Partner 1" in _page_text(pages[base])
    assert "Glacier melt" in _page_text(pages[f"{base}/proposal.pdf"])
    assert "Partner 1" in _page_text(pages[f"{api}/reviews/{mine}"])
    assert _blind_leaks(app, world, pages) == {}


def _blind_leaks(app: Flask, world: World, pages: dict) -> dict[str, list[str]]:
    """Names of the world's applicant and of the proposal's institutes on the pages (HTML or
    PDF) answered 200. The reviewer's own profile offers every institute of the center to pick
    theirs from, tied to no proposal: there only people count (as in the crawl)."""
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        people = [applicant.name, applicant.email, f"colleague@{side.slug}.example", BLIND_PI,
                  "Nurlanovna", "aigerim@lab.example"]
        institutes = [db.session.get(Institute, i).name for i in side.institute_ids]
    profile = f"/{side.slug}/reviews/profile"
    leaks = {}
    for path, response in pages.items():
        if response.status_code != 200:
            continue
        text = _page_text(response).casefold()
        names = people + ([] if path == profile else institutes)
        found = [n for n in names if re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", text)]
        if found:
            leaks[path] = found
    return leaks


def _page_text(response) -> str:  # noqa: ANN001
    if response.mimetype == XLSX_MIMETYPE:
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                        for cell in row if cell is not None)
    if response.mimetype == "application/pdf":
        pages = PdfReader(io.BytesIO(response.data)).pages
        return " ".join(" ".join(page.extract_text() for page in pages).split())
    return html.unescape(response.get_data(as_text=True))
