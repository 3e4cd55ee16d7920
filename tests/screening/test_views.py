"""Screening and concurrence through the web: who sees what, forms, confirmations, exports."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from center.auth.models import User
from center.core.db import db, tenant_scope
from center.core.jobs import Job
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening import services
from center.screening.models import ConcurrenceRequest, SanctionsList
from center.tenants.models import Role, Tenant
from tests.proposals.test_proposals import _complete
from tests.screening.conftest import HEADER, add_official, as_role, new_proposal, submit
from tests.world import World

S = ProposalStatus
OFFICER = as_role(Role.officer)
PI_ON_LIST = "Нурлановна Айгерим,,KZ,person,National list,KZ.7\n"


def _setup(app: Flask, world: World, *, state: S = S.screening, listed: str = "",
           official_am: bool = False) -> int:
    """Complete, submit and move the world's proposal of tenant A; return its id."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        officer = db.session.get(User, world.a.user_ids[Role.officer])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        if listed:
            services.import_sanctions_list(filename="l.csv", data=(HEADER + listed).encode(),
                                           label="National list", by=officer)
        if official_am:
            add_official(world, "AM")
        submit(proposal, applicant)
        if state in (S.screening, S.concurrence):
            workflow.fire(proposal, "start_screening", by=officer, roles=OFFICER)
        if state == S.concurrence:
            workflow.fire(proposal, "pass_screening", by=officer, roles=OFFICER)
        db.session.commit()
        found = proposal.id
        db.session.remove()
    return found


def _read(app: Flask, world: World, query):  # noqa: ANN001, ANN202
    with app.app_context(), tenant_scope(world.a.tenant_id):
        found = query()
        db.session.remove()
    return found


def _status(app: Flask, world: World, proposal_id: int) -> str:
    return _read(app, world, lambda: db.session.get(Proposal, proposal_id).status)


def _version(app: Flask, world: World, proposal_id: int) -> int:
    return _read(app, world, lambda: db.session.get(Proposal, proposal_id).version)


PAGES = ["/screening/", "/screening/proposals/{pid}", "/screening/proposals/{pid}/audit",
         "/screening/proposals/{pid}/audit.csv", "/screening/proposals/{pid}/audit.xlsx",
         "/screening/sanctions",
         "/screening/workflow"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", PAGES)
def test_screening_pages_are_for_officers_and_administrators(app, client, world, login,
                                                             role: Role, page: str) -> None:
    pid = _setup(app, world)
    login(world.a.emails[role])
    response = client.get(f"/{world.a.slug}" + page.format(pid=pid))
    assert response.status_code == (200 if role in (Role.officer, Role.admin) else 403)


@pytest.mark.parametrize("role", list(Role))
def test_only_administrators_change_the_screening_settings(client, world, login,
                                                           role: Role) -> None:
    login(world.a.emails[role])
    assert client.get(f"/{world.a.slug}/screening/settings").status_code == (
        200 if role == Role.admin else 403)


@pytest.mark.parametrize("role", list(Role))
def test_only_concurrence_officials_open_the_concurrence_pages(client, world, login,
                                                               role: Role) -> None:
    login(world.a.emails[role])
    assert client.get(f"/{world.a.slug}/concurrence/").status_code == (
        200 if role == Role.concurrence else 403)


def test_the_screening_page_shows_the_hit_and_the_officer_clears_it(app, client, world,
                                                                    login) -> None:
    pid = _setup(app, world, listed=PI_ON_LIST)
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/screening/proposals/{pid}").get_data(as_text=True)
    assert "Нурлановна Айгерим" in html and "KZ.7" in html and "blocks the proposal" in html
    assert "1 sanctions hit waits for an officer" in html
    hit_id = int(re.search(r"/screening/hits/(\d+)/clear", html).group(1))
    version = _version(app, world, pid)
    refused = client.post(f"/{world.a.slug}/screening/hits/{hit_id}/clear",
                          data={"version": version, "reason": ""}, follow_redirects=True)
    assert "Say why" in refused.get_data(as_text=True)
    done = client.post(f"/{world.a.slug}/screening/hits/{hit_id}/clear",
                       data={"version": version, "reason": "Born in 1990, not 1962."},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Hit on Aigerim Nurlanovna cleared." in html and "Born in 1990" in html
    assert "Nothing blocks this proposal" in html


def test_a_decision_that_tells_the_applicant_needs_a_reason_next_to_the_field(
        app, client, world, login) -> None:
    pid = _setup(app, world)
    login(world.a.emails[Role.officer])
    url = f"/{world.a.slug}/screening/proposals/{pid}/decide"
    version = _version(app, world, pid)
    response = client.post(url, data={"version": version, "decision": "request_changes"})
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    assert _status(app, world, pid) == S.screening
    response = client.post(url, data={"version": version, "decision": "request_changes",
                                      "reason": "Add the letters of support."})
    assert response.status_code == 302 and _status(app, world, pid) == S.changes_requested


def test_the_officer_starts_screening_then_passes_the_proposal(app, client, world,
                                                               login) -> None:
    pid = _setup(app, world, state=S.submitted)
    login(world.a.emails[Role.officer])
    client.post(f"/{world.a.slug}/screening/proposals/{pid}/start",
                data={"version": _version(app, world, pid)})
    assert _status(app, world, pid) == S.screening
    client.post(f"/{world.a.slug}/screening/proposals/{pid}/decide",
                data={"version": _version(app, world, pid), "decision": "pass_screening"})
    assert _status(app, world, pid) == S.concurrence


def test_the_officer_sees_what_changed_in_the_resubmitted_version(app, client, world,
                                                                  login) -> None:
    pid = _setup(app, world)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, pid)
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        workflow.fire(proposal, "request_changes",
                      by=db.session.get(User, world.a.user_ids[Role.officer]), roles=OFFICER,
                      reason="Shorter, please.")
        proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                                  objectives="Map drug resistance in two countries.")
        submit(proposal, applicant)
        db.session.commit()
        db.session.remove()
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/screening/proposals/{pid}").get_data(as_text=True)
    assert "What changed since v1" in html
    html = client.get(f"/{world.a.slug}/screening/proposals/{pid}/changes"
                      ).get_data(as_text=True)
    assert "Map drug <del>resistance.</del> <ins>resistance in two countries.</ins>" in html


