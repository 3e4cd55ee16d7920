"""A blind reviewer of a double-blind call walks every page and PDF they can reach from their
dashboard, and meets no applicant's name, institute or raw title there."""

from __future__ import annotations

import html
import io
import re
from collections import deque
from collections.abc import Iterator
from urllib.parse import urldefrag, urlsplit

import openpyxl
import pytest
from pypdf import PdfReader

from center.calls import services as calls
from center.calls.models import ReviewMode
from center.core import pdf
from center.core.db import db, tenant_scope
from center.core.exports import XLSX_MIMETYPE
from center.proposals import services as proposals
from center.proposals.models import ProposalStatus
from center.reviews import funding, services
from center.reviews.models import ReviewPhase
from center.tenants import services as tenants
from center.tenants.models import Institute
from tests.reviews.conftest import (
    Panel,
    accepted,
    fill,
    membership,
    proposal,
    review,
    user,
)
from tests.support.states import put_in_state

NEUTRON_TITLE = "Neutron detectors of the INP group of Dr. Ivanov"
NEUTRON_ABSTRACT = (
    "Dr. IVANOV and Иванова (his co-author Ivanova) lead the work; Kim Jeong-ho (김정호) and "
    "JEONGHO KIM build the electronics, O. KOVALEVSKAYA (Ковалевская) the software. All of "
    "it happens at the INP (ИЯФ), the Институт ядерной физики, that is the institute of "
    "nuclear physics (INPh), next to the IPA.")
TB_EXTRA = (" NURLANOVNA and Нурлановна sequence; the IPA hosts the database, and the IBA "
            "the samples. Write to aigerim@lab.example.")

#: Every spelling of every team member's and applicant's name planted in the proposals.
PEOPLE = ["Ivan Ivanov", "Ivanov", "IVANOV", "Иванов", "Иванова", "Ivanova", "김정호",
          "Kim Jeong-ho", "Jeong-ho", "Jeongho", "Olga Kovalevskaya", "Kovalevskaya",
          "Ковалевская", "Aigerim Nurlanovna", "Aigerim", "Nurlanovna", "Нурлановна",
          "Armen Sargsyan", "Sargsyan", "Applicant of alpha", "aigerim@lab.example",
          "ivan@lab.example"]
#: Institutes by name, local name and acronym (acronyms are matched as written).
INSTITUTES = ["Institute of Physics alpha", "Institute of Botany alpha",
              "Institute of Nuclear Physics", "Институт ядерной физики"]
ACRONYMS = ["INP", "INPh", "ИЯФ", "IPA", "IBA"]


@pytest.fixture(scope="module", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    pdf.shutdown()


def _blind_world(panel: Panel) -> dict[str, int | str]:
    """tb: reviewed by r3, its rapporteur; water: waiting for r3's declaration; neutron: in
    funding, which r3 commits to as the delegate of donor 2. All in one double-blind call."""
    officer, applicant = user(panel, "officer"), user(panel, "applicant")
    tb = proposal(panel, "tb")
    call = tb.call
    calls.update_call(call, by=officer, expected_version=call.version,
                      review_mode=ReviewMode.double_blind)
    physics = db.session.get(Institute, tb.lead.institute_id)
    nuclear = tenants.add_institute(by=officer, name="Institute of Nuclear Physics",
                                    local_name="Институт ядерной физики",
                                    country_code=physics.country_code, city="Almaty")
    db.session.flush()
    neutron = proposals.start_proposal(call, by=applicant)
    fill(neutron, applicant, title=NEUTRON_TITLE, abstract=NEUTRON_ABSTRACT,
         keywords="neutron detectors, INP", institutes=[nuclear, physics], pi="Ivan Ivanov",
         budget={panel.donors["d1"]: 30_000_00, panel.donors["d2"]: 20_000_00})
    for name in ("김정호", "Olga Kovalevskaya"):
        proposals.add_team_member(neutron, by=applicant, name=name, role="scientist",
                                  institute_id=nuclear.id, citizenship=physics.country_code,
                                  email="")
    put_in_state(neutron, ProposalStatus.funding, by=officer)
    funding.open_funding(neutron)
    # Set-up only: the applicants' free text as it reached review.
    tb.title = "Genomic surveillance of tuberculosis by Nurlanovna's group"
    tb.abstract += TB_EXTRA
    services.save_round(call, by=officer, expected_version=0, reviewers_per_proposal=3,
                        max_per_reviewer=6, nationality_rule=services.NationalityRule.none,
                        phase=ReviewPhase.discussion, due_at=None)
    review(accepted(panel, "tb", "r1"), 4, 4, to_applicants="Convincing.")
    mine = accepted(panel, "tb", "r3")
    review(mine, 3, 3, to_applicants="Fine.")
    services.set_rapporteur(tb, mine, by=officer)
    pending = services.assign(proposal(panel, "water"), membership(panel, "r3"), by=officer)
    db.session.commit()
    return {"review": mine.id, "declare": pending.id, "tb": tb.title, "water": panel.water,
            "neutron": NEUTRON_TITLE, "neutron_id": neutron.id}


def _text(response) -> str:  # noqa: ANN001
    if response.mimetype == XLSX_MIMETYPE:
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                        for cell in row if cell is not None)
    if response.mimetype == "application/pdf":
        pages = PdfReader(io.BytesIO(response.data)).pages
        return " ".join(" ".join(page.extract_text() for page in pages).split())
    return html.unescape(response.get_data(as_text=True))


