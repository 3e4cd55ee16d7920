"""The agreement and letter PDFs, read back: what a lawyer and a consul would look for.

Every test renders through the real pipeline (services -> Jinja -> WeasyPrint worker) and
reads the stored PDF with pypdf. Page 1 and the budget page are also turned into PNGs under
test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from center.agreements import pdf, services
from center.agreements.examples import example_facts
from center.core.db import db
from center.extensions import current_storage
from center.tenants.models import Donor, Institute
from tests.agreements.conftest import Scene
from tests.agreements.world_part import approved_proposal
from tests.support.browser import ARTIFACTS


def _text(data: bytes) -> str:
    """All the text of a PDF with whitespace collapsed."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _png(pdf_path: Path, page: int, name: str) -> Path:
    """Render one page to test-artifacts/<name>.png with pdftoppm."""
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf_path), str(ARTIFACTS / name)], check=True,
                   timeout=60)
    return ARTIFACTS / f"{name}.png"


@pytest.fixture()
def issued_pdf(scene: Scene) -> tuple[bytes, services.Agreement]:
    agreement = services.generate_agreement(scene.proposal, by=scene.admin, tenant=scene.tenant)
    return current_storage().get(agreement.pdf_key), agreement


def test_the_agreement_states_clauses_amounts_trips_and_ip_terms(
        scene: Scene, issued_pdf) -> None:  # noqa: ANN001
    data, agreement = issued_pdf
    text = _text(data)
    for number, title in enumerate(["Parties", "Project", "Budget and payment schedule",
                                    "Intellectual property", "Visa support and travel",
                                    "Reporting", "Publication", "Taxes and customs exemptions",
                                    "Confidentiality", "Suspension and termination",
                                    "Settlement of disputes",
                                    "Entry into force and signatures"], start=1):
        assert f"Article {number} {title}" in text
    assert "Contents" in text and agreement.reference in text
    # Amounts per donor and the 40/40/20 schedule of each donor's share.
    assert "Donor One of alpha" in text and "Donor Two of alpha" in text
    for amount in ("€60,000.00", "€40,000.00", "€100,000.00", "€24,000.00", "€16,000.00",
                   "€12,000.00", "€8,000.00"):
        assert amount in text, amount
    assert "On approval of the interim report" in text
    # The trips, and which need a letter.
    assert "Field campaign" in text and "Installation" in text
    assert "Kazakhstan" in text and "Armenia" in text and "South Korea" in text
    # IP terms from the proposal's plan.
    assert "owned jointly by the Institutes" in text
    assert "Shares follow the person-months." in text
    assert "Resistance-mutation catalogue v3" in text
    assert "Open access." in text
    # Placeholders were all filled.
    assert not re.search(r"\{[a-z_]+\}", text)
    # Two parts, each paged on its own: "Part I · Page x of y" on every page of Part I, then
    # "Part II · Page x of y" from the page where Part II starts.
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    second = next(i for i, page in enumerate(pages) if "Part II. General conditions" in page
                  and "Contents of Part II" in page)
    first_part, second_part = pages[:second], pages[second:]
    assert first_part and second_part
    for part, label in ((first_part, "Part I"), (second_part, "Part II")):
        for number, page in enumerate(part, start=1):
            assert f"{label} · Page {number} of {len(part)}" in " ".join(page.split()), number


def test_each_part_lists_its_articles_with_pages_and_the_links_work(
        scene: Scene, issued_pdf) -> None:  # noqa: ANN001
    data, _agreement = issued_pdf
    reader = PdfReader(io.BytesIO(data))
    cover = " ".join(reader.pages[0].extract_text().split())
    # Part I's contents give a page for its own articles and the part for the others.
    assert re.search(r"Article 1\. Parties[ .]*2\b", cover), cover
    assert re.search(r"Article 7\. Publication[ .]*Part II", cover), cover
    assert re.search(r"Annex C\. Project team[ .]*Part II", cover), cover
    second = next(i for i, page in enumerate(reader.pages)
                  if "Contents of Part II" in page.extract_text())
    contents = " ".join(reader.pages[second].extract_text().split())
    assert re.search(r"Article 7\. Publication[ .]*1\b", contents), contents
    # Every contents entry with a page is a link to a destination of the joined document.
    destinations = reader.named_destinations
    for index in (0, second):
        links = [annotation.get_object() for annotation in reader.pages[index]["/Annots"]]
        targets = [str(link["/Dest"]) for link in links if "/Dest" in link]
        assert targets and all(target in destinations for target in targets)
    assert {"art-parties", "art-publication", "annex-team"} <= set(destinations)
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert any("Part II" in title for title in titles)


def test_cyrillic_and_korean_names_can_be_copied_from_the_pdf(scene: Scene, issued_pdf) -> None:  # noqa: ANN001
    data, agreement = issued_pdf
    text = _text(data)
    assert "Айгерим Нурлановна" in text
    assert "김민준" in text
    letter = current_storage().get(agreement.letters[0].pdf_key)
    assert "Айгерим Нурлановна" in _text(letter)


