"""From approved proposal to active project: generate, issue, acknowledge, countersign."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from center.agreements import services
from center.agreements.models import Agreement, AgreementStatus, Party
from center.auth import services as accounts
from center.core.audit import AuditEvent
from center.core.db import db
from center.core.notifications import OutboxMessage
from center.extensions import current_storage
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.tenants.models import Role
from tests.agreements.conftest import Scene
from tests.world import PASSWORD

ADMIN = frozenset({Role.admin})


def _generate(scene: Scene) -> Agreement:
    return services.generate_agreement(scene.proposal, by=scene.admin, tenant=scene.tenant)


def _issue(scene: Scene, agreement: Agreement) -> None:
    services.issue_agreement(agreement, by=scene.admin, roles=ADMIN, tenant=scene.tenant,
                             expected_version=scene.proposal.version)


def _acknowledge_for_donors(scene: Scene, agreement: Agreement) -> None:
    for index, donor_id in enumerate(scene.world.a.donor_ids):
        services.acknowledge(agreement, by=scene.reviewer_for(index), party=Party.donor,
                             donor_id=donor_id, typed_name=f"Reviewer {index + 1}",
                             sha256=agreement.sha256)


def test_generating_stores_a_draft_with_the_hash_of_its_pdf_and_one_letter_per_invitation(
        scene: Scene) -> None:
    agreement = _generate(scene)
    db.session.commit()
    data = current_storage().get(agreement.pdf_key)
    assert data.startswith(b"%PDF-")
    assert (agreement.status, agreement.number) == (AgreementStatus.draft, 1)
    assert agreement.sha256 == hashlib.sha256(data).hexdigest() and agreement.size == len(data)
    # Two trips: the PI's needs a letter, the Korean scientist's does not (tenant visa table).
    assert [letter.traveller_name for letter in agreement.letters] == ["Айгерим Нурлановна"]
    letter_bytes = current_storage().get(agreement.letters[0].pdf_key)
    assert agreement.letters[0].sha256 == hashlib.sha256(letter_bytes).hexdigest()
    assert agreement.clause_versions["confidentiality"] == 1  # the world edited it once
    assert agreement.clause_versions["budget"] == 0  # the default wording
    d1, d2 = scene.world.a.donor_ids
    assert {s["donor_id"]: s["amount"] for s in agreement.donor_shares} == {
        d1: 60_000_00, d2: 40_000_00}
    assert [t["percent"] for t in agreement.schedule] == [40, 40, 20]
    assert sum(t["amounts"][str(d1)] for t in agreement.schedule) == 60_000_00
    assert scene.proposal.status == ProposalStatus.approved  # a draft changes nothing yet
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "agreement.generated", AuditEvent.object_id == agreement.id)
    ).details["sha256"] == agreement.sha256


def test_regenerating_makes_v2_and_keeps_v1_listed(scene: Scene) -> None:
    first = _generate(scene)
    second = _generate(scene)
    assert (first.status, second.status) == (AgreementStatus.superseded, AgreementStatus.draft)
    assert [a.number for a in services.versions_of(scene.proposal)] == [2, 1]
    assert current_storage().exists(first.pdf_key) and first.pdf_key != second.pdf_key


def test_issuing_freezes_the_draft_and_moves_the_proposal(scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    db.session.commit()
    assert agreement.status == AgreementStatus.issued and agreement.issued_by_id == scene.admin.id
    assert scene.proposal.status == ProposalStatus.agreement_issued
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proposal.issue_agreement",
        AuditEvent.object_id == scene.proposal.id))
    assert (event.from_state, event.to_state) == ("approved", "agreement_issued")
    recipients = set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.subject.like(f"Agreement {agreement.reference}%"))))
    emails = scene.world.a.emails
    assert recipients == {emails["applicant"], emails["reviewer"], emails["signatory"]}
    asked = set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.subject.like(f"Agreement {agreement.reference}%"),
        OutboxMessage.subject.like("%acknowledgement"))))
    assert asked == {emails["reviewer"], emails["signatory"]}  # the applicant is only told
    with pytest.raises(services.AgreementError, match="only a draft"):
        _issue(scene, agreement)


def test_reissuing_supersedes_the_issued_version_and_its_acknowledgements(scene: Scene) -> None:
    v1 = _generate(scene)
    _issue(scene, v1)
    services.acknowledge(v1, by=scene.signatory, party=Party.lead_institute, donor_id=None,
                         typed_name="A. Nurlanovna", sha256=v1.sha256)
    v2 = _generate(scene)
    _issue(scene, v2)
    assert (v1.status, v2.status) == (AgreementStatus.superseded, AgreementStatus.issued)
    assert (Party.lead_institute, None) in v2.missing_parties
    assert scene.proposal.status == ProposalStatus.agreement_issued


def test_an_acknowledgement_must_carry_the_hash_of_the_issued_pdf(scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    with pytest.raises(services.FingerprintMismatch):
        services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                             donor_id=None, typed_name="A. Nurlanovna", sha256="0" * 64)
    ack = services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                               donor_id=None, typed_name="  Aigerim   Nurlanovna ",
                               sha256=agreement.sha256.upper())
    assert (ack.typed_name, ack.sha256, ack.user_id) == (
        "Aigerim Nurlanovna", agreement.sha256, scene.signatory.id)
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "agreement.acknowledged", AuditEvent.object_id == agreement.id))
    assert event.details["sha256"] == agreement.sha256
    assert event.details["typed_name"] == "Aigerim Nurlanovna"
    with pytest.raises(services.AgreementError, match="already acknowledged"):
        services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                             donor_id=None, typed_name="Again", sha256=agreement.sha256)


def test_a_pdf_changed_in_storage_cannot_be_acknowledged(scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    current_storage().put(agreement.pdf_key, b"%PDF-1.7 forged", "application/pdf")
    with pytest.raises(services.FingerprintMismatch, match="stored PDF"):
        services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                             donor_id=None, typed_name="A. Nurlanovna", sha256=agreement.sha256)


@pytest.mark.parametrize("role,party,donor_index", [
    (Role.admin, Party.lead_institute, None),  # no acknowledging on a party's behalf
    (Role.officer, Party.lead_institute, None),
    (Role.reviewer, Party.lead_institute, None),  # a donor's reviewer is not its signatory
    (Role.applicant, Party.lead_institute, None),  # nor is the principal investigator
    (Role.applicant, Party.donor, 0),
    (Role.signatory, Party.donor, 0),
    (Role.reviewer, Party.donor, 1),  # the world's reviewer acts for the first donor only
    (Role.admin, Party.donor, 0),
])
def test_only_the_partys_own_users_may_acknowledge(scene: Scene, role: str, party: Party,
                                                   donor_index: int | None) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    donor_id = None if donor_index is None else scene.world.a.donor_ids[donor_index]
    with pytest.raises(services.NotAParty):
        services.acknowledge(agreement, by=scene.user(role), party=party, donor_id=donor_id,
                             typed_name="Someone", sha256=agreement.sha256)


def test_a_donor_reviewer_who_is_not_its_delegate_may_not_acknowledge(scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    plain = scene.reviewer_for(1, delegate=False)
    with pytest.raises(services.NotAParty):
        services.acknowledge(agreement, by=plain, party=Party.donor,
                             donor_id=scene.world.a.donor_ids[1], typed_name="Plain Reviewer",
                             sha256=agreement.sha256)
    assert agreement.acknowledgements == []


def test_a_signatory_of_another_institute_may_not_acknowledge_for_the_lead(
        scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    partner = scene.world.a.institute_ids[1]
    other = accounts.create_user("signatory.partner@alpha.example", "Partner Signatory",
                                 PASSWORD)
    accounts.add_membership(other, scene.tenant, Role.signatory, by=scene.admin,
                            institute_id=partner)
    with pytest.raises(services.NotAParty):
        services.acknowledge(agreement, by=other, party=Party.lead_institute, donor_id=None,
                             typed_name="Partner Signatory", sha256=agreement.sha256)
    assert agreement.acknowledgement_for(Party.lead_institute) is None


def test_a_draft_cannot_be_acknowledged(scene: Scene) -> None:
    agreement = _generate(scene)
    with pytest.raises(services.NotAParty):
        services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                             donor_id=None, typed_name="A. Nurlanovna", sha256=agreement.sha256)


def test_countersigning_waits_for_every_party_then_activates_the_project(scene: Scene) -> None:
    agreement = _generate(scene)
    _issue(scene, agreement)
    services.acknowledge(agreement, by=scene.signatory, party=Party.lead_institute,
                         donor_id=None, typed_name="A. Nurlanovna", sha256=agreement.sha256)
    with pytest.raises(workflow.GuardFailed) as refused:
        services.countersign(agreement, by=scene.admin, roles=ADMIN, typed_name="Admin Person",
                             tenant=scene.tenant)
    assert len(refused.value.problems) == 2  # both donors are missing
    assert all("has not acknowledged" in p for p in refused.value.problems)
    assert scene.proposal.status == ProposalStatus.agreement_issued  # a refusal changes nothing

    _acknowledge_for_donors(scene, agreement)
    services.countersign(agreement, by=scene.admin, roles=ADMIN, typed_name="Admin Person",
                         tenant=scene.tenant, expected_version=scene.proposal.version)
    db.session.commit()
    assert scene.proposal.status == ProposalStatus.active
    assert agreement.countersigned_name == "Admin Person"
    assert agreement.countersigned_by_id == scene.admin.id
    assert db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.subject.like("%countersigned%"))) is not None


def test_the_generic_transition_buttons_cannot_skip_the_agreement(scene: Scene) -> None:
    with pytest.raises(workflow.GuardFailed, match="generate a draft"):
        workflow.fire(scene.proposal, "issue_agreement", by=scene.admin, roles=ADMIN)
    agreement = _generate(scene)
    _issue(scene, agreement)
    with pytest.raises(workflow.GuardFailed, match="Countersign on the agreement"):
        workflow.fire(scene.proposal, "activate", by=scene.admin, roles=ADMIN)


def test_an_agreement_needs_an_approved_proposal(scene: Scene) -> None:
    draft = db.session.get(Proposal, scene.world.a.ids["proposal_id"])
    with pytest.raises(services.AgreementError, match="approved proposal only"):
        services.generate_agreement(draft, by=scene.admin, tenant=scene.tenant)