def test_bulk_decisions_show_what_will_change_then_apply_on_confirmation(
        app, client, world, login) -> None:
    first = _setup(app, world)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        second = new_proposal(world, applicant)
        submit(second, applicant)
        workflow.fire(second, "start_screening",
                      by=db.session.get(User, world.a.user_ids[Role.officer]), roles=OFFICER)
        db.session.commit()
        second_id = second.id
        db.session.remove()
    login(world.a.emails[Role.officer])
    url = f"/{world.a.slug}/screening/calls/{world.a.ids['call_id']}/bulk"
    assert client.get(url).status_code == 200
    missing = client.post(url, data={"proposals": [first, second_id],
                                     "action": "declare_ineligible"})
    assert "Give the reason" in missing.get_data(as_text=True)
    confirm = client.post(url, data={"proposals": [first, second_id],
                                     "action": "declare_ineligible",
                                     "reason": "The call was cancelled."})
    html = confirm.get_data(as_text=True)
    assert "Confirm for all 2 proposals" in html and html.count("badge--ineligible") == 2
    assert {_status(app, world, p) for p in (first, second_id)} == {S.screening}
    token = re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)
    assert client.post(url, data={"token": token + "x"}).status_code == 400
    done = client.post(url, data={"token": token}, follow_redirects=True)
    assert "2 proposals are now ineligible" in done.get_data(as_text=True)
    assert {_status(app, world, p) for p in (first, second_id)} == {S.ineligible}
    again = client.post(url, data={"token": token}, follow_redirects=True)
    assert "Nothing was changed" in again.get_data(as_text=True)


def test_a_bulk_confirmation_lists_what_blocks_and_offers_no_confirm_button(
        app, client, world, login) -> None:
    pid = _setup(app, world, listed=PI_ON_LIST)
    login(world.a.emails[Role.officer])
    url = f"/{world.a.slug}/screening/calls/{world.a.ids['call_id']}/bulk"
    html = client.post(url, data={"proposals": [pid], "action": "pass_screening"}
                       ).get_data(as_text=True)
    assert "sanctions hit waits" in html and 'name="token"' not in html
    assert _status(app, world, pid) == S.screening


