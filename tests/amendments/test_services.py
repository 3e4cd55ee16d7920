"""Change requests: every transition of the table and every refused one, optimistic locking,
audit rows, and the amendment an approval produces (the agreement left untouched)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
from pathlib import Path

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from center.agreements import services as agreements
from center.amendments import services
from center.amendments.models import Amendment, ChangeKind, ChangeRequest, ChangeStatus
from center.core.audit import AuditEvent
from center.core.db import db
from center.extensions import current_storage
from center.tenants.models import Role, Tenant
from tests.support.projects import active_project, delegate_for, user
from tests.world import World

S = ChangeStatus
STAFF = frozenset({Role.officer})
APPLICANT = frozenset({Role.applicant})
DONOR = frozenset({Role.reviewer})
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture()
def tenant(in_tenant: World) -> Tenant:
    return db.session.get(Tenant, in_tenant.a.tenant_id)


@pytest.fixture()
def project(in_tenant: World, tenant: Tenant):  # noqa: ANN201
    return active_project(in_tenant.a, tenant)


def _lines(project):  # noqa: ANN001, ANN202
    lead_salaries, partner_salaries, equipment = project.budget_lines
    return lead_salaries, partner_salaries, equipment


def _redirection(project, world: World, tenant: Tenant, amount: int) -> ChangeRequest:  # noqa: ANN001
    lead_salaries, _partner, equipment = _lines(project)
    return services.request_change(
        project, ChangeKind.redirection, by=user(world.a, Role.applicant), tenant=tenant,
        justification="The station costs more than quoted.",
        moves=[{"from_line_id": lead_salaries.id, "to_line_id": equipment.id,
                "amount": amount}])


def _fire(change: ChangeRequest, action: str, who, roles, tenant: Tenant,  # noqa: ANN001
          comment: str = "") -> None:
    services.fire(change, action, by=who, roles=roles, tenant=tenant,
                  expected_version=change.version, comment=comment)


def _states(change: ChangeRequest) -> list[tuple[str, str | None, str | None]]:
    return [(e.action, e.from_state, e.to_state) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "ChangeRequest",
                                 AuditEvent.object_id == change.id).order_by(AuditEvent.id))]


def test_a_redirection_within_the_center_s_limit_is_approved_by_the_officer_alone(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    agreement = agreements.current_issued(project)
    stored_before = current_storage().get(agreement.pdf_key)
    row_before = (agreement.sha256, agreement.size, agreement.version, agreement.status)
    change = _redirection(project, in_tenant, tenant, 10_000_00)  # 10 % of 100,000.00
    assert change.within_limit
    _fire(change, "approve", user(in_tenant.a, Role.officer), STAFF, tenant)
    db.session.commit()
    assert change.status == S.approved and change.decided_at is not None
    assert _states(change) == [("change.requested", None, "submitted"),
                               ("change.approve", "submitted", "approved")]
    amendment = change.amendment
    assert amendment.reference == f"{agreement.reference}-A1"
    data = current_storage().get(amendment.pdf_key)
    assert hashlib.sha256(data).hexdigest() == amendment.sha256
    # The original agreement is intact: its stored bytes, hash and row.
    assert current_storage().get(agreement.pdf_key) == stored_before
    assert hashlib.sha256(stored_before).hexdigest() == agreement.sha256
    db.session.refresh(agreement)
    assert (agreement.sha256, agreement.size, agreement.version, agreement.status) == row_before
    text = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert f"Amendment No. 1 to agreement {agreement.reference}" in text
    assert "€10,000.00" in text  # the amount moved
    assert "€90,000.00" in text and "€50,000.00" in text  # the two lines after the move
    assert agreement.sha256 in text.replace(" ", "")  # wrapped over two lines
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "amendment-redirection.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                    str(ARTIFACTS / "amendment-redirection.pdf"),
                    str(ARTIFACTS / "amendment-redirection")], check=True)
    assert services.current_line_amounts(project)[_lines(project)[0].id] == 90_000_00


def test_the_amendment_is_written_in_the_centers_legal_language(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    tenant.legal_language = "ru"
    agreement = agreements.current_issued(project)
    change = _redirection(project, in_tenant, tenant, 10_000_00)
    with force_locale("ko"):  # the officer reads the portal in Korean
        _fire(change, "approve", user(in_tenant.a, Role.officer), STAFF, tenant)
    db.session.commit()
    data = current_storage().get(change.amendment.pdf_key)
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(data)).pages)
    assert f"Изменение № 1 к соглашению {agreement.reference}" in text
    assert "Все остальные условия соглашения" in text and "Подтверждение" in text
    assert "Amendment No." not in text and "Acknowledgement" not in text and "변경" not in text
    assert "10000,00€" in text.replace(" ", "").replace("\xa0", "").replace("\u202f", "")


def test_a_redirection_beyond_the_limit_needs_every_funding_donor(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    officer = user(in_tenant.a, Role.officer)
    change = _redirection(project, in_tenant, tenant, 10_000_01)
    assert not change.within_limit
    with pytest.raises(services.ChangeError) as refused:
        _fire(change, "approve", officer, STAFF, tenant)
    assert "10 %" in str(refused.value)
    assert change.status == S.submitted
    _fire(change, "forward", officer, STAFF, tenant)
    assert change.status == S.donor_review
    first, second = (delegate_for(in_tenant.a, i, tenant) for i in (0, 1))
    _fire(change, "donor_approve", first, DONOR, tenant, comment="Fine by us.")
    assert change.status == S.donor_review  # the other donor has not answered
    with pytest.raises(services.ChangeError):  # the same donor cannot answer twice
        _fire(change, "donor_approve", first, DONOR, tenant)
    _fire(change, "donor_approve", second, DONOR, tenant)
    assert change.status == S.approved
    assert [d.approved for d in change.donor_decisions] == [True, True]
    assert change.amendment is not None
    assert _states(change)[-1] == ("change.donor_approve", "donor_review", "approved")


def test_one_donor_s_no_rejects_the_request_and_no_amendment_is_made(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    change = _redirection(project, in_tenant, tenant, 30_000_00)
    _fire(change, "forward", user(in_tenant.a, Role.officer), STAFF, tenant)
    second = delegate_for(in_tenant.a, 1, tenant)
    with pytest.raises(services.ChangeError):
        _fire(change, "donor_reject", second, DONOR, tenant)  # a reason is required
    _fire(change, "donor_reject", second, DONOR, tenant, comment="Not this year.")
    assert change.status == S.rejected and change.decision_comment == "Not this year."
    assert db.session.scalar(select(Amendment).where(Amendment.change_id == change.id)) is None


def test_the_officer_rejects_or_the_applicant_withdraws_a_submitted_request(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    officer, applicant = user(in_tenant.a, Role.officer), user(in_tenant.a, Role.applicant)
    rejected = _redirection(project, in_tenant, tenant, 1_000_00)
    _fire(rejected, "reject", officer, STAFF, tenant, comment="Use the reserve.")
    withdrawn = _redirection(project, in_tenant, tenant, 1_000_00)
    _fire(withdrawn, "withdraw", applicant, APPLICANT, tenant)
    forwarded = _redirection(project, in_tenant, tenant, 1_000_00)
    _fire(forwarded, "forward", officer, STAFF, tenant)
    _fire(forwarded, "reject", officer, STAFF, tenant, comment="Donors were asked by mail.")
    assert (rejected.status, withdrawn.status, forwarded.status) == (S.rejected, S.withdrawn,
                                                                      S.rejected)


#: Every (state, action) pair the table does not allow.
REFUSED = [(state, action) for state in S for action, t in services.TRANSITIONS.items()
           if state not in t.sources]


def _put(change: ChangeRequest, state: ChangeStatus) -> None:
    """Test set-up: write a state directly (the CHECK wants a decision time when closed)."""
    change.status = state
    change.decided_at = change.submitted_at if state in {S.approved, S.rejected,
                                                         S.withdrawn} else None
    db.session.flush()


@pytest.mark.parametrize(("state", "action"), REFUSED)
def test_an_action_the_table_does_not_allow_in_a_state_is_refused(
        in_tenant: World, tenant: Tenant, project, state: ChangeStatus, action: str) -> None:  # noqa: ANN001
    change = _redirection(project, in_tenant, tenant, 1_000_00)
    _put(change, state)
    version, events = change.version, len(_states(change))
    who = {"staff": user(in_tenant.a, Role.officer),
           "applicant": user(in_tenant.a, Role.applicant),
           "donor": delegate_for(in_tenant.a, 0, tenant)}[services.TRANSITIONS[action].actor]
    with pytest.raises(services.ChangeError):
        _fire(change, action, who, STAFF | APPLICANT | DONOR, tenant, comment="Why not.")
    assert (change.status, change.version, len(_states(change))) == (state, version, events)


@pytest.mark.parametrize(("action", "role"), [
    ("forward", Role.applicant), ("approve", Role.reviewer), ("reject", Role.applicant),
    ("withdraw", Role.officer),
])
def test_an_action_by_the_wrong_role_is_refused(in_tenant: World, tenant: Tenant, project,  # noqa: ANN001
                                                action: str, role: Role) -> None:
    change = _redirection(project, in_tenant, tenant, 1_000_00)
    with pytest.raises(services.ChangeError):
        _fire(change, action, user(in_tenant.a, role), frozenset({role}), tenant,
              comment="Because.")
    assert change.status == S.submitted


def test_a_delegate_of_a_donor_that_does_not_fund_the_project_cannot_answer(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    change = _redirection(project, in_tenant, tenant, 30_000_00)
    _fire(change, "forward", user(in_tenant.a, Role.officer), STAFF, tenant)
    with pytest.raises(services.ChangeError):
        _fire(change, "donor_approve", user(in_tenant.a, Role.officer), DONOR, tenant)
    assert change.donor_decisions == []


def test_a_stale_page_changes_nothing(in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    change = _redirection(project, in_tenant, tenant, 1_000_00)
    with pytest.raises(services.StaleChange):
        services.fire(change, "forward", by=user(in_tenant.a, Role.officer), roles=STAFF,
                      tenant=tenant, expected_version=change.version + 1)
    assert change.status == S.submitted


@pytest.mark.parametrize(("moves", "why"), [
    ([], "at least one move"),
    ([{"from": 0, "to": 0, "amount": 1}], "another one"),
    ([{"from": 0, "to": 2, "amount": 0}], "more than zero"),
    ([{"from": 1, "to": 2, "amount": 25_000_01}], "holds less"),
])
def test_impossible_moves_are_refused(in_tenant: World, tenant: Tenant, project,  # noqa: ANN001
                                      moves: list, why: str) -> None:
    lines = _lines(project)
    with pytest.raises(services.ChangeError) as refused:
        services.request_change(
            project, ChangeKind.redirection, by=user(in_tenant.a, Role.applicant),
            tenant=tenant, justification="Because.",
            moves=[{"from_line_id": lines[m["from"]].id, "to_line_id": lines[m["to"]].id,
                    "amount": m["amount"]} for m in moves])
    assert why in str(refused.value)
    assert db.session.scalar(select(ChangeRequest).where(
        ChangeRequest.proposal_id == project.id)) is None


def test_an_approved_extension_moves_the_end_date_in_its_amendment(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    agreement = agreements.current_issued(project)
    end = services.end_on(project, agreement, tenant)
    assert end == dt.date(2029, 1, 14)  # 24 months from 15 January 2027
    with pytest.raises(services.ChangeError):
        services.request_change(project, ChangeKind.extension,
                                by=user(in_tenant.a, Role.applicant), tenant=tenant,
                                justification="Late delivery.", new_end_on=end)
    change = services.request_change(project, ChangeKind.extension,
                                     by=user(in_tenant.a, Role.applicant), tenant=tenant,
                                     justification="The station was delivered late.",
                                     new_end_on=dt.date(2029, 7, 31))
    assert not change.within_limit  # an extension always goes to the donors
    _fire(change, "forward", user(in_tenant.a, Role.officer), STAFF, tenant)
    for index in (0, 1):
        _fire(change, "donor_approve", delegate_for(in_tenant.a, index, tenant), DONOR, tenant)
    assert services.end_on(project, agreement, tenant) == dt.date(2029, 7, 31)
    text = " ".join(PdfReader(io.BytesIO(current_storage().get(change.amendment.pdf_key)))
                    .pages[0].extract_text().split())
    assert "from 14 January 2029 to 31 July 2029" in text


def test_amendments_are_acknowledged_by_the_agreement_s_parties(
        in_tenant: World, tenant: Tenant, project) -> None:  # noqa: ANN001
    change = _redirection(project, in_tenant, tenant, 1_000_00)
    _fire(change, "approve", user(in_tenant.a, Role.officer), STAFF, tenant)
    amendment = change.amendment
    with pytest.raises(services.ChangeError):  # the applicant is no party
        services.acknowledge_amendment(amendment, by=user(in_tenant.a, Role.applicant),
                                       party="lead_institute", donor_id=None,
                                       typed_name="Applicant", sha256=amendment.sha256)
    signatory = user(in_tenant.a, Role.signatory)
    with pytest.raises(services.ChangeError):  # another document's fingerprint
        services.acknowledge_amendment(amendment, by=signatory, party="lead_institute",
                                       donor_id=None, typed_name="Lead Signatory",
                                       sha256="0" * 64)
    services.acknowledge_amendment(amendment, by=signatory, party="lead_institute",
                                   donor_id=None, typed_name="Lead Signatory",
                                   sha256=amendment.sha256)
    for index, donor_id in enumerate(in_tenant.a.donor_ids):
        services.acknowledge_amendment(amendment, by=delegate_for(in_tenant.a, index, tenant),
                                       party="donor", donor_id=donor_id,
                                       typed_name=f"Delegate {index + 1}",
                                       sha256=amendment.sha256)
    assert amendment.missing_parties == []
    with pytest.raises(services.ChangeError):  # once per party
        services.acknowledge_amendment(amendment, by=signatory, party="lead_institute",
                                       donor_id=None, typed_name="Lead Signatory",
                                       sha256=amendment.sha256)


def test_extra_days_granted_by_an_approved_change_lift_the_task_cap(
        in_tenant: World, tenant: Tenant) -> None:
    from center.effort import services as effort

    project = active_project(in_tenant.a, tenant, pi_days=20)
    pi, task = project.principal_investigator, project.tasks[0]
    applicant = user(in_tenant.a, Role.applicant)
    effort.enter_card(project, member=pi, task=task, month=dt.date(2027, 3, 1), days=20,
                      by=applicant, tenant=tenant)
    with pytest.raises(effort.EffortError):
        effort.enter_card(project, member=pi, task=task, month=dt.date(2027, 4, 1), days=5,
                          by=applicant, tenant=tenant)
    change = services.request_change(
        project, ChangeKind.team_change, by=applicant, tenant=tenant,
        justification="The PI takes over the partner's measurements.",
        extra_days=[{"member_id": pi.id, "task_id": task.id, "days": 5}])
    _fire(change, "forward", user(in_tenant.a, Role.officer), STAFF, tenant)
    for index in (0, 1):
        _fire(change, "donor_approve", delegate_for(in_tenant.a, index, tenant), DONOR, tenant)
    card = effort.enter_card(project, member=pi, task=task, month=dt.date(2027, 4, 1), days=5,
                             by=applicant, tenant=tenant)
    assert card.days == 5
