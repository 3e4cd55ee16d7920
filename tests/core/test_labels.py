"""Users never see stored keys: each role's main pages show labels, counts use plural forms,
and e-mails and agreements are dated in the center's zone."""

from __future__ import annotations

import datetime as dt
import enum
import html as html_lib
import importlib
import io
import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import force_locale, ngettext
from pypdf import PdfReader

from center.agreements import services as agreements
from center.agreements.pdf import render_agreement_pdf
from center.auth.models import User
from center.calls.models import ATTACHMENT_KINDS
from center.core import clock
from center.core.db import db, tenant_scope
from center.core.labels import humanize
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.forms import SECTION_LABELS
from center.proposals.models import (
    PRINCIPAL_INVESTIGATOR,
    TEAM_ROLE_LABELS,
    BudgetCategory,
    ForegroundIP,
    Proposal,
    ProposalStatus,
)
from center.reviews.models import Assignment, AssignmentStatus
from center.screening import services as screening
from center.screening import trail
from center.screening.models import ConcurrenceRequest
from center.tenants.models import Role, Tenant
from tests.support.states import put_in_state
from tests.world import World

MODULES = ("auth", "tenants", "calls", "proposals", "dedup", "screening", "reviews",
           "agreements")


def _enum_values() -> set[str]:
    values: set[str] = set()
    for module in MODULES:
        models = importlib.import_module(f"center.{module}.models")
        for thing in vars(models).values():
            if isinstance(thing, type) and issubclass(thing, enum.StrEnum) \
                    and thing is not enum.StrEnum:
                values |= {str(v) for v in thing}
    return values


def forbidden_keys() -> set[str]:
    """Every stored key that is not a word: snake_case enum values, attachment kinds, team
    roles, transition names, audit actions and detail keys, and the few one-word codes."""
    keys = {v for v in _enum_values() if "_" in v}
    keys |= {k for k in [*ATTACHMENT_KINDS, *TEAM_ROLE_LABELS] if "_" in k}
    keys |= {t for t in workflow.TRANSITIONS if "_" in t}
    keys |= {f"proposal.{t}" for t in workflow.TRANSITIONS}
    keys |= set(trail.ACTION_LABELS) | {k for k in trail.DETAIL_LABELS if "_" in k}
    return keys | {"cv", "inventor"}


