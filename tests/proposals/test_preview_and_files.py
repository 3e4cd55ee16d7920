"""Before submitting the applicant sees the whole proposal, as a page and a PDF, and ticks a
declaration; files can be replaced or removed while the proposal is a draft, and neither a
rejected file nor a failed change loses what is stored."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.extensions import current_storage
from center.proposals import services, workflow
from center.proposals.models import Attachment, Proposal, ProposalStatus, ProposalVersion
from center.tenants.models import Role
from tests.proposals.test_proposals import _complete
from tests.support.pdfs import pdf_with_open_action_javascript
from tests.support.states import put_in_state
from tests.world import TINY_PNG, World


@pytest.fixture()
def ready(app, world: World) -> World:
    """World A's proposal with every section filled, committed."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        _complete(db.session.get(Proposal, world.a.ids["proposal_id"]), applicant, world.a)
        db.session.commit()
    return world


def _url(world: World, path: str = "") -> str:
    return f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}{path}"


def _proposal(app, world: World) -> Proposal:
    return db.session.get(Proposal, world.a.ids["proposal_id"])


def test_the_preview_shows_every_section(client, ready: World, login) -> None:
    login(ready.a.emails["applicant"])
    html = client.get(_url(ready, "/preview")).get_data(as_text=True)
    for text in ("Genomic TB surveillance", "Aigerim Nurlanovna", "Sequencing",
                 "120 days", "Salaries", "€100,000.00", "€60,000.00", "The consortium, jointly",
                 "Institute of Botany alpha", "I declare"):
        assert text in html, text
    assert "personnel" not in html and "principal_investigator" not in html


def test_officers_see_the_preview_and_other_applicants_do_not(client, ready, login) -> None:
    login(ready.a.emails["officer"])
    page = client.get(_url(ready, "/preview"))
    assert page.status_code == 200 and "Submit the proposal" not in page.get_data(as_text=True)
    client.post("/logout")
    login(ready.b.emails["applicant"])
    assert client.get(_url(ready, "/preview")).status_code == 404


def test_the_preview_pdf_states_what_the_page_states(client, ready: World, login) -> None:
    login(ready.a.emails["applicant"])
    response = client.get(_url(ready, "/preview.pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for figure in ("Genomic TB surveillance", "Aigerim Nurlanovna", "€100,000.00",
                   "€60,000.00", "€40,000.00", "Sequencing"):
        assert figure in text, figure


def test_submitting_without_the_declaration_changes_nothing(app, client, ready, login) -> None:
    login(ready.a.emails["applicant"])
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        version = _proposal(app, ready).version
    response = client.post(_url(ready, "/do/submit"), data={"version": str(version)})
    assert response.status_code == 302 and "/preview?declare=1" in response.headers["Location"]
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        assert _proposal(app, ready).status == ProposalStatus.draft
        assert db.session.scalar(select(ProposalVersion).where(
            ProposalVersion.proposal_id == ready.a.ids["proposal_id"])) is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="declaration-error"' in page


def test_the_declaration_is_kept_with_the_submitted_version(app, client, ready, login) -> None:
    login(ready.a.emails["applicant"])
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        version = _proposal(app, ready).version
    client.post(_url(ready, "/do/submit"), data={"version": str(version), "declaration": "y"})
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        assert _proposal(app, ready).status == ProposalStatus.submitted
        saved = db.session.scalar(select(ProposalVersion).where(
            ProposalVersion.proposal_id == ready.a.ids["proposal_id"]))
        assert saved.declaration.startswith("I declare, for every applicant")


def test_the_workflow_itself_refuses_a_submission_without_declaration(in_tenant) -> None:
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, applicant, in_tenant.a)
    with pytest.raises(workflow.GuardFailed, match="declaration"):
        workflow.fire(proposal, "submit", by=applicant, roles=frozenset({Role.applicant}))


# --- files ------------------------------------------------------------------------------

def _attachment(world: World) -> Attachment:
    return db.session.get(Attachment, world.a.ids["attachment_id"])


