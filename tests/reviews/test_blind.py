"""Double-blind calls: no applicant's or institute's name anywhere a reviewer looks, on the
pages, in e-mails or in the downloads; single-blind calls show them."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from center.calls import services as calls
from center.calls.models import ReviewMode
from center.core import pdf
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals.models import Attachment
from center.reviews import services
from center.reviews.models import ReviewPhase
from center.reviews.redaction import review_copy, scrubber
from tests.reviews.conftest import Panel, accepted, membership, proposal, review, user

#: Every name the tuberculosis proposal holds: owner, PI (and her e-mail), institutes.
NAMES = ["Applicant of alpha", "Aigerim", "Nurlanovna", "aigerim@lab.example",
         "Institute of Physics alpha", "Institute of Botany alpha", "applicant@alpha.example",
         "cv.png"]


@pytest.fixture(scope="module", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    pdf.shutdown()


def _set_mode(panel: Panel, mode: ReviewMode) -> None:
    call = proposal(panel, "tb").call
    calls.update_call(call, by=user(panel, "officer"), expected_version=call.version,
                      review_mode=mode)


def _leaks(text: str) -> list[str]:
    return [name for name in NAMES if name.casefold() in text.casefold()]


def _pdf_text(data: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_the_scrubber_strikes_whole_names_and_capitalised_name_parts(scope: Panel) -> None:
    scrub = scrubber(proposal(scope, "tb"))
    text = ("Led by AIGERIM NURLANOVNA at the institute of physics ALPHA; Nurlanovna's lab. "
            "Write to aigerim@lab.example.")
    assert _leaks(scrub(text)) == []
    assert scrub("The botany of physics") == "The botany of physics"


def test_a_blind_copy_names_partners_and_team_members_by_number(scope: Panel) -> None:
    _set_mode(scope, ReviewMode.double_blind)
    copy = review_copy(proposal(scope, "tb"), blind=True)
    assert [p["label"] for p in copy.partners] == ["Partner 1", "Partner 2"]
    assert [m["label"] for m in copy.team] == ["Team member 1"]
    assert copy.attachments == []
    assert _leaks(repr(copy)) == []


def test_no_name_reaches_a_reviewer_of_a_double_blind_call(app, client, login,
                                                           panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        _set_mode(panel, ReviewMode.double_blind)
        pending = services.assign(proposal(panel, "tb"), membership(panel, "r3"),
                                  by=user(panel, "officer"))
        other = accepted(panel, "tb", "r1")
        review(other, 4, 4, to_applicants="Convincing.")
        services.save_round(proposal(panel, "tb").call, by=user(panel, "officer"),
                            expected_version=0, reviewers_per_proposal=3, max_per_reviewer=6,
                            nationality_rule=services.NationalityRule.none,
                            phase=ReviewPhase.discussion, due_at=None)
        db.session.commit()
        assignment_id, version = pending.id, pending.version
        attachment_id = db.session.scalar(select(Attachment.id))
    login(panel.emails["r3"])
    base = f"/{panel.slug}/reviews/assignments/{assignment_id}"
    pages = {"declaration": client.get(f"{base}/conflict").get_data(as_text=True),
             "list": client.get(f"/{panel.slug}/reviews/").get_data(as_text=True),
             "dashboard": client.get(f"/{panel.slug}/dashboard").get_data(as_text=True)}
    client.post(f"{base}/conflict", data={"version": version, "answer": "none"})
    pages["review"] = client.get(base).get_data(as_text=True)
    client.post(base, data={"version": "0", "score_0": "3", "score_1": "3",
                            "comments_to_applicants": "Fine.", "action": "submit"})
    pages["review after submission"] = client.get(base).get_data(as_text=True)
    download = client.get(f"{base}/proposal.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "proposal-" in download.headers["Content-Disposition"]
    pages["pdf"] = _pdf_text(download.data)
    assert client.get(f"{base}/files/{attachment_id}").status_code == 404
    with app.app_context():
        pages["e-mail"] = "\n".join(m.subject + m.body for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == panel.emails["r3"])))
    assert "Genomic surveillance" in pages["review"] and "Partner 1" in pages["review"]
    assert "whole-genome sequencing" in pages["pdf"]
    assert {where: _leaks(text) for where, text in pages.items()} == {
        where: [] for where in pages}


def test_a_single_blind_call_shows_who_applies_and_their_files(app, client, login,
                                                               panel: Panel) -> None:
    with app.app_context(), tenant_scope(panel.tenant_id):
        assignment_id = accepted(panel, "tb", "r3").id
        attachment_id = db.session.scalar(select(Attachment.id))
        db.session.commit()
    login(panel.emails["r3"])
    base = f"/{panel.slug}/reviews/assignments/{assignment_id}"
    html = client.get(base).get_data(as_text=True)
    assert "Aigerim Nurlanovna" in html and "Institute of Physics alpha" in html
    assert "Nurlanovna" in _pdf_text(client.get(f"{base}/proposal.pdf").data)
    file = client.get(f"{base}/files/{attachment_id}")
    assert file.status_code == 200 and file.mimetype == "image/png"
