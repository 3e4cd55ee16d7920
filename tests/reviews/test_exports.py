"""A call's exports, opened as a spreadsheet program would: the csv module and openpyxl.

Officers read every donor's figures; a donor's delegate reads only its donor's commitments and
the proposals its donor was asked to fund, minus those it has a conflict with, and in a
double-blind call no applicant's or institute's name; a reviewer who is no delegate, or the
delegate of a donor outside the call, is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from center.agreements.models import Agreement
from center.calls import services as calls
from center.calls.models import Call, ReviewMode
from center.core.db import db, tenant_scope
from center.core.exports import XLSX_MIMETYPE
from center.projects.models import Project
from center.reviews import funding, services
from center.reviews.models import Assignment, AssignmentStatus
from center.tenants.models import Donor, Institute, Role
from tests.reviews.conftest import Panel, accepted, proposal, review, user
from tests.world import open_call

HYPERLINK = '=HYPERLINK("http://evil.example","click")'
UNICODE = "Малые реки и здоровье сёл 작은 강과 마을 건강"


def _csv(response) -> list[dict[str, str]]:  # noqa: ANN001
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _xlsx(response) -> list[dict[str, object]]:  # noqa: ANN001
    assert response.status_code == 200, response.status_code
    assert response.mimetype == XLSX_MIMETYPE
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _both(client, base: str, export: str) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    return _csv(client.get(f"{base}/{export}.csv")), _xlsx(client.get(f"{base}/{export}.xlsx"))


@pytest.fixture()
def funded(app, panel: Panel) -> Panel:  # noqa: ANN001
    """Both proposals reviewed and recommended; D2 commits 25,000.00 to tb (asked 40,000.00),
    D1 commits 45,000.50 to water (asked 50,000.00). tb's title is a formula, water's is
    Cyrillic and Hangul."""
    with app.app_context(), tenant_scope(panel.tenant_id):
        officer = user(panel, "officer")
        tb, water = proposal(panel, "tb"), proposal(panel, "water")
        tb.title, water.title = HYPERLINK, UNICODE
        review(accepted(panel, "tb", "r3"), 5, 4)
        review(accepted(panel, "water", "r4"), 3, 2)
        services.decide([(tb, tb.version), (water, water.version)],
                        services.Decision.recommend, "Both fund-worthy.", by=officer,
                        roles=frozenset({Role.officer}))
        funding.commit(tb, db.session.get(Donor, panel.donors["d2"]), 25_000_00,
                       by=user(panel, "r3"))
        funding.commit(water, db.session.get(Donor, panel.donors["d1"]), 45_000_50,
                       by=user(panel, "r1"))
        db.session.commit()
    return panel


def _base(panel: Panel) -> str:
    return f"/{panel.slug}/exports/calls/{panel.call_id}"


def test_the_officer_reads_every_donor_as_committed_and_titles_stay_text(
        client, login, funded: Panel) -> None:
    login(funded.emails["officer"])
    page = client.get(_base(funded))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key in ("proposals", "budgets-by-donor", "budgets-by-institute", "reviews",
                "rankings", "commitments", "agreements", "reports", "tranches"):
        assert f'{_base(funded)}/{key}.csv"' in html and f'{_base(funded)}/{key}.xlsx"' in html

    rows, book = _both(client, _base(funded), "commitments")
    got = {(r["proposal_id"], r["donor"]): (r["committed"], r["asked"], r["currency"])
           for r in rows}
    assert got == {(str(funded.tb), "D2"): ("25000.00", "40000.00", "EUR"),
                   (str(funded.water), "D1"): ("45000.50", "50000.00", "EUR")}
    by_donor = {(r["proposal_id"], r["donor"]): r for r in book}
    assert by_donor[(funded.tb, "D2")]["committed"] == 25000
    assert by_donor[(funded.water, "D1")]["committed"] == pytest.approx(45000.5)
    # The formula stays text: defused with a quote in CSV, a string cell in XLSX.
    titles = {r["proposal_id"]: r["title"] for r in rows}
    assert titles[str(funded.tb)] == "'" + HYPERLINK
    assert titles[str(funded.water)] == UNICODE
    xlsx_titles = {r["proposal_id"]: r["title"] for r in book}
    assert xlsx_titles[funded.tb] == HYPERLINK and xlsx_titles[funded.water] == UNICODE
    sheet = openpyxl.load_workbook(io.BytesIO(
        client.get(f"{_base(funded)}/commitments.xlsx").data)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    proposals_csv, proposals_xlsx = _both(client, _base(funded), "proposals")
    tb_row = next(r for r in proposals_csv if r["proposal_id"] == str(funded.tb))
    assert (tb_row["asked_total"], tb_row["currency"], tb_row["state"]) == (
        "100000.00", "EUR", "funding")
    assert tb_row["lead_institute"] == "Institute of Physics alpha"
    assert dt.datetime.fromisoformat(tb_row["submitted_at"]).utcoffset() is not None
    water_row = next(r for r in proposals_xlsx if r["proposal_id"] == funded.water)
    assert water_row["title"] == UNICODE and water_row["asked_total"] == 80000

    budgets = _csv(client.get(f"{_base(funded)}/budgets-by-donor.csv"))
    assert {(r["proposal_id"], r["donor"], r["asked"], r["committed"]) for r in budgets} == {
        (str(funded.tb), "D1", "60000.00", "0.00"), (str(funded.tb), "D2", "40000.00",
                                                     "25000.00"),
        (str(funded.water), "D1", "50000.00", "45000.50"),
        (str(funded.water), "D2", "30000.00", "0.00")}
    institutes = _xlsx(client.get(f"{_base(funded)}/budgets-by-institute.xlsx"))
    physics = next(r for r in institutes if r["proposal_id"] == funded.tb
                   and r["institute"] == "Institute of Physics alpha")
    assert physics["asked of D1"] == 60000 and physics["asked of D2"] == 40000

    reviews = _csv(client.get(f"{_base(funded)}/reviews.csv"))
    chen = next(r for r in reviews if r["reviewer"] == "Chen Genome")
    assert (chen["score: Scientific merit"], chen["score: Team"], chen["review"]) == (
        "5", "4", "submitted")
    ranks = {r["proposal_id"]: r["rank"] for r in _csv(client.get(f"{_base(funded)}/rankings.csv"))}
    assert ranks == {str(funded.tb): "1", str(funded.water): "2"}


def test_a_delegate_reads_only_their_donor_and_not_what_they_are_conflicted_with(
        app, client, login, funded: Panel) -> None:
    with app.app_context(), tenant_scope(funded.tenant_id):
        # r3, D2's delegate, declared a conflict on water (assigned again, as a second look).
        db.session.add(Assignment(proposal_id=funded.water, reviewer_id=funded.users["r3"],
                                  donor_id=funded.donors["d2"],
                                  status=AssignmentStatus.conflict,
                                  assigned_at=proposal(funded, "water").submitted_at,
                                  declared_at=proposal(funded, "water").submitted_at,
                                  conflict_reason="My former student."))
        db.session.commit()
    login(funded.emails["r3"])
    html = client.get(_base(funded)).get_data(as_text=True)
    assert "reviews.csv" not in html and "rankings.csv" not in html
    assert client.get(f"{_base(funded)}/reviews.csv").status_code == 404
    assert client.get(f"{_base(funded)}/rankings.xlsx").status_code == 404

    rows, book = _both(client, _base(funded), "commitments")
    assert [(r["proposal_id"], r["donor"], r["committed"], r["asked"]) for r in rows] == [
        (str(funded.tb), "D2", "25000.00", "40000.00")]
    assert [(r["donor"], r["committed"]) for r in book] == [("D2", 25000)]
    proposals_rows = _csv(client.get(f"{_base(funded)}/proposals.csv"))
    assert [(r["proposal_id"], r["asked_of_donor"]) for r in proposals_rows] == [
        (str(funded.tb), "40000.00")]
    budgets = _xlsx(client.get(f"{_base(funded)}/budgets-by-donor.xlsx"))
    assert {r["donor"] for r in budgets} == {"D2"}
    assert "D1" not in client.get(f"{_base(funded)}/budgets-by-institute.csv").data.decode()


@pytest.mark.parametrize(("who", "expected"), [
    ("r2", 403),  # a reviewer of a donor of the call, not its delegate
    ("r5", 404),  # the delegate of a donor outside the call
    ("applicant", 403),
])
def test_a_reviewer_of_another_donor_is_refused(app, client, login, funded: Panel, who: str,
                                                expected: int) -> None:
    with app.app_context(), tenant_scope(funded.tenant_id):
        funding.add_delegate(db.session.get(Donor, funded.donors["d3"]), user(funded, "r5"),
                             by=user(funded, "officer"))
        db.session.commit()
    login(funded.emails[who])
    for path in ("", "/commitments.csv", "/commitments.xlsx", "/proposals.csv"):
        assert client.get(_base(funded) + path).status_code == expected, path


def test_a_blind_delegate_exports_no_name_of_applicants_or_institutes(
        app, client, login, funded: Panel) -> None:
    with app.app_context(), tenant_scope(funded.tenant_id):
        call = db.session.get(Call, funded.call_id)
        calls.update_call(call, by=user(funded, "officer"), expected_version=call.version,
                          review_mode=ReviewMode.double_blind)
        tb = proposal(funded, "tb")
        tb.title = "Aigerim Nurlanovna maps tuberculosis at the Institute of Physics alpha"
        names = [db.session.get(Institute, i).name for i in funded.world.a.institute_ids]
        db.session.commit()
    names += ["Aigerim", "Nurlanovna", "Armen Sargsyan"]
    login(funded.emails["r1"])  # D1's delegate
    page = client.get(_base(funded))
    assert "double-blind" in page.get_data(as_text=True)
    texts = [page.get_data(as_text=True)]
    for key in ("proposals", "budgets-by-donor", "budgets-by-institute", "commitments",
                "agreements", "reports", "tranches"):
        texts.append(client.get(f"{_base(funded)}/{key}.csv").data.decode("utf-8"))
        book = _xlsx(client.get(f"{_base(funded)}/{key}.xlsx"))
        texts.append(" ".join(str(v) for row in book for v in row.values() if v is not None))
    everything = "\n".join(texts)
    assert [n for n in names if n in everything] == []
    # The tables still carry the figures, struck of names only.
    institutes = _csv(client.get(f"{_base(funded)}/budgets-by-institute.csv"))
    assert {(r["proposal_id"], r["institute"], r["asked_of_donor"]) for r in institutes} >= {
        (str(funded.tb), "Partner 1", "60000.00")}
    title = next(r["title"] for r in _csv(client.get(f"{_base(funded)}/proposals.csv"))
                 if r["proposal_id"] == str(funded.tb))
    assert "maps tuberculosis" in title


def test_the_project_call_exports_agreements_reports_and_tranches(app, client, login,
                                                                  world) -> None:  # noqa: ANN001
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        project = db.session.get(Project, side.ids["project_id"])
        call_id = project.proposal.call_id
        agreement = db.session.scalar(select(Agreement).where(
            Agreement.proposal_id == project.proposal_id))
        sha, reference = agreement.sha256, project.reference
        tranches = [(t.number, t.amount) for t in project.tranches]
    base = f"/{side.slug}/exports/calls/{call_id}"
    login(side.emails[Role.officer])
    rows, book = _both(client, base, "agreements")
    assert [(r["reference"], r["sha256"], r["state"], r["total"], r["currency"])
            for r in rows] == [(agreement.reference, sha, "issued", "90000.00", "EUR")]
    assert book[0]["sha256"] == sha and book[0]["total"] == 90000
    assert sha in rows[0]["acknowledgement_sha256"]
    assert rows[0]["countersigned_at"][:4].isdigit() and "T" in rows[0]["countersigned_at"]
    got = _xlsx(client.get(f"{base}/tranches.xlsx"))
    assert [(r["project"], r["tranche"], Decimal(str(r["amount"])) * 100) for r in got] == [
        (reference, n, Decimal(a)) for n, a in tranches]
    reports = _csv(client.get(f"{base}/reports.csv"))
    assert reports[0]["project"] == reference and reports[0]["report"] == "draft"
    assert reports[0]["due_on"][4] == "-"
    # D1's delegate (the world's reviewer) reads its own share and tranches too.
    login(side.emails[Role.reviewer])
    share = _csv(client.get(f"{base}/agreements.csv"))
    assert [(r["sha256"], r["donor_share"]) for r in share] == [(sha, "90000.00")]
    assert len(_csv(client.get(f"{base}/tranches.csv"))) == len(tranches)


def test_a_call_without_proposals_says_so_and_its_tables_have_headers_only(
        app, client, login, world) -> None:  # noqa: ANN001
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        call = open_call(donor_ids=side.donor_ids, countries=["KZ", "AM"], title="Empty call")
        db.session.commit()
        call_id = call.id
    login(side.emails[Role.officer])
    base = f"/{side.slug}/exports/calls/{call_id}"
    html = client.get(base).get_data(as_text=True)
    assert "Nothing to export yet" in html and "none yet" in html
    assert '<th scope="col">Table</th>' in html
    assert _csv(client.get(f"{base}/commitments.csv")) == []
    assert _xlsx(client.get(f"{base}/tranches.xlsx")) == []
    assert client.get(f"{base}/no-such-table.csv").status_code == 404
    for language, words in (("ru", ("Выгрузки по конкурсу", "Выгружать пока нечего")),
                            ("ko", ("내보내기", "아직 내보낼 내용이 없습니다"))):
        page = client.get(base, headers={"Accept-Language": language}).get_data(as_text=True)
        assert all(w in page for w in words), language