def _links(body: str, slug: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"]+)"', body):
        url = urldefrag(html.unescape(href))[0]
        if urlsplit(url).netloc or not url.startswith(f"/{slug}/"):
            continue
        found.append(url)
    return found


def _crawl(client, start: str, slug: str, limit: int = 150) -> dict[str, str]:  # noqa: ANN001
    """GET every page reachable from ``start`` within the tenant; return path -> text."""
    seen: dict[str, str] = {}
    queue = deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            location = urlsplit(response.headers["Location"])
            queue.append(location.path + (f"?{location.query}" if location.query else ""))
            seen[url] = ""
            continue
        body = _text(response) if response.status_code == 200 else ""
        seen[url] = body
        if response.mimetype == "text/html":
            queue.extend(u for u in _links(body, slug) if u not in seen)
    return seen


def _leaks(text: str, titles: list[str], *, institutes: bool = True) -> list[str]:
    folded = text.casefold()
    found = [n for n in PEOPLE + (INSTITUTES if institutes else []) + titles
             if re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", folded)]
    found += [a for a in ACRONYMS if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text)]
    return found


def test_no_page_or_pdf_a_blind_reviewer_reaches_names_the_applicants(app, client, login,
                                                                      panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        made = _blind_world(panel)
    login(panel.emails["r3"])
    pages = _crawl(client, f"/{panel.slug}/dashboard", panel.slug)
    base = f"/{panel.slug}/reviews/assignments"
    reached = set(pages)
    assert {f"{base}/{made['review']}", f"{base}/{made['review']}/proposal.pdf",
            f"{base}/{made['declare']}/conflict", f"/{panel.slug}/reviews/",
            f"/{panel.slug}/reviews/proposals/{panel.tb}/consensus",
            f"/{panel.slug}/reviews/calls/{panel.call_id}/funding",
            # The delegate's exports of the call, from the funding board, as CSV and XLSX.
            f"/{panel.slug}/exports/calls/{panel.call_id}",
            f"/{panel.slug}/exports/calls/{panel.call_id}/proposals.csv",
            f"/{panel.slug}/exports/calls/{panel.call_id}/proposals.xlsx"} <= reached
    # The pages carry the proposals, struck of names: the crawl read real content.
    assert "whole-genome sequencing" in pages[f"{base}/{made['review']}/proposal.pdf"]
    assert "Neutron detectors of the […] group of Dr. […]" in pages[
        f"/{panel.slug}/reviews/calls/{panel.call_id}/funding"]
    titles = [str(made["tb"]), NEUTRON_TITLE]
    # The reviewer's own profile offers every institute of the center to pick theirs from,
    # tied to no proposal; it must still name no applicant.
    profile = f"/{panel.slug}/reviews/profile"
    _u = f"/{panel.slug}/exports/calls/{panel.call_id}/proposals.csv"
    # The world's other calls are single-blind: their exports name the institutes of their
    # proposals to the donors' delegates by the call's own rule (as their pages name their
    # teams); only this double-blind call's exports are searched.
    exports = f"/{panel.slug}/exports/calls/"
    this_call = f"{exports}{panel.call_id}"
    pages = {url: text for url, text in pages.items() if not url.startswith(exports)
             or url == this_call or url.startswith(f"{this_call}/")}
    assert {url: _leaks(text, titles, institutes=url != profile)
            for url, text in pages.items()} == {url: [] for url in pages}


def test_a_donor_delegate_committing_to_a_blind_proposal_reads_its_struck_title(
        app, client, login, panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        made = _blind_world(panel)
    login(panel.emails["r3"])
    response = client.post(f"/{panel.slug}/reviews/proposals/{made['neutron_id']}/commit",
                           data={f"p{made['neutron_id']}-amount": "100"},
                           follow_redirects=True)
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert "Committed" in body and "Neutron detectors of the […] group" in body
    assert _leaks(body, [NEUTRON_TITLE]) == []