def test_a_sanctions_file_with_bad_lines_is_explained_next_to_the_file_field(
        app, client, world, login) -> None:
    login(world.a.emails[Role.officer])
    url = f"/{world.a.slug}/screening/sanctions"
    bad = (HEADER + "Ivan Sidorov,,RU,person,EU,1\nPetr Petrov,,Ruritania,person,EU,2\n").encode()
    response = client.post(url, data={"label": "March", "file": (io.BytesIO(bad), "l.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in html and "1 line of the file cannot be read" in html
    assert 'id="file-lines"' in html and "Line 3 (country)" in html
    assert _read(app, world, lambda: db.session.scalar(
        select(SanctionsList).where(SanctionsList.is_active.is_(True))).label) == "World list v2"
    response = client.post(url, data={"label": "March", "skip_bad_rows": "y",
                                      "file": (io.BytesIO(bad), "l.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "List version 3 imported with 1 entries." in response.get_data(as_text=True)


def test_importing_a_list_rescreens_waiting_proposals_and_shows_the_job(
        app, client, world, login) -> None:
    pid = _setup(app, world)
    login(world.a.emails[Role.officer])
    response = client.post(f"/{world.a.slug}/screening/sanctions",
                           data={"file": (io.BytesIO((HEADER + PI_ON_LIST).encode()), "l.csv")},
                           content_type="multipart/form-data")
    assert "/jobs/" in response.headers["Location"]
    assert client.get(response.headers["Location"]).status_code == 200
    hits = _read(app, world, lambda: len(services.report_for(
        db.session.get(Proposal, pid)).uncleared_hits))
    assert hits == 1
    # The job returns to the lists' page, which names the proposal with a hit to clear.
    result = _read(app, world, lambda: db.session.scalar(select(Job).where(
        Job.task == "screening.rescreen")).result)
    # The world's approved and active proposals, led by the same scientist, are re-screened
    # too: a project's people can be listed after its award.
    statuses = {p["id"]: p["status"] for p in result["with_hits"]}
    assert statuses[pid] == "screening" and "active" in statuses.values()
    page = client.get(result["redirect"]).get_data(as_text=True)
    assert f"{result['uncleared_hits']} hits wait to be cleared." in page
    assert f'/screening/proposals/{pid}"' in page


def test_the_administrator_edits_the_settings_and_a_stale_form_keeps_the_input(
        app, client, world, login) -> None:
    login(world.a.emails[Role.admin])
    url = f"/{world.a.slug}/screening/settings"
    html = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision"[^>]*value="([^"]+)"', html).group(1)
    form = {"revision": revision, "concurrence_deadline_days": "45",
            "negative_concurrence": "y", "effort_limit_days_per_year": "200",
            "sensitive_keywords": "dual-use\nCBRN\n  nuclear  weapons \ndual-use"}
    assert client.post(url, data=form).status_code == 302
    tenant = _read(app, world, lambda: db.session.get(Tenant, world.a.tenant_id))
    assert tenant.setting("concurrence_deadline_days") == 45
    assert tenant.setting("negative_concurrence") is True
    assert tenant.setting("sensitive_keywords") == ["dual-use", "CBRN", "nuclear weapons"]
    stale = client.post(url, data={**form, "concurrence_deadline_days": "30"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "after you opened them" in html and 'value="30"' in html
    assert client.post(url, data={**form, "concurrence_deadline_days": "0"}
                       ).status_code == 200  # the range error, shown next to the field


def test_the_audit_trail_exports_as_csv_with_the_system_as_actor(app, client, world,
                                                                 login) -> None:
    pid = _setup(app, world, state=S.concurrence, official_am=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        for request in db.session.scalars(select(ConcurrenceRequest).where(
                ConcurrenceRequest.proposal_id == pid, ConcurrenceRequest.version_no == 1)):
            minister = services.officials(request.country_code)[0]
            services.concur(request, by=minister, comment="Agreed.")
            db.session.commit()
        db.session.remove()
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/screening/proposals/{pid}/audit"
                      ).get_data(as_text=True)
    assert 'data-action="proposal.complete_concurrence"' in html
    assert "All countries concurred" in html and "all countries concurred" in html
    response = client.get(f"/{world.a.slug}/screening/proposals/{pid}/audit.csv")
    assert response.mimetype == "text/csv"
    assert f"proposal-{pid}-audit.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    by_action = {r["Action code"]: r for r in rows}
    assert by_action["proposal.submit"]["Who"] == "Applicant of alpha"
    assert by_action["proposal.submit"]["What"] == "Submit"
    assert (by_action["proposal.pass_screening"]["From"],
            by_action["proposal.pass_screening"]["To"]) == (
        "in screening", "awaiting government concurrence")
    assert by_action["proposal.complete_concurrence"]["Who"] == (
        "System (all countries concurred)")
    assert by_action["concurrence.concurred"]["What"] == "A government concurred"
    assert "Comment: Agreed." in by_action["concurrence.concurred"]["Details"]


def test_the_audit_csv_defuses_a_name_a_spreadsheet_would_run(app, client, world,
                                                               login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        db.session.get(User, world.a.user_ids[Role.applicant]).name = "=cmd|' /C calc'!A0"
        db.session.commit()
    pid = _setup(app, world)
    login(world.a.emails[Role.officer])
    response = client.get(f"/{world.a.slug}/screening/proposals/{pid}/audit.csv")
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    submitted = next(r for r in rows if r["Action code"] == "proposal.submit")
    assert submitted["Who"] == "'=cmd|' /C calc'!A0"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    # The XLSX twin: the same table, the name kept exactly as typed in a string cell.
    book = client.get(f"/{world.a.slug}/screening/proposals/{pid}/audit.xlsx")
    assert f"proposal-{pid}-audit.xlsx" in book.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(book.get_data())).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][0] == "Time (UTC)" and len(table) == len(rows) + 1
    who = next(r[1] for r in table if r[-1] == "proposal.submit")
    assert who == "=cmd|' /C calc'!A0"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_workflow_page_draws_and_lists_every_transition(client, world, login) -> None:
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/screening/workflow").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    for t in workflow.TRANSITIONS.values():
        assert f'<td data-transition="{t.name}">{t.label}</td>' in html
    assert "No uncleared sanctions hit, no unreviewed sensitive topic" in html


def test_an_official_reads_the_request_and_concurs_on_the_page(app, client, world,
                                                               login) -> None:
    pid = _setup(app, world, state=S.concurrence, official_am=True)
    request_id = _read(app, world, lambda: db.session.scalar(select(ConcurrenceRequest.id).where(
        ConcurrenceRequest.proposal_id == pid, ConcurrenceRequest.country_code == "KZ",
        ConcurrenceRequest.version_no == 1)))
    login(world.a.emails[Role.concurrence])
    dashboard = client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert f"/concurrence/{request_id}" in dashboard and "Genomic TB surveillance" in dashboard
    url = f"/{world.a.slug}/concurrence/{request_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Aigerim Nurlanovna" in page and "Answer for Kazakhstan" in page
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    objection = client.post(url, data={"version": version, "decision": "object",
                                       "comment": ""})
    assert objection.status_code == 422
    assert 'id="comment-error"' in objection.get_data(as_text=True)
    done = client.post(url, data={"version": version, "decision": "concur",
                                  "comment": "The ministry agrees."}, follow_redirects=True)
    assert "Concurrence recorded." in done.get_data(as_text=True)
    assert _status(app, world, pid) == S.concurrence  # Armenia has not answered yet
    am_request = _read(app, world, lambda: db.session.scalar(select(ConcurrenceRequest.id).where(
        ConcurrenceRequest.proposal_id == pid, ConcurrenceRequest.country_code == "AM",
        ConcurrenceRequest.version_no == 1)))
    # Another government's request is not found, not merely forbidden.
    assert client.get(f"/{world.a.slug}/concurrence/{am_request}").status_code == 404


def test_the_proposal_page_shows_screening_to_officers_and_concurrence_to_applicants(
        app, client, world, login) -> None:
    pid = _setup(app, world, state=S.concurrence, listed="")
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/proposals/{pid}").get_data(as_text=True)
    assert "Open the screening" in html and "0 of 2 countries concurred." in html
    client.post("/logout")
    login(world.a.emails[Role.applicant])
    html = client.get(f"/{world.a.slug}/proposals/{pid}").get_data(as_text=True)
    assert "Open the screening" not in html and "0 of 2 countries concurred." in html


def test_the_officers_dashboard_counts_only_this_centers_proposals(app, client, world,
                                                                   login) -> None:
    _setup(app, world, state=S.screening)
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert "1 proposal in screening" in html
    client.post("/logout")
    login(world.b.emails[Role.officer])
    html = client.get(f"/{world.b.slug}/dashboard").get_data(as_text=True)
    assert "0 proposals in screening" in html


def test_a_draft_has_no_screening_page(app, client, world, login) -> None:
    login(world.a.emails[Role.officer])
    assert client.get(f"/{world.a.slug}/screening/proposals/{world.a.ids['proposal_id']}"
                      ).status_code == 404
