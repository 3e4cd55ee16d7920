"""Every figure an agreement states comes from the donors' commitments.

A five-donor proposal where one donor commits more than asked and two commit nothing: the
officer confirms a re-split of the budget lines, and the PDF (read back with pypdf), the
"funded" e-mail, the agreement page and the proposal page all state the commitments. Who
acknowledges: the lead institute's signatory and the funding donors' delegates without a
conflict of interest; a donor that committed nothing is not a party.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from center.agreements import services
from center.agreements.models import Agreement, Party
from center.auth import services as accounts
from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.extensions import current_storage
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funded_split, funding
from center.reviews.models import Assignment, AssignmentStatus, FundedSplit
from center.tenants.models import Donor, Role, Tenant
from tests.agreements.commitments_world import ASKED, COMMITTED, TITLE, five_donor_proposal
from tests.support.browser import ARTIFACTS
from tests.world import PASSWORD, World

A = "/alpha"


@dataclass
class Five:
    app: Flask
    world: World
    proposal_id: int
    donor_ids: list[int]

    @contextmanager
    def ctx(self) -> Iterator[Proposal]:
        with self.app.app_context(), tenant_scope(self.world.a.tenant_id):
            yield db.session.get(Proposal, self.proposal_id)
            db.session.commit()
            db.session.remove()

    def user(self, role: str) -> User:
        return db.session.get(User, self.world.a.user_ids[role])

    @property
    def tenant(self) -> Tenant:
        return db.session.get(Tenant, self.world.a.tenant_id)

    @property
    def url(self) -> str:
        return f"{A}/proposals/{self.proposal_id}/funded-split"


@pytest.fixture()
def five(app: Flask, world: World) -> Five:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal, donor_ids = five_donor_proposal(world.a)
        db.session.commit()
        built = Five(app, world, proposal.id, donor_ids)
        db.session.remove()
    return built


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _form(five: Five, split: dict[int, dict[int, int]], version: int) -> dict[str, str]:
    data = {"version": str(version)}
    for line_id, shares in split.items():
        for donor_id in five.donor_ids[:3]:
            amount = shares.get(donor_id, 0)
            data[f"share_{line_id}_{donor_id}"] = f"{amount // 100}.{amount % 100:02d}"
    return data


def _lines(proposal: Proposal) -> list[int]:
    return [line.id for line in sorted(proposal.budget_lines, key=lambda line: line.id)]


# --- the proposed re-split ----------------------------------------------------------------

def test_the_proposed_resplit_is_exact_to_the_minor_unit_on_every_line_and_donor(
        five: Five) -> None:
    with five.ctx() as proposal:
        assert proposal.status == ProposalStatus.approved
        split = funded_split.proposed_split(proposal)
        amounts = {line.id: line.amount for line in proposal.budget_lines}
        for line_id, shares in split.items():
            assert sum(shares.values()) == amounts[line_id]
        d1, d2, d3, d4, d5 = five.donor_ids
        totals = {d: sum(s.get(d, 0) for s in split.values()) for d in five.donor_ids}
        assert totals == {d1: 110_000_01, d2: 40_000_00, d3: 30_000_00, d4: 0, d5: 0}
        assert all(d4 not in s and d5 not in s for s in split.values())
        # D2 and D3 funded what they asked: their shares of each line stay as asked.
        personnel, equipment, travel = _lines(proposal)
        assert (split[personnel][d2], split[equipment][d2], split[travel][d2]) == (
            20_000_00, 10_000_00, 10_000_00)
        assert split[travel].get(d3, 0) == 0 and split[personnel][d3] == 20_000_00
        assert split[travel][d1] == 10_000_01 + 10_000_00  # D1 takes over D4's and D5's part


def test_the_proposed_resplit_handles_a_donor_that_asked_nothing_and_odd_cents(
        five: Five) -> None:
    with five.ctx() as proposal:
        d1, d2, *_rest = five.donor_ids
        # Pretend D2 had been asked nothing: it then starts in proportion to the lines.
        for line in proposal.budget_lines:
            for share in line.splits:
                if share.donor_id == d2:
                    share.amount = 0
        split = funded_split.proposed_split(proposal)
        for line in proposal.budget_lines:
            assert sum(split[line.id].values()) == line.amount
        assert sum(s.get(d2, 0) for s in split.values()) == 40_000_00
        assert all(a > 0 for s in split.values() for a in s.values())
        db.session.rollback()


# --- before the confirmation --------------------------------------------------------------

def test_differing_commitments_hold_the_agreement_until_the_split_is_confirmed(
        five: Five) -> None:
    with five.ctx() as proposal:
        assert funded_split.needs_confirmation(proposal)
        assert db.session.scalars(select(FundedSplit).where(
            FundedSplit.proposal_id == proposal.id)).all() == []
        with pytest.raises(services.AgreementError, match="Confirm how the budget lines"):
            services.generate_agreement(proposal, by=five.user(Role.admin), tenant=five.tenant)


def test_the_funded_email_states_the_commitments_and_no_donor_that_committed_nothing(
        five: Five) -> None:
    with five.ctx():
        mail = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.subject == f"Funded: {TITLE}"))
        body = mail.body
        assert "Donor One of alpha: €110,000.01" in body
        assert "Donor Two of alpha: €40,000.00" in body
        assert "Japan Science Fund: €30,000.00" in body
        assert "Korea Research Agency" not in body and "Nordic Climate Trust" not in body
        assert "€60,000.00" not in body  # what D1 was asked is not what it funds
        assert "Total: €180,000.01" in body
        assert "the center will confirm how" in body


def test_commitments_equal_to_the_asked_split_keep_it_without_an_officer(
        in_tenant: World) -> None:
    proposal = db.session.get(Proposal, in_tenant.a.ids["approved_proposal_id"])
    assert funded_split.confirmed_split(proposal) == funded_split.asked_split(proposal)
    row = funding.funding_row(proposal)
    assert row.split_confirmed_at is not None and row.split_confirmed_by_id is None
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "funding.split_kept", AuditEvent.object_id == proposal.id))


# --- the confirmation page ----------------------------------------------------------------

def test_five_donors_two_commit_nothing_one_more_every_figure_comes_from_the_commitments(
        five: Five, login) -> None:
    client = login(five.world.a.emails[Role.officer])
    page = client.get(five.url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Not a party: committed nothing" in html and "Funds more than it was asked" in html
    assert "+€50,000.01" in html  # D1: 110,000.01 committed against 60,000 asked
    assert "asked €40,000.00" in html  # D1's asked share of the salaries, beside its input
    with five.ctx() as proposal:
        personnel, equipment, travel = _lines(proposal)
        d1, d2, d3, *_rest = five.donor_ids
        split = funded_split.proposed_split(proposal)
        version = funding.funding_row(proposal).version
    # The officer moves 1,000.00 of D2's money from equipment to salaries, and D1's back.
    split[personnel][d2] += 1_000_00
    split[personnel][d1] -= 1_000_00
    split[equipment][d2] -= 1_000_00
    split[equipment][d1] += 1_000_00
    done = client.post(five.url, data=_form(five, split, version))
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/proposals/{five.proposal_id}")
    with five.ctx() as proposal:
        assert funded_split.confirmed_split(proposal) == split
        row = funding.funding_row(proposal)
        assert row.split_confirmed_by_id == five.world.a.user_ids[Role.officer]
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "funding.split_confirmed",
            AuditEvent.object_id == proposal.id))
        assert event.details["committed"] == {str(d): a for d, a in zip(
            five.donor_ids, COMMITTED, strict=True) if a}
        assert event.details["asked"] == {str(d): a for d, a in zip(
            five.donor_ids, ASKED, strict=True)}
        agreement = services.generate_agreement(proposal, by=five.user(Role.admin),
                                                tenant=five.tenant)
        data = current_storage().get(agreement.pdf_key)
        assert {s["donor_id"]: s["amount"] for s in agreement.donor_shares} == {
            d1: 110_000_01, d2: 40_000_00, d3: 30_000_00}
        assert agreement.total == 180_000_01
        for donor_id in five.donor_ids[:3]:
            assert sum(t["amounts"][str(donor_id)] for t in agreement.schedule) == dict(
                zip(five.donor_ids, COMMITTED, strict=True))[donor_id]
        assert sorted(d for _p, d in agreement.missing_parties if d) == sorted([d1, d2, d3])
        agreement_id = agreement.id
    text = _text(data)
    assert "Korea Research Agency" not in text and "Nordic Climate Trust" not in text
    assert "KRA" not in text and "NCT" not in text
    # Table: budget by category and donor; the totals row states each commitment.
    assert re.search(r"Total €110,000\.01 €40,000\.00 €30,000\.00 €180,000\.01", text)
    # Annex A: the confirmed line shares (salaries: D1 39,000 + D2 21,000 + D3 20,000 ...).
    assert f"€{split[personnel][d1] / 100:,.2f}" in text
    assert f"Salaries €{split[personnel][d1] / 100:,.2f} €21,000.00 €20,000.00" in text
    _budget_page_png(data)

    show = client.get(f"{A}/agreements/{agreement_id}").get_data(as_text=True)
    assert "€110,000.01" in show and "Korea Research Agency" not in show
    client.post("/logout")
    applicant = login(five.world.a.emails[Role.applicant])
    proposal_page = applicant.get(f"{A}/proposals/{five.proposal_id}").get_data(as_text=True)
    assert "Funded by the donors’ commitments" in proposal_page
    committed_cells = re.findall(r'<td class="num">(€[\d,.]+)</td>', proposal_page)
    assert "€110,000.01" in committed_cells and "€180,000.01" in committed_cells


def _budget_page_png(data: bytes) -> None:
    """Render the page with the budget tables to test-artifacts/ for a person to look at."""
    reader = PdfReader(io.BytesIO(data))
    number = next(i for i, page in enumerate(reader.pages, start=1)
                  if "Budget by category and donor" in page.extract_text())
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "commitments-agreement.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(number), "-l", str(number),
                    "-singlefile", str(path), str(ARTIFACTS / "commitments-budget-page")],
                   check=True, timeout=60)


def test_a_split_that_does_not_add_up_is_refused_and_keeps_the_typed_figures(
        five: Five, login) -> None:
    with five.ctx() as proposal:
        split = funded_split.proposed_split(proposal)
        version = funding.funding_row(proposal).version
        personnel = _lines(proposal)[0]
    d1 = five.donor_ids[0]
    split[personnel][d1] += 5_00
    client = login(five.world.a.emails[Role.officer])
    response = client.post(five.url, data=_form(five, split, version))
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "“Salaries” adds up to" in html and "Donor One of alpha's shares add up to" in html
    typed = split[personnel][d1]
    assert f'value="{typed // 100}.{typed % 100:02d}"' in html
    garbled = client.post(five.url, data={**_form(five, split, version),
                                          f"share_{personnel}_{d1}": "lots"})
    assert garbled.status_code == 422 and "Enter the amount in digits" in garbled.get_data(
        as_text=True)
    with five.ctx() as proposal:
        assert funded_split.confirmed_split(proposal) is None
        assert funded_split.stored_split(proposal) == {}


def test_a_split_confirmed_from_a_stale_page_is_refused_with_409(five: Five, login) -> None:
    with five.ctx() as proposal:
        split = funded_split.proposed_split(proposal)
        version = funding.funding_row(proposal).version
        funded_split.confirm_split(proposal, split, by=five.user(Role.admin),
                                   tenant=five.tenant, expected_version=version)
    client = login(five.world.a.emails[Role.officer])
    personnel, equipment, _travel = sorted(split)
    d1, d2 = five.donor_ids[:2]
    changed = {k: dict(v) for k, v in split.items()}
    changed[personnel][d1] += 1
    changed[personnel][d2] -= 1
    changed[equipment][d1] -= 1
    changed[equipment][d2] += 1
    response = client.post(five.url, data=_form(five, changed, version))
    assert response.status_code == 409
    assert "Your figures are still in the form" in response.get_data(as_text=True)
    forged = client.post(five.url, data={**_form(five, changed, version), "version": "x9"})
    assert forged.status_code == 409
    with five.ctx() as proposal:
        assert funded_split.confirmed_split(proposal) == split
        assert funding.funding_row(proposal).split_confirmed_by_id == (
            five.world.a.user_ids[Role.admin])


@pytest.mark.parametrize("role,status", [
    (Role.officer, 200), (Role.admin, 200), (Role.applicant, 403), (Role.reviewer, 403),
    (Role.signatory, 403),
])
def test_only_staff_see_and_confirm_the_funded_split(five: Five, login, role: str,
                                                      status: int) -> None:
    client = login(five.world.a.emails[role])
    assert client.get(five.url).status_code == status
    if status == 403:
        with five.ctx() as proposal:
            split = funded_split.proposed_split(proposal)
            version = funding.funding_row(proposal).version
        assert client.post(five.url, data=_form(five, split, version)).status_code == 403
        with five.ctx() as proposal:
            assert funded_split.confirmed_split(proposal) is None


def test_a_proposal_not_funded_through_commitments_has_no_split_page(five: Five,
                                                                     login) -> None:
    draft = five.world.a.ids["proposal_id"]
    client = login(five.world.a.emails[Role.officer])
    assert client.get(f"{A}/proposals/{draft}/funded-split").status_code == 404


# --- acknowledging ------------------------------------------------------------------------

def _issued(five: Five) -> int:
    """Confirm the proposed split, generate and issue the agreement; return its id."""
    with five.ctx() as proposal:
        funded_split.confirm_split(proposal, funded_split.proposed_split(proposal),
                                   by=five.user(Role.officer), tenant=five.tenant,
                                   expected_version=funding.funding_row(proposal).version)
        admin = five.user(Role.admin)
        agreement = services.generate_agreement(proposal, by=admin, tenant=five.tenant)
        services.issue_agreement(agreement, by=admin, roles=frozenset({Role.admin}),
                                 tenant=five.tenant)
        return agreement.id


def _delegate(five: Five, index: int, email: str) -> User:
    donor = db.session.get(Donor, five.donor_ids[index])
    user = accounts.create_user(email, f"Delegate of {donor.short_name}", PASSWORD)
    accounts.add_membership(user, five.tenant, Role.reviewer, by=five.user(Role.admin),
                            donor_id=donor.id)
    db.session.flush()
    funding.add_delegate(donor, user, by=five.user(Role.admin))
    return user


def test_a_donor_that_committed_nothing_is_not_asked_to_acknowledge(five: Five) -> None:
    agreement_id = _issued(five)
    with five.ctx():
        agreement = db.session.get(Agreement, agreement_id)
        d4, d5 = five.donor_ids[3:]
        assert {d for _p, d in agreement.missing_parties} == {None, *five.donor_ids[:3]}
        kra = _delegate(five, 3, "delegate.kra@alpha.example")
        with pytest.raises(services.NotAParty):
            services.acknowledge(agreement, by=kra, party=Party.donor, donor_id=d4,
                                 typed_name="K. R. A.", sha256=agreement.sha256)
        asked = set(db.session.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.subject.like(f"Agreement {agreement.reference}%acknowledgement"))))
        assert asked == {five.world.a.emails[Role.signatory], five.world.a.emails[Role.reviewer]}


def test_a_delegate_with_a_declared_conflict_cannot_acknowledge_for_the_donor(
        five: Five, login) -> None:
    agreement_id = _issued(five)
    with five.ctx() as proposal:
        d2 = five.donor_ids[1]
        delegate = _delegate(five, 1, "delegate.d2@alpha.example")
        db.session.add(Assignment(proposal_id=proposal.id, reviewer_id=delegate.id,
                                  donor_id=d2, status=AssignmentStatus.conflict,
                                  assigned_at=proposal.submitted_at,
                                  declared_at=proposal.submitted_at,
                                  conflict_reason="Co-author of the PI."))
        db.session.flush()
        agreement = db.session.get(Agreement, agreement_id)
        outstanding = {o.donor_id: o.people for o in services.outstanding(agreement)}
        assert delegate not in outstanding[d2] and outstanding[d2] == []
        sha256 = agreement.sha256
    client = login("delegate.d2@alpha.example")
    assert client.get(f"{A}/agreements/{agreement_id}").status_code == 404
    response = client.post(f"{A}/agreements/{agreement_id}/acknowledge", data={
        "party_value": f"donor:{d2}", f"donor:{d2}-sha256": sha256,
        f"donor:{d2}-typed_name": "Conflicted", f"donor:{d2}-confirm": "y"})
    assert response.status_code in (403, 404)
    with five.ctx():
        assert db.session.get(Agreement, agreement_id).acknowledgements == []
    client.post("/logout")
    staff = login(five.world.a.emails[Role.admin]).get(
        f"{A}/agreements/{agreement_id}").get_data(as_text=True)
    assert "name a delegate without a conflict of interest" in staff


def test_the_agreement_page_says_who_still_has_to_acknowledge(five: Five, login) -> None:
    agreement_id = _issued(five)
    page = " ".join(login(five.world.a.emails[Role.admin]).get(
        f"{A}/agreements/{agreement_id}").get_data(as_text=True).split())
    assert "Still to acknowledge" in page
    assert ("Institute of Physics alpha, through an authorised signatory of the institute: "
            "Signatory of alpha") in page
    assert "Donor One of alpha, through one of its delegates: Reviewer of alpha" in page
    assert "Korea Research Agency" not in page
    with five.ctx():
        agreement = db.session.get(Agreement, agreement_id)
        services.acknowledge(agreement, by=five.user(Role.signatory),
                             party=Party.lead_institute, donor_id=None,
                             typed_name="Signatory of alpha", sha256=agreement.sha256)
        assert (Party.lead_institute, None) not in agreement.missing_parties