def test_page_one_and_the_budget_page_are_saved_as_pictures(scene: Scene, issued_pdf,  # noqa: ANN001
                                                            tmp_path: Path) -> None:
    data, agreement = issued_pdf
    path = tmp_path / "agreement.pdf"
    path.write_bytes(data)
    pages = PdfReader(io.BytesIO(data)).pages
    budget_page = next(i for i, page in enumerate(pages, start=1)
                       if "Payment schedule" in page.extract_text())
    for page, name in ((1, "agreement-page-1"), (budget_page, "agreement-budget-page")):
        png = _png(path, page, name)
        assert png.stat().st_size > 20_000  # a real page with text, not a blank sheet
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(current_storage().get(agreement.letters[0].pdf_key))
    assert len(PdfReader(str(letter)).pages) == 1
    _png(letter, 1, "agreement-invitation-letter")


def test_the_invitation_letter_names_the_traveller_trip_and_consulate(scene: Scene,
                                                                     issued_pdf) -> None:  # noqa: ANN001
    _data, agreement = issued_pdf
    text = _text(current_storage().get(agreement.letters[0].pdf_key))
    assert "Letter of invitation" in text
    assert "Consular Section of the Embassy of Armenia in Kazakhstan" in text
    assert "3 May 2027" in text and "10 May 2027" in text and "(8 days)" in text
    assert agreement.letters[0].reference in text and agreement.reference in text
    assert "€150.00" in text  # the per-diem of the travel clause


class RecordingServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every path asked of it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_markup_and_urls_in_any_field_are_shown_as_text_and_fetch_nothing(
        in_tenant, recorder: RecordingServer) -> None:  # noqa: ANN001
    url = recorder.url
    hostile = {
        "title": '<img src="file:///etc/passwd"> Water <b>bold</b>',
        "abstract": f'<link rel="stylesheet" href="{url}/abstract.css"> ' + "Melt. " * 60,
        "objectives": f"<style>@import url({url}/import.css); body {{ background: "
                      f"url({url}/bg.png) }}</style>",
        "keywords": f'<img src="{url}/keywords.png">',
        "pi_name": '<script>alert("pi")</script> Ivanov',
        "foreground_ip_terms": f'<iframe src="{url}/frame"></iframe>',
        "background": f'<object data="{url}/object"></object> & '
                      f'<svg><image href="{url}/svg.png"/></svg>',
    }
    side = in_tenant.a
    institute = db.session.get(Institute, side.institute_ids[0])
    institute.local_name = f'<img src="{url}/institute.png">Институт'
    donor = db.session.get(Donor, side.donor_ids[0])
    donor.name = f'<a href="{url}/donor" rel="attachment">Donor</a>'
    admin_body = (f'<img src="{url}/clause.png"> {{center}} <style>* {{{{ display: none }}}}'
                  "</style>")
    from center.auth.models import User
    from center.tenants.models import Role, Tenant

    admin = db.session.get(User, side.user_ids[Role.admin])
    services.save_clause("taxes", by=admin, title='<i onload="x()">Taxes</i>', body=admin_body,
                         settings={}, expected_number=0)
    proposal = approved_proposal(side, title=hostile["title"], abstract=hostile["abstract"],
                                 objectives=hostile["objectives"], keywords=hostile["keywords"],
                                 pi_name=hostile["pi_name"],
                                 foreground_ip_terms=hostile["foreground_ip_terms"],
                                 background=hostile["background"])
    agreement = services.generate_agreement(proposal, by=admin,
                                            tenant=db.session.get(Tenant, side.tenant_id))
    data = current_storage().get(agreement.pdf_key)
    letter = current_storage().get(agreement.letters[0].pdf_key)

    assert recorder.requests == []
    text = _squeezed(_text(data))
    for value in [*hostile.values(), institute.local_name, donor.name,
                  '<i onload="x()">Taxes</i>']:
        assert _squeezed(value.replace("Melt. " * 60, "")) in text, value
    assert _squeezed("<img src=\"" + url + "/clause.png\"> Center ALPHA") in text
    assert "root:x:0:0" not in text
    for document in (data, letter):
        reader = PdfReader(io.BytesIO(document))
        assert all(not page.images for page in reader.pages)
        assert reader.attachments == {}
        assert not reader.metadata or not any(
            "img" in str(v) or "Water" in str(v) for v in reader.metadata.values())
    assert _squeezed(hostile["pi_name"]) in _squeezed(_text(letter))


def test_the_renderer_is_a_pure_function_of_its_context() -> None:
    clauses = {key: services.default_clause(key) for key in services.clause_lib.CLAUSE_KEYS}
    context = services.assemble(example_facts(), clauses, reference="EX-1", version=1,
                                generated_on="2026-03-01")
    assert pdf.agreement_parts_html(context) == pdf.agreement_parts_html(context)
    text = _text(pdf.render_agreement_pdf(context))
    assert "한국생명공학연구원" in text and "Институт цитологии и генетики СО РАН" in text
    assert "€325,050.50" in text


def test_a_bundled_tenant_logo_is_used_when_there_is_one() -> None:
    assert pdf.logo_for("istc-demo") == "logos/istc-demo.svg"
    assert pdf.logo_for("alpha") is None
    assert pdf.logo_for("../../etc/passwd") is None
    clauses = {key: services.default_clause(key) for key in services.clause_lib.CLAUSE_KEYS}
    context = services.assemble(example_facts(logo="logos/istc-demo.svg"), clauses,
                                reference="EX-1", version=1, generated_on="2026-03-01")
    assert '<img class="logo" src="logos/istc-demo.svg"' in pdf.agreement_parts_html(context)[0]
    assert PdfReader(io.BytesIO(pdf.render_agreement_pdf(context))).pages