def test_a_file_is_replaced_and_the_old_bytes_go(app, client, ready: World, login) -> None:
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        old_key = _attachment(ready).storage_key
    login(ready.a.emails["applicant"])
    response = client.post(
        _url(ready, f"/files/{ready.a.ids['attachment_id']}/replace"),
        data={"replace-file": (io.BytesIO(b"%PDF-1.7\n" + _clean_pdf_body()), "cv v2.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        attachment = _attachment(ready)
        assert attachment.filename == "cv v2.pdf" and attachment.content_type == "application/pdf"
        assert current_storage().exists(attachment.storage_key)
        assert not current_storage().exists(old_key)
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "proposal.attachment_replaced"))
        assert event is not None


def _clean_pdf_body() -> bytes:
    from tests.support.pdfs import clean_pdf

    return clean_pdf()[len(b"%PDF-1.7\n"):]


def test_a_rejected_replacement_keeps_the_old_file(app, client, ready: World, login) -> None:
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        before = (_attachment(ready).storage_key, _attachment(ready).sha256)
    login(ready.a.emails["applicant"])
    response = client.post(
        _url(ready, f"/files/{ready.a.ids['attachment_id']}/replace"),
        data={"replace-file": (io.BytesIO(b"MZ\x90\x00 not a document"), "cv.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="replace-file-error"' in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        attachment = _attachment(ready)
        assert (attachment.storage_key, attachment.sha256) == before
        assert current_storage().exists(attachment.storage_key)


def test_a_file_is_removed_with_its_bytes(app, client, ready: World, login) -> None:
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        key = _attachment(ready).storage_key
    login(ready.a.emails["applicant"])
    response = client.post(_url(ready, f"/files/{ready.a.ids['attachment_id']}/remove"),
                           data={"version": "0"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        assert _attachment(ready) is None
        assert not current_storage().exists(key)


def test_a_removal_that_rolls_back_keeps_the_file(in_tenant: World) -> None:
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    attachment = _attachment(in_tenant)
    key = attachment.storage_key
    services.remove_attachment(proposal, attachment, by=applicant)
    db.session.rollback()
    assert current_storage().exists(key)
    assert _attachment(in_tenant) is not None


def test_an_upload_that_rolls_back_leaves_no_file(in_tenant: World) -> None:
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    attachment = services.upload_attachment(proposal, by=applicant, kind="other",
                                            filename="x.png", data=TINY_PNG)
    key = attachment.storage_key
    assert current_storage().exists(key)
    db.session.rollback()
    assert not current_storage().exists(key)


def test_files_of_a_submitted_proposal_cannot_be_replaced_or_removed(app, client, ready,
                                                                      login) -> None:
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        applicant = db.session.get(User, ready.a.user_ids[Role.applicant])
        put_in_state(_proposal(app, ready), ProposalStatus.submitted, by=applicant)
        db.session.commit()
        key = _attachment(ready).storage_key
    login(ready.a.emails["applicant"])
    item = ready.a.ids["attachment_id"]
    # Refused for the state: the applicant is sent to the proposal's page, which says why.
    assert client.post(_url(ready, f"/files/{item}/remove"),
                       data={"version": "0"}).status_code in (302, 403)
    assert client.post(_url(ready, f"/files/{item}/replace"), data={
        "replace-file": (io.BytesIO(TINY_PNG), "x.png")},
        content_type="multipart/form-data").status_code in (302, 403)
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        assert current_storage().exists(key) and _attachment(ready) is not None


def test_a_pdf_with_javascript_is_stored_without_it(app, client, ready: World, login) -> None:
    login(ready.a.emails["applicant"])
    response = client.post(_url(ready, "/edit/attachments"), data={
        "kind": "other", "file": (io.BytesIO(pdf_with_open_action_javascript()), "x.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Scripts, automatic actions and embedded files were removed" in response.get_data(
        as_text=True)
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        stored = db.session.scalar(select(Attachment).where(Attachment.filename == "x.pdf"))
        data = current_storage().get(stored.storage_key)
        assert b"/JavaScript" not in data and b"/OpenAction" not in data
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "proposal.attachment_uploaded").order_by(AuditEvent.id.desc()))
        assert event.details.get("active_content_removed") is True


@pytest.mark.parametrize("name", ["cv\r\nSet-Cookie: x=1.png", "cv\x00.exe.png", "cv\r.png",
                                  "cv%0d%0aX: y.png",
                                  "..\\..\\etc\\passwd.png", "\u202egnp.exe.png"])
def test_control_characters_in_a_file_name_are_dropped(app, client, ready, login,
                                                       name: str) -> None:
    login(ready.a.emails["applicant"])
    response = client.post(_url(ready, "/edit/attachments"), data={
        "kind": "other", "file": (io.BytesIO(TINY_PNG), name)},
        content_type="multipart/form-data")
    if response.status_code == 200:
        # A raw CR/LF breaks the multipart part's own header: the upload never arrives,
        # and the form says so next to the field.
        assert 'id="file-error"' in response.get_data(as_text=True)
        return
    if response.status_code == 400:
        return  # control characters in the request itself are refused before any view
    assert response.status_code == 302
    with app.app_context(), tenant_scope(ready.a.tenant_id):
        stored = db.session.scalar(select(Attachment).order_by(Attachment.id.desc()))
        assert stored.filename.endswith(".png")
        assert not any(ch in stored.filename for ch in "\r\n\x00\\/\u202e")
        attachment_id = stored.id
    download = client.get(_url(ready, f"/files/{attachment_id}"))
    assert download.status_code == 200 and download.data == TINY_PNG
    assert "\n" not in download.headers["Content-Disposition"]
