"""The panel: ranking, disagreement, CSV, the rapporteur's consensus, decisions in bulk with a
confirmation list, and what applicants learn (and never learn)."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import services
from center.reviews.models import PanelEntry
from center.tenants.models import Role
from tests.reviews.conftest import Panel, accepted, proposal, review, user

OFFICER = frozenset({Role.officer})


def _reviewed(panel: Panel) -> None:
    """Three reviews of the TB proposal (one far apart), two agreeing ones of the water one."""
    for key, (merit, team) in {"r3": (5, 5), "r1": (4, 4), "r2": (1, 2)}.items():
        review(accepted(panel, "tb", key), merit, team,
               to_applicants=f"Comment to applicants by {key}.",
               confidential=f"Confidential remark by {key}.")
    for key, (merit, team) in {"r2": (4, 3), "r4": (4, 4)}.items():
        review(accepted(panel, "water", key), merit, team,
               to_applicants=f"Water comment by {key}.", confidential="Panel only.")


def test_the_ranking_shows_mean_spread_count_and_disagreement(scope: Panel) -> None:
    _reviewed(scope)
    mine = {scope.tb, scope.water}  # other modules' world parts add proposals to the call
    rows = [r for r in services.ranking(proposal(scope, "tb").call) if r.proposal.id in mine]
    by_id = {r.proposal.id: r for r in rows}
    tb, water = by_id[scope.tb], by_id[scope.water]
    assert tb.scores == [100.0, 80.0, 28.0] and tb.mean == 69.3 and tb.spread == 72.0
    assert tb.count == 3 and tb.disagreement
    assert water.mean == 76.0 and water.spread == 8.0 and not water.disagreement
    assert (water.rank, tb.rank) == (1, 2)
    assert [r.proposal.id for r in rows] == [scope.water, scope.tb]
    by_spread = services.ranking(proposal(scope, "tb").call, sort="spread")
    assert [r.proposal.id for r in by_spread if r.proposal.id in mine] == [scope.tb, scope.water]
    assert tb.criteria == {"Scientific merit": 3.33, "Team": 3.67}


def test_the_panel_page_sorts_and_exports_csv(app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        db.session.commit()
    login(panel.emails["officer"])
    page = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel?sort=title&order=asc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "disagree" in html
    assert html.index("Genomic surveillance") < html.index("Small rivers")
    exported = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel.csv")
    assert exported.mimetype == "text/csv" and exported.get_data().startswith(b"\xef\xbb\xbf")
    rows = [r for r in csv.DictReader(io.StringIO(exported.get_data().decode("utf-8-sig")))
            if r["proposal_id"] in (str(panel.tb), str(panel.water))]
    assert [(r["rank"], r["mean_score"], r["disagreement"]) for r in rows] == [
        ("1", "76.0", "no"), ("2", "69.3", "yes")]
    assert rows[1]["mean: Scientific merit"] == "3.33"


def test_the_panel_csv_defuses_formulas_in_titles_and_gives_the_budget_in_euros(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        proposal(panel, "tb").title = '=HYPERLINK("http://evil.example","Open")'
        proposal(panel, "water").acronym = "@SUM"
        budget = proposal(panel, "tb").total_budget
        db.session.commit()
    login(panel.emails["officer"])
    exported = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel.csv")
    rows = {r["proposal_id"]: r for r in csv.DictReader(
        io.StringIO(exported.get_data().decode("utf-8-sig")))}
    assert rows[str(panel.tb)]["title"] == '\'=HYPERLINK("http://evil.example","Open")'
    assert rows[str(panel.water)]["acronym"] == "'@SUM"
    assert rows[str(panel.tb)]["budget (EUR)"] == f"{budget // 100}.{budget % 100:02d}"
    assert rows[str(panel.tb)]["reviews"] == "3"


def test_the_panel_xlsx_has_the_same_table_with_numbers_as_numbers_and_text_as_text(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        proposal(panel, "tb").title = "=1+1"
        budget = proposal(panel, "tb").total_budget
        db.session.commit()
    login(panel.emails["officer"])
    exported = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel.xlsx")
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(exported.get_data())).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:4] == ["rank", "proposal_id", "acronym", "title"]
    budget_column = header.index("budget (EUR)")
    assert header[budget_column + 1:] == ["asked of D1 (EUR)", "asked of D2 (EUR)"]
    tb = next(r for r in rows if r[1] == panel.tb)
    assert tb[3] == "=1+1"
    assert sheet.cell(row=rows.index(tb) + 2, column=4).data_type == "s"  # not a formula
    assert tb[budget_column] == budget / 100 and tb[6] == 3


def test_the_rapporteur_writes_the_consensus_and_other_reviewers_may_not(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        db.session.commit()
    login(panel.emails["officer"])
    assignments = {a.reviewer_id: a.id for a in _assignments(app, panel)}
    client.post(f"/{panel.slug}/reviews/proposals/{panel.tb}/rapporteur",
                data={"assignment_id": assignments[panel.users["r3"]]})
    client.post("/logout")
    login(panel.emails["r1"])
    url = f"/{panel.slug}/reviews/proposals/{panel.tb}/consensus"
    assert client.get(url).status_code == 403
    client.post("/logout")
    login(panel.emails["r3"])
    page = client.get(url).get_data(as_text=True)
    assert "Confidential remark by r2." in page and "Bea Wasser" not in page
    with app.app_context(), tenant_scope(panel.tenant_id):
        version = db.session.scalar(select(PanelEntry)).version
    response = client.post(url, data={"version": version,
                                      "consensus": "Strong science; the team must grow."})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert db.session.scalar(select(PanelEntry)).consensus.startswith("Strong science")


def _assignments(app, panel: Panel) -> list:  # noqa: ANN001
    from center.reviews.models import Assignment

    with app.app_context(), tenant_scope(panel.tenant_id):
        rows = db.session.scalars(select(Assignment).where(
            Assignment.proposal_id == panel.tb)).all()
        db.session.expunge_all()
    return rows


def test_a_bulk_decision_is_confirmed_then_recorded_and_applicants_learn_only_what_is_theirs(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        entry = services.set_rapporteur(proposal(panel, "tb"),
                                        next(a for a in services.proposal_assignments(
                                            proposal(panel, "tb")) if a.reviewer_id
                                             == panel.users["r3"]), by=user(panel, "officer"))
        services.write_consensus(entry, "The panel values the genomics.",
                                 by=user(panel, "r3"), expected_version=entry.version)
        db.session.commit()
    login(panel.emails["officer"])
    url = f"/{panel.slug}/reviews/calls/{panel.call_id}/decide"
    data = {"proposal_ids": [panel.tb, panel.water], "decision": "reject",
            "reason": "Below the funding line of this call."}
    confirm = client.post(url, data=data)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Reject these 2 proposals" in html
    assert "Confirm: reject 2" in html
    with app.app_context(), tenant_scope(panel.tenant_id):
        assert {p.status for p in db.session.scalars(select(Proposal).where(
            Proposal.id.in_([panel.tb, panel.water])))} == {ProposalStatus.under_review}
        versions = ",".join(f"{p.id}:{p.version}" for p in db.session.scalars(
            select(Proposal).where(Proposal.id.in_([panel.tb, panel.water]))))
    done = client.post(url, data={**data, "versions": versions, "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context(), tenant_scope(panel.tenant_id):
        tb = db.session.get(Proposal, panel.tb)
        assert tb.status == ProposalStatus.rejected
        assert tb.status_reason == "Below the funding line of this call."
        mail = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.recipient == panel.emails["applicant"],
            OutboxMessage.subject.like("Not selected: Genomic%")))
    assert "Comment to applicants by r3." in mail.body
    assert "The panel values the genomics." in mail.body
    assert "Confidential" not in mail.body and "Below the funding line" in mail.body
    assert not any(name in mail.body for name in ("Chen Genome", "Bea Wasser", "Reviewer of"))
    client.post("/logout")
    login(panel.emails["applicant"])
    page = client.get(f"/{panel.slug}/proposals/{panel.tb}").get_data(as_text=True)
    assert "Outcome of the review" in page and "Comment to applicants by r2." in page
    assert "Confidential remark" not in page and "Chen Genome" not in page
    assert client.get(f"/{panel.slug}/reviews/proposals/{panel.tb}/panel").status_code == 403


def test_a_decision_is_all_or_nothing(scope: Panel) -> None:
    review(accepted(scope, "tb", "r3"), 4, 4)
    accepted(scope, "water", "r2")  # its review is not submitted
    db.session.commit()
    items = [(proposal(scope, "tb"), proposal(scope, "tb").version),
             (proposal(scope, "water"), proposal(scope, "water").version)]
    with pytest.raises(services.DecisionRefused) as refused:
        services.decide(items, services.Decision.recommend, "Good science.",
                        by=user(scope, "officer"), roles=OFFICER)
    db.session.rollback()
    assert [p.id for p, _m in refused.value.problems] == [scope.water]
    assert "submitted yet" in refused.value.problems[0][1]
    assert proposal(scope, "tb").status == ProposalStatus.under_review


def test_a_decision_needs_a_reason_and_the_version_the_officer_saw(scope: Panel) -> None:
    review(accepted(scope, "tb", "r3"), 4, 4)
    tb = proposal(scope, "tb")
    with pytest.raises(services.DecisionRefused, match="reason"):
        services.decide([(tb, tb.version)], services.Decision.reject, "  ",
                        by=user(scope, "officer"), roles=OFFICER)
    db.session.rollback()
    tb = proposal(scope, "tb")
    with pytest.raises(services.DecisionRefused, match="changed since"):
        services.decide([(tb, tb.version - 1)], services.Decision.reject, "Late.",
                        by=user(scope, "officer"), roles=OFFICER)


def test_closing_the_review_needs_every_active_review_submitted(scope: Panel) -> None:
    review(accepted(scope, "tb", "r3"), 4, 4)
    waiting = accepted(scope, "tb", "r1")
    with pytest.raises(workflow.GuardFailed, match="not submitted yet"):
        workflow.fire(proposal(scope, "tb"), "complete_review", by=user(scope, "officer"),
                      roles=OFFICER)
    services.unassign(waiting, by=user(scope, "officer"))
    workflow.fire(proposal(scope, "tb"), "complete_review", by=user(scope, "officer"),
                  roles=OFFICER)
    assert proposal(scope, "tb").status == ProposalStatus.reviewed


def test_the_officer_sees_reviewers_and_scores_on_the_proposal_page(app, client, login,
                                                                   panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        db.session.commit()
    login(panel.emails["officer"])
    page = client.get(f"/{panel.slug}/proposals/{panel.tb}").get_data(as_text=True)
    assert "Chen Genome" in page and "100.0" in page
    detail = client.get(f"/{panel.slug}/reviews/proposals/{panel.tb}/panel")
    assert detail.status_code == 200 and "Confidential remark by r2." in detail.get_data(
        as_text=True)
    client.post("/logout")
    login(panel.emails["applicant"])
    page = client.get(f"/{panel.slug}/proposals/{panel.tb}").get_data(as_text=True)
    assert "Outcome of the review" not in page and "Comment to applicants" not in page


def test_the_ranking_carries_each_proposals_budget_and_what_it_asks_of_each_donor(
        scope: Panel) -> None:
    _reviewed(scope)
    call = proposal(scope, "tb").call
    rows = {r.proposal.id: r for r in services.ranking(call)}
    d1, d2 = scope.donors["d1"], scope.donors["d2"]
    assert (rows[scope.tb].budget, rows[scope.tb].asks) == (
        100_000_00, {d1: 60_000_00, d2: 40_000_00})
    assert rows[scope.water].asks == {d1: 50_000_00, d2: 30_000_00}
    assert [d.id for d in services.ranking_donors(call, list(rows.values()))][:2] == [d1, d2]


def test_the_panel_page_shows_budget_and_asks_per_donor_with_the_currency(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _reviewed(panel)
        db.session.commit()
    login(panel.emails["officer"])
    html = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel").get_data(
        as_text=True)
    assert "Budget (EUR)" in html and "Asks D1" in html and "Asks D2" in html
    water_row = html[html.index("Small rivers"):]
    water_row = water_row[:water_row.index("</tr>")]
    assert re.findall(r"€\s?[\d,.]+", water_row)[:3] == ["€80,000.00", "€50,000.00",
                                                         "€30,000.00"]
    exported = client.get(f"/{panel.slug}/reviews/calls/{panel.call_id}/panel.csv")
    rows = {r["proposal_id"]: r for r in csv.DictReader(io.StringIO(
        exported.get_data(as_text=True).lstrip("\ufeff")))}
    assert (rows[str(panel.tb)]["budget (EUR)"], rows[str(panel.tb)]["asked of D1 (EUR)"],
            rows[str(panel.tb)]["asked of D2 (EUR)"]) == ("100000.00", "60000.00", "40000.00")
