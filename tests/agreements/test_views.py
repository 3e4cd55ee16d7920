"""The agreement pages over HTTP: who may do what, and what each action leaves behind."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest
from sqlalchemy import select

from center.agreements import services
from center.agreements.models import (
    Acknowledgement,
    Agreement,
    AgreementStatus,
    ClauseTemplate,
    Party,
)
from center.auth import services as accounts
from center.core.db import db
from center.core.jobs import Job, JobStatus
from center.core.storage import S3Storage
from center.proposals.models import Proposal, ProposalStatus
from center.tenants import services as tenants
from center.tenants.models import Role
from tests.agreements.conftest import Scene, Stage
from tests.agreements.world_part import approved_proposal
from tests.world import PASSWORD

A = "/alpha"


def _issue(scene: Scene) -> int:
    agreement = services.generate_agreement(scene.proposal, by=scene.admin, tenant=scene.tenant)
    services.issue_agreement(agreement, by=scene.admin, roles=frozenset({Role.admin}),
                             tenant=scene.tenant)
    return agreement.id


@pytest.mark.parametrize("role,status", [
    (Role.admin, 302), (Role.officer, 403), (Role.applicant, 403), (Role.reviewer, 403),
    (Role.concurrence, 403),
])
def test_only_an_administrator_generates_an_agreement(stage: Stage, login, role: str,
                                                      status: int) -> None:
    with stage.scene() as scene:
        version = scene.proposal.version
    response = login(stage.world.a.emails[role]).post(
        f"{A}/proposals/{stage.proposal_id}/agreement", data={"version": version})
    assert response.status_code == status
    with stage.scene() as scene:
        assert len(services.versions_of(scene.proposal)) == (1 if status == 302 else 0)


def test_a_stale_generate_button_is_refused(stage: Stage, login) -> None:
    with stage.scene() as scene:
        version = scene.proposal.version
    response = login(stage.world.a.emails[Role.admin]).post(
        f"{A}/proposals/{stage.proposal_id}/agreement", data={"version": version - 1},
        follow_redirects=True)
    assert "changed since you opened it" in response.get_data(as_text=True)
    with stage.scene() as scene:
        assert services.versions_of(scene.proposal) == []


@pytest.mark.parametrize("role,status", [
    (Role.admin, 200), (Role.officer, 200), (Role.applicant, 200), (Role.reviewer, 200),
    (Role.signatory, 200), (Role.concurrence, 403),
])
def test_the_issued_pdf_goes_to_staff_and_to_the_parties(stage: Stage, login, role: str,
                                                         status: int) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        sha256 = db.session.get(Agreement, agreement_id).sha256
    response = login(stage.world.a.emails[role]).get(f"{A}/agreements/{agreement_id}/pdf")
    assert response.status_code == status
    if status == 200:
        assert response.data.startswith(b"%PDF-")
        assert response.headers["X-Content-SHA256"] == sha256
        assert "attachment" in response.headers["Content-Disposition"]


def test_a_draft_is_hidden_from_the_parties(stage: Stage, login) -> None:
    with stage.scene() as scene:
        agreement_id = services.generate_agreement(scene.proposal, by=scene.admin,
                                                   tenant=scene.tenant).id
    for role in (Role.applicant, Role.reviewer):
        client = login(stage.world.a.emails[role])
        assert client.get(f"{A}/agreements/{agreement_id}").status_code == 404
        assert client.get(f"{A}/agreements/{agreement_id}/pdf").status_code == 404
        client.post("/logout")


def test_people_outside_the_proposal_or_its_donors_get_404(stage: Stage, login) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        third = tenants.add_donor(by=scene.admin, name="Donor funding nothing here",
                                  short_name="D3")
        db.session.flush()
        outsider = accounts.create_user("reviewer.d3@alpha.example", "Reviewer D3", PASSWORD)
        accounts.add_membership(outsider, scene.tenant, Role.reviewer, by=scene.admin,
                                donor_id=third.id)
        other = accounts.create_user("other@alpha.example", "Other applicant", PASSWORD)
        accounts.add_membership(other, scene.tenant, Role.applicant, by=scene.admin)
    for email in ("reviewer.d3@alpha.example", "other@alpha.example"):
        client = login(email)
        assert client.get(f"{A}/agreements/{agreement_id}").status_code == 404
        assert client.get(f"{A}/agreements/{agreement_id}/pdf").status_code == 404
        client.post("/logout")


def test_letters_go_to_the_applicants_not_to_the_donors(stage: Stage, login) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        letter = db.session.get(Agreement, agreement_id).letters[0]
        url, sha256 = f"{A}/agreements/{agreement_id}/letters/{letter.id}", letter.sha256
    client = login(stage.world.a.emails[Role.applicant])
    response = client.get(url)
    assert response.status_code == 200 and response.headers["X-Content-SHA256"] == sha256
    client.post("/logout")
    assert login(stage.world.a.emails[Role.reviewer]).get(url).status_code == 403


def test_the_lead_institutes_signatory_acknowledges_the_exact_pdf(stage: Stage, login) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        sha256 = db.session.get(Agreement, agreement_id).sha256
    applicant = login(stage.world.a.emails[Role.applicant])
    page = applicant.get(f"{A}/agreements/{agreement_id}").get_data(as_text=True)
    assert "Acknowledge for" not in page  # the applicant reads it, the signatory signs
    assert "through an authorised signatory of the institute" in page
    applicant.post("/logout")
    client = login(stage.world.a.emails[Role.signatory])
    page = client.get(f"{A}/agreements/{agreement_id}").get_data(as_text=True)
    assert "Acknowledge for Institute of Physics alpha" in page
    url = f"{A}/agreements/{agreement_id}/acknowledge"
    form = {"party_value": "lead_institute", "lead_institute-sha256": sha256,
            "lead_institute-typed_name": "Aigerim Nurlanovna"}
    refused = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert "Tick the box" in refused  # the confirmation box is required
    forged = {**form, "lead_institute-confirm": "y", "lead_institute-sha256": "ab" * 32}
    assert "fingerprint differs" in client.post(url, data=forged,
                                                follow_redirects=True).get_data(as_text=True)
    assert client.post(url, data={**form, "lead_institute-confirm": "y"}).status_code == 302
    with stage.scene():
        ack = db.session.scalar(select(Acknowledgement).where(
            Acknowledgement.agreement_id == agreement_id))
        assert (ack.party, ack.typed_name, ack.sha256) == (
            Party.lead_institute, "Aigerim Nurlanovna", sha256)


def test_a_donor_reviewer_cannot_acknowledge_for_the_lead_institute(stage: Stage,
                                                                   login) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        sha256 = db.session.get(Agreement, agreement_id).sha256
    response = login(stage.world.a.emails[Role.reviewer]).post(
        f"{A}/agreements/{agreement_id}/acknowledge", data={
            "party_value": "lead_institute", "lead_institute-sha256": sha256,
            "lead_institute-typed_name": "Not me", "lead_institute-confirm": "y"})
    assert response.status_code == 403
    with stage.scene():
        assert db.session.scalar(select(Acknowledgement).where(
            Acknowledgement.agreement_id == agreement_id)) is None


def test_countersigning_over_http_activates_the_project(stage: Stage, login) -> None:
    with stage.scene() as scene:
        agreement_id = _issue(scene)
        agreement = db.session.get(Agreement, agreement_id)
        services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                             donor_id=None, typed_name="A. N.", sha256=agreement.sha256)
        for index, donor_id in enumerate(stage.world.a.donor_ids):
            services.acknowledge(agreement, by=scene.reviewer_for(index), party=Party.donor,
                                 donor_id=donor_id, typed_name=f"R{index}",
                                 sha256=agreement.sha256)
        version = scene.proposal.version
    client = login(stage.world.a.emails[Role.admin])
    assert "Every party has acknowledged" in client.get(
        f"{A}/agreements/{agreement_id}").get_data(as_text=True)
    response = client.post(f"{A}/agreements/{agreement_id}/countersign",
                           data={"version": version, "typed_name": "Admin of alpha"})
    assert response.status_code == 302
    with stage.scene() as scene:
        assert scene.proposal.status == ProposalStatus.active
        assert db.session.get(Agreement, agreement_id).countersigned_name == "Admin of alpha"


def test_the_proposal_page_shows_the_agreement_panel_by_role(stage: Stage, login) -> None:
    with stage.scene() as scene:
        label = services.generate_agreement(scene.proposal, by=scene.admin,
                                            tenant=scene.tenant).label
    url = f"{A}/proposals/{stage.proposal_id}"
    admin = login(stage.world.a.emails[Role.admin])
    admin_page = admin.get(url).get_data(as_text=True)
    assert "Generate a new version" in admin_page and f"Issue {label}" in admin_page
    admin.post("/logout")
    applicant_page = login(stage.world.a.emails[Role.applicant]).get(url).get_data(as_text=True)
    assert "The center is preparing the agreement." in applicant_page
    assert "Generate" not in applicant_page and label not in applicant_page


def test_the_administrator_saves_a_clause_as_a_new_version(stage: Stage, login) -> None:
    client = login(stage.world.a.emails[Role.admin])
    url = f"{A}/admin/agreement-clauses/edit?key=travel"
    page = client.get(url).get_data(as_text=True)
    assert "{per_diem}" in page and 'value="150.00"' in page
    body = "Per-diem {per_diem}; cover {insurance_cover}. <b>Not bold</b>"
    form = {"base_number": "0", "title": "Travel", "body": body, "per_diem": "200",
            "insurance_cover": "50000"}
    preview = client.post(url, data={**form, "action": "preview"}).get_data(as_text=True)
    assert "Per-diem €200.00; cover €50,000.00. &lt;b&gt;Not bold&lt;/b&gt;" in preview
    with stage.scene():
        assert services.current_clauses()["travel"].number == 0  # a preview saves nothing
    saved = client.post(url, data={**form, "note": "New rates", "action": "save"})
    assert saved.status_code == 302
    with stage.scene():
        clause = services.current_clauses()["travel"]
        assert (clause.number, clause.settings) == (
            1, {"per_diem": 200_00, "insurance_cover": 50_000_00})
    stale = client.post(url, data={**form, "body": "Typed in a stale tab {per_diem}",
                                   "action": "save"})
    assert stale.status_code == 409
    assert "Typed in a stale tab" in stale.get_data(as_text=True)
    with stage.scene():
        assert services.current_clauses()["travel"].number == 1


def test_the_editor_offers_the_default_wording_in_the_centers_legal_language(
        stage: Stage, login) -> None:
    with stage.scene() as scene:
        scene.tenant.legal_language = "ru"
    admin = login(stage.world.a.emails[Role.admin])
    page = admin.get(f"{A}/admin/agreement-clauses/edit?key=budget").get_data(as_text=True)
    assert "Доноры финансируют проект в общей сумме не более {total_budget}" in page
    assert 'value="Бюджет и график платежей"' in page
    assert "The Donors fund the project" not in page
    listing = admin.get(f"{A}/admin/agreement-clauses").get_data(as_text=True)
    # The list names the defaults in the reader's language (English here).
    assert "Budget and payment schedule" in listing


@pytest.mark.parametrize("key,field,value,message", [
    ("summary", "body", "Hello {nonsense}", "Unknown placeholder: {nonsense}"),
    ("budget", "tranches", "50 | First\n40 | Second", "add up to 90%"),
    ("budget", "tranches", "half | First", "not a whole percentage"),
    ("travel", "per_diem", "Infinity", "Enter the amount in digits"),
    ("travel", "per_diem", "NaN", "Enter the amount in digits"),
    ("travel", "per_diem", "9" * 200, "Enter at most"),
    ("travel", "per_diem", "1500.005", "at most 2 decimals"),
    ("travel", "per_diem", "150.005", "could mean 150,005.00 or 150.00"),
    ("travel", "insurance_cover", "1e999", "Enter the amount in digits"),
    ("travel", "insurance_cover", "-50000", "zero or more"),
])
def test_clause_mistakes_are_explained_next_to_the_field(stage: Stage, login, key: str,
                                                         field: str, value: str,
                                                         message: str) -> None:
    data = {"base_number": "0", "title": "Title", "body": "Text {center}",
            "tranches": "100 | All at once", "action": "save", field: value}
    page = login(stage.world.a.emails[Role.admin]).post(
        f"{A}/admin/agreement-clauses/edit?key={key}", data=data).get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    with stage.scene():
        assert db.session.scalar(select(ClauseTemplate).where(ClauseTemplate.key == key)) is None


def test_clause_pages_and_the_example_pdf_are_for_administrators(stage: Stage, login) -> None:
    clause_id = stage.world.a.ids["clause_id"]
    admin = login(stage.world.a.emails[Role.admin])
    assert admin.get(f"{A}/admin/agreement-clauses").status_code == 200
    assert "Reviewed by counsel" in admin.get(
        f"{A}/admin/agreement-clauses/versions/{clause_id}").get_data(as_text=True)
    example = admin.get(f"{A}/admin/agreement-clauses/example.pdf")
    assert example.status_code == 200 and example.data.startswith(b"%PDF-")
    admin.post("/logout")
    officer = login(stage.world.a.emails[Role.officer])
    assert officer.get(f"{A}/admin/agreement-clauses").status_code == 403


def test_batch_issuing_runs_as_a_job_over_every_approved_proposal(stage: Stage,
                                                                  login) -> None:
    call_id = stage.world.a.ids["agreements_call_id"]
    with stage.scene():
        approved_proposal(stage.world.a, title="Second approved proposal")
    with stage.scene():
        ids = [p.id for p in services.approved_proposals(call_id)]
    assert len(ids) == 3  # the world's, the stage's and the second one
    client = login(stage.world.a.emails[Role.admin])
    url = f"{A}/calls/{call_id}/agreements"
    page = client.get(url).get_data(as_text=True)
    assert "Issue 3 agreements" in page and "Second approved proposal" in page

    stale = client.post(url, data={"expected": ",".join(map(str, ids[:-1]))},
                        follow_redirects=True)
    assert "list of approved proposals changed" in stale.get_data(as_text=True)

    response = client.post(url, data={"expected": ",".join(map(str, ids))})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    with stage.scene():
        job = db.session.scalar(select(Job).where(Job.task == services.BATCH_TASK))
        assert job.status == JobStatus.done, job.error
        assert (job.done, job.total) == (3, 3)
        assert job.result["failed"] == [] and len(job.result["issued"]) == 3
        proposals = db.session.scalars(select(Proposal).where(Proposal.id.in_(ids))).all()
        assert {p.status for p in proposals} == {ProposalStatus.agreement_issued}
        issued = db.session.scalars(select(Agreement.proposal_id).join(Proposal).where(
            Agreement.status == AgreementStatus.issued, Proposal.call_id == call_id)).all()
        assert set(issued) == set(ids)
        job_id = job.id
    progress = client.get(f"{A}/jobs/{job_id}").get_json()
    assert progress["finished"] and progress["result"]["redirect"].endswith(f"job={job_id}")
    summary = client.get(progress["result"]["redirect"]).get_data(as_text=True)
    assert "3 agreements issued." in summary


def test_the_dashboards_point_each_party_to_its_work(stage: Stage, login) -> None:
    with stage.scene() as scene:
        label = db.session.get(Agreement, _issue(scene)).label
    signatory = login(stage.world.a.emails[Role.signatory])
    assert label in signatory.get(f"{A}/dashboard").get_data(as_text=True)
    signatory.post("/logout")
    admin_page = login(stage.world.a.emails[Role.admin]).get(
        f"{A}/dashboard").get_data(as_text=True)
    assert "1 issued, waiting for the parties" in admin_page


def test_on_s3_the_pdf_is_stored_in_the_bucket_and_handed_out_by_a_presigned_link(
        app, stage: Stage, login, s3_endpoint: str, s3_bucket: str,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch) -> None:
    storage = S3Storage(s3_bucket, "center", endpoint_url=s3_endpoint)
    monkeypatch.setitem(app.extensions, "center.storage", storage)
    with stage.scene() as scene:
        agreement = db.session.get(Agreement, _issue(scene))
        agreement_id, key, sha256 = agreement.id, agreement.pdf_key, agreement.sha256
    assert hashlib.sha256(storage.get(key)).hexdigest() == sha256
    response = login(stage.world.a.emails[Role.applicant]).get(
        f"{A}/agreements/{agreement_id}/pdf")
    assert response.status_code == 302
    link = response.headers["Location"]
    assert link.startswith(s3_endpoint) and "Signature" in link
    with urllib.request.urlopen(link, timeout=10) as download:
        assert hashlib.sha256(download.read()).hexdigest() == sha256