def visible_text(page: str) -> str:
    """The page's text as a reader sees it: no tags (so no attribute values or URLs)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return html_lib.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def raw_keys_in(page: str) -> list[str]:
    text = visible_text(page)
    return sorted(k for k in forbidden_keys()
                  if re.search(rf"(?<![\w.@/-]){re.escape(k)}(?![\w@/-]|\.\w)", text))


def test_the_forbidden_keys_come_from_the_enums_and_are_caught() -> None:
    keys = forbidden_keys()
    assert {"under_review", "principal_investigator", "support_letter", "foreign_collaborator",
            "licensed_to_donors", "ministry_lab", "proposal.submit", "item_id"} <= keys
    assert raw_keys_in("<td>under_review</td>") == ["under_review"]
    assert raw_keys_in('<td data-action="proposal.submit">Submit</td>') == []
    assert raw_keys_in('<a href="/x/edit/cv_upload">CVs</a> cv.png') == []
    assert raw_keys_in("<td>cv</td>") == ["cv"]


@pytest.fixture()
def lived_in(app: Flask, world: World) -> World:
    """World A with a proposal under review by an accepted reviewer, on top of the approved
    proposal with its agreement that the world already holds."""
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        officer = db.session.get(User, side.user_ids[Role.officer])
        approved = db.session.get(Proposal, side.ids["approved_proposal_id"])
        assignment = Assignment(proposal_id=approved.id,
                                reviewer_id=side.user_ids[Role.reviewer],
                                donor_id=side.donor_ids[0], status=AssignmentStatus.accepted,
                                assigned_at=clock.now(), declared_at=clock.now(),
                                conflict_reason="")
        db.session.add(assignment)
        draft = db.session.get(Proposal, side.ids["proposal_id"])
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        lead = draft.partners[0].institute
        proposals.add_team_member(draft, by=applicant, name="Aigerim Nurlanovna",
                                  role=PRINCIPAL_INVESTIGATOR, institute_id=lead.id,
                                  citizenship=lead.country_code)
        proposals.add_budget_line(draft, by=applicant, category=BudgetCategory.personnel,
                                  description="Salaries", amount=10_000_00,
                                  splits={side.donor_ids[0]: 10_000_00})
        draft.foreground_ip = ForegroundIP.licensed_to_donors
        put_in_state(draft, ProposalStatus.changes_requested, by=officer)
        db.session.commit()
        side.ids["accepted_assignment_id"] = assignment.id
    return world


def _pages(side) -> dict[Role, list[str]]:  # noqa: ANN001
    ids = side.ids
    pid, ap = ids["proposal_id"], ids["approved_proposal_id"]
    call = ids["agreements_call_id"]
    editor = [f"/proposals/{pid}/edit/{section}" for section in SECTION_LABELS]
    return {
        Role.applicant: ["/dashboard", "/proposals/", f"/proposals/{pid}",
                         f"/proposals/{pid}/preview", f"/proposals/{ap}",
                         f"/proposals/{ap}/preview", *editor],
        Role.officer: ["/dashboard", "/proposals/all", f"/proposals/{ap}",
                       f"/screening/proposals/{ap}", f"/screening/proposals/{ap}/audit",
                       f"/screening/proposals/{pid}/audit", "/screening/", "/screening/workflow",
                       f"/reviews/calls/{call}/panel", f"/reviews/proposals/{ap}/panel",
                       "/overlaps/"],
        Role.reviewer: ["/dashboard", "/reviews/",
                        f"/reviews/assignments/{ids['accepted_assignment_id']}",
                        "/reviews/funding", f"/reviews/calls/{call}/funding"],
        Role.admin: ["/dashboard", "/agreements/", f"/agreements/{ids['agreement_id']}",
                     "/admin/members", "/admin/visa-rules", "/admin/institutes",
                     "/admin/donors", "/reviews/delegates", f"/jobs/{ids['job_id']}/progress"],
        Role.concurrence: ["/dashboard", "/concurrence/",
                           f"/concurrence/{ids['concurrence_request_id']}"],
        Role.signatory: ["/dashboard"],
    }


@pytest.mark.parametrize("role", list(Role))
def test_no_page_of_any_role_shows_a_stored_key(client, lived_in: World, login,
                                                role: Role) -> None:
    side = lived_in.a
    login(side.emails[role])
    for path in _pages(side)[role]:
        response = client.get(f"/{side.slug}{path}")
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert raw_keys_in(page) == [], path
        # The zone the page's times are in is named once, in the footer.
        assert page.count('id="zone"') == 1, path


def test_the_audit_trail_names_actions_details_and_states(client, lived_in: World,
                                                          login) -> None:
    side = lived_in.a
    login(side.emails[Role.officer])
    page = client.get(f"/{side.slug}/screening/proposals/{side.ids['proposal_id']}/audit"
                      ).get_data(as_text=True)
    text = visible_text(page)
    assert "Proposal started" in text and "File uploaded" in text
    assert "returned for changes" in text or "changes requested" in text
    assert "Test setup" in text  # an action without a label is spelled out, not raw
    assert raw_keys_in(page) == []


def test_an_unknown_key_is_spelled_out_never_raw() -> None:
    assert humanize("budget_line_added") == "Budget line added"
    assert humanize("proposal.test_setup") == "Proposal test setup"
    assert trail.detail_label("new_detail_key") == "New detail key"


@pytest.mark.parametrize(("count", "expected"), [
    (1, "1 sanctions hit waits for an officer to clear it."),
    (3, "3 sanctions hits wait for an officer to clear them."),
])
def test_counts_take_the_plural_form_of_their_number(app: Flask, count: int,
                                                     expected: str) -> None:
    with app.test_request_context(), force_locale("en"):
        assert ngettext("%(num)d sanctions hit waits for an officer to clear it.",
                        "%(num)d sanctions hits wait for an officer to clear them.",
                        count) == expected


@pytest.mark.parametrize(("count", "expected"), [
    (1, "Eligibility: 1 rule broken"), (3, "Eligibility: 3 rules broken")])
def test_a_template_count_takes_its_plural_form(app: Flask, count: int,
                                                expected: str) -> None:
    with app.test_request_context(), force_locale("en"):
        template = app.jinja_env.from_string(
            '{{ ngettext("Eligibility: %(num)d rule broken", '
            '"Eligibility: %(num)d rules broken", n) }}')
        assert template.render(n=count) == expected


def _set_zone(app: Flask, side, zone: str) -> None:  # noqa: ANN001
    with app.app_context():
        tenant = db.session.get(Tenant, side.tenant_id)
        tenant.timezone = zone
        db.session.commit()


def test_a_concurrence_e_mail_gives_its_deadline_in_the_center_zone(app: Flask,
                                                                     world: World) -> None:
    side = world.a
    _set_zone(app, side, "Asia/Almaty")
    with app.test_request_context(), tenant_scope(side.tenant_id):
        request = db.session.get(ConcurrenceRequest, side.ids["concurrence_request_id"])
        proposal = db.session.get(Proposal, request.proposal_id)
        tenant = db.session.get(Tenant, side.tenant_id)
        official = screening.officials(request.country_code)[0]
        body = app.jinja_env.get_template("email/concurrence_request.txt").render(
            official=official, proposal=proposal, request=request, tenant=tenant, url="/x")
    local = request.deadline_at.astimezone(ZoneInfo("Asia/Almaty"))
    assert local.utcoffset() != dt.timedelta(0)
    assert f"{local:%Y-%m-%d %H:%M} (Asia/Almaty)" in body
    assert " UTC" not in body


def test_an_agreement_pdf_is_dated_in_the_center_zone(app: Flask, world: World,
                                                      monkeypatch) -> None:
    """Late on 31 December in UTC is already 1 January in Almaty: the PDF says 1 January."""
    side = world.a
    _set_zone(app, side, "Asia/Almaty")
    moment = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    with app.test_request_context(), tenant_scope(side.tenant_id):
        tenant = db.session.get(Tenant, side.tenant_id)
        proposal = db.session.get(Proposal, side.ids["approved_proposal_id"])
        assert agreements.center_today(tenant) == "2027-01-01"
        prepared = agreements.prepare_agreement(proposal, tenant)
        data = render_agreement_pdf(prepared.context)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "1 January 2027" in text and "31 December 2026" not in text
