"""The applicant's path: write a proposal, be told what is wrong, submit once, withdraw."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.notifications import OutboxMessage
from center.proposals import services, workflow
from center.proposals.models import (
    BudgetLine,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
    ProposalVersion,
)
from center.tenants import services as tenants
from center.tenants.models import Institute, Role
from tests.world import PASSWORD, TINY_PNG, World

ABSTRACT = " ".join(["Tuberculosis surveillance across the region with genomic methods."] * 8)


def _complete(proposal: Proposal, applicant, world_side) -> None:  # noqa: ANN001
    """Fill every section of a world proposal so that it can be submitted."""
    services.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                             title="Genomic TB surveillance", abstract=ABSTRACT,
                             objectives="Map drug resistance.", keywords="tuberculosis, genomics",
                             duration_months=24)
    second = db.session.get(Institute, world_side.institute_ids[1])
    services.add_partner(proposal, second, lead=False, by=applicant)
    pi = services.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                                  role="principal_investigator",
                                  institute_id=world_side.institute_ids[0], citizenship="KZ")
    services.add_task(proposal, by=applicant, efforts={pi.id: 120}, title="Sequencing",
                      institute_id=world_side.institute_ids[0], start_month=1, end_month=12)
    d1, d2 = world_side.donor_ids
    services.add_budget_line(proposal, by=applicant, category="personnel",
                             description="Salaries", amount=100_000_00,
                             splits={d1: 60_000_00, d2: 40_000_00})
    services.update_sections(proposal, "ip", by=applicant, expected_revision=None,
                             foreground_ip="joint", publication_policy="Open access.")


@pytest.fixture()
def draft(in_tenant: World):
    from center.auth.models import User

    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, applicant, in_tenant.a)
    db.session.commit()
    return proposal, applicant


def test_a_complete_proposal_has_an_empty_checklist(draft) -> None:
    proposal, _applicant = draft
    assert services.checklist(proposal) == []


def test_submission_freezes_a_version_and_emails_a_confirmation(draft) -> None:
    proposal, applicant = draft
    workflow.fire(proposal, "submit", by=applicant, roles=frozenset({Role.applicant}),
                  expected_version=proposal.version, declaration="I declare.")
    db.session.commit()
    assert proposal.status == ProposalStatus.submitted and proposal.version_no == 1
    version = db.session.scalar(select(ProposalVersion))
    assert version.snapshot["budget"][0]["splits"] == {"D1": 60_000_00, "D2": 40_000_00}
    assert db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.subject.like("Proposal received%"))) is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.submit"))
    assert (event.from_state, event.to_state) == ("draft", "submitted")
    with pytest.raises(services.NotEditable):
        services.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                                 title="Changed after submission")


def test_submission_is_refused_after_the_call_closed(draft) -> None:
    proposal, applicant = draft
    with clock.frozen_at(proposal.call.closes_at + dt.timedelta(seconds=1)), \
            pytest.raises(workflow.GuardFailed, match="call closed"):
        workflow.fire(proposal, "submit", by=applicant, roles=frozenset({Role.applicant}),
                      declaration="I declare.")
    db.session.rollback()
    assert db.session.get(Proposal, proposal.id).status == ProposalStatus.draft


def test_an_institute_outside_the_eligible_countries_blocks_submission(draft) -> None:
    proposal, applicant = draft
    outsider = Institute(name="Institute far away", country_code="FR")
    db.session.add(outsider)
    db.session.flush()
    # The editor refuses it as a partner (tests/proposals/test_consortium.py); a partner
    # already there when the call's countries change is still reported.
    proposal.partners.append(ProposalInstitute(institute_id=outsider.id, institute=outsider))
    assert any("country this call does not fund" in p.message
               for p in services.checklist(proposal))


def test_budget_over_the_ceiling_and_overhead_cap_are_reported(draft) -> None:
    proposal, applicant = draft
    d1, d2 = proposal.call.donors[0].donor_id, proposal.call.donors[1].donor_id
    services.add_budget_line(proposal, by=applicant, category="overhead",
                             description="Overhead", amount=300_000_00,
                             splits={d1: 150_000_00, d2: 150_000_00})
    messages = [p.message for p in services.budget_problems(proposal)]
    assert any("above the call's ceiling" in m for m in messages)
    assert any("Overhead is above 15%" in m for m in messages)
    assert any("more than it offers" in m for m in messages)


def test_a_split_that_does_not_add_up_is_refused_and_stores_nothing(draft) -> None:
    proposal, applicant = draft
    d1 = proposal.call.donors[0].donor_id
    before = db.session.scalar(select(func.count()).select_from(BudgetLine))
    with pytest.raises(services.ProposalError, match="add up"):
        services.add_budget_line(proposal, by=applicant, category="equipment",
                                 description="Sequencer", amount=50_000_00,
                                 splits={d1: 40_000_00})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) == before


@pytest.mark.parametrize(("amount", "splits"), [
    (0, {}), (-5_000_00, {0: -5_000_00}), (10_000_00, {0: -1_000_00, 1: 11_000_00})])
def test_a_line_of_no_amount_or_a_negative_share_is_refused_by_the_service(
        draft, amount: int, splits: dict[int, int]) -> None:
    """Found by tests/security/test_workflow_stateful.py: the service left a zero amount to
    the CHECK constraint (an IntegrityError, a server error) and took a negative share."""
    proposal, applicant = draft
    donors = [d.donor_id for d in proposal.call.donors]
    splits = {donors[index]: share for index, share in splits.items()}
    line = proposal.budget_lines[0]
    before = (line.amount, [(s.donor_id, s.amount) for s in line.splits])
    with pytest.raises(services.FieldError) as refused:
        services.update_budget_line(proposal, line, by=applicant, expected_revision=None,
                                    category="personnel", description="Salaries",
                                    amount=amount, splits=splits)
    assert refused.value.field == "amount"
    with pytest.raises(services.FieldError):
        services.add_budget_line(proposal, by=applicant, category="equipment",
                                 description="Sequencer", amount=amount, splits=splits)
    db.session.rollback()
    line = db.session.get(BudgetLine, line.id)
    assert (line.amount, [(s.donor_id, s.amount) for s in line.splits]) == before
    assert len(proposal.budget_lines) == 1


def test_visa_needs_follow_the_tenant_table(draft) -> None:
    proposal, applicant = draft
    tenants.set_visa_rule("KZ", "KR", visa_required=False, invitation_required=True,
                          by=applicant)
    pi = proposal.team[0]
    base = {"origin_country": "KZ", "depart_on": dt.date(2027, 3, 1),
            "return_on": dt.date(2027, 3, 10), "purpose": "Workshop"}
    to_korea = services.add_trip(proposal, by=applicant, traveller=pi,
                                 destination_country="KR", **base)
    to_japan = services.add_trip(proposal, by=applicant, traveller=pi,
                                 destination_country="JP", **base)
    assert (to_korea.visa_needed, to_korea.invitation_needed) == (False, True)
    assert (to_japan.visa_needed, to_japan.invitation_needed) == (True, True)


def test_a_stale_section_save_is_refused(draft) -> None:
    proposal, applicant = draft
    loaded_at = services.section_revision(proposal, "overview")
    services.update_sections(proposal, "overview", by=applicant, expected_revision=loaded_at,
                             title="First tab")
    with pytest.raises(services.StaleEdit, match="after you opened it"):
        services.update_sections(proposal, "overview", by=applicant,
                                 expected_revision=loaded_at, title="Second tab")
    assert proposal.title == "First tab"


@pytest.mark.parametrize("data,message", [
    (b"MZ\x90\x00 this is really an executable", "whatever its name says"),
    (b"<html><script>alert(1)</script></html>", "whatever its name says"),
    (b"", "empty"),
])
def test_disguised_or_empty_files_are_refused(draft, data: bytes, message: str) -> None:
    proposal, applicant = draft
    with pytest.raises(services.UploadRejected, match=message):
        services.upload_attachment(proposal, by=applicant, kind="cv", filename="cv.pdf",
                                   data=data)


def test_an_oversized_file_is_refused(app, draft) -> None:
    proposal, applicant = draft
    too_big = TINY_PNG + b"\0" * app.config["UPLOAD_MAX_BYTES"]
    with pytest.raises(services.UploadRejected, match="the limit is"):
        services.upload_attachment(proposal, by=applicant, kind="cv", filename="big.png",
                                   data=too_big)


# --- through the web -----------------------------------------------------------------------

def _page(client, world: World, section: str) -> str:  # noqa: ANN001
    return client.get(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/{section}"
                      ).get_data(as_text=True)


def test_two_tabs_saving_the_overview_conflict_and_keep_the_typed_text(client, world, login
                                                                       ) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/overview"
    form = {"revision": "0", "title": "Saved by tab one", "duration_months": "24"}
    assert client.post(url, data=form).status_code == 302
    second = client.post(url, data={**form, "title": "Typed in tab two"})
    html = second.get_data(as_text=True)
    assert second.status_code == 200
    assert "after you opened it" in html and 'value="Typed in tab two"' in html
    assert "Saved by tab one" in _page(client, world, "overview")


def test_a_disguised_upload_is_explained_next_to_the_field(client, world, login) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/attachments"
    response = client.post(url, data={"kind": "cv", "file": (io.BytesIO(b"MZ fake"), "cv.pdf")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="file-error"' in html
    assert "whatever its name says" in html


def test_a_budget_split_error_is_shown_and_nothing_is_stored(app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    d1, d2 = world.a.donor_ids
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/budget"
    response = client.post(url, data={"institute_id": str(world.a.institute_ids[0]),
                                      "category": "equipment", "description": "Sequencer",
                                      "amount": "1000.00", f"split_{d1}": "600",
                                      f"split_{d2}": "300"})
    html = response.get_data(as_text=True)
    assert 'id="amount-error"' in html and "add up to" in html
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(BudgetLine).where(
            BudgetLine.proposal_id == world.a.ids["proposal_id"])) == 0


def test_a_budget_line_typed_in_russian_is_stored_exactly_and_audited_with_its_currency(
        app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    d1, d2 = world.a.donor_ids
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/budget"
    response = client.post(url, headers={"Accept-Language": "ru"}, data={
        "institute_id": str(world.a.institute_ids[0]), "category": "equipment",
        "description": "Sequencer", "amount": "1\u202f500,50",
        f"split_{d1}": "1 000,50", f"split_{d2}": "500"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        line = db.session.scalar(select(BudgetLine).where(
            BudgetLine.proposal_id == world.a.ids["proposal_id"]))
        assert line.amount == 150050
        assert sorted(s.amount for s in line.splits) == [50000, 100050]
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "proposal.budget_line_added",
            AuditEvent.object_id == world.a.ids["proposal_id"]))
        assert (event.details["amount"], event.details["currency"]) == (150050, "EUR")
    login(world.a.emails["officer"])
    trail = client.get(f"/{world.a.slug}/screening/proposals/{world.a.ids['proposal_id']}"
                       "/audit").get_data(as_text=True)
    assert "€1,500.50" in trail


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("amount", "Infinity", "Enter the amount in digits"),
    ("amount", "NaN", "Enter the amount in digits"),
    ("amount", "1e999", "Enter the amount in digits"),
    ("amount", "9" * 500, "Enter at most"),
    ("amount", "1.500", "could mean"),
    ("amount", "-1000", "zero or more"),
    ("amount", "0", "above zero"),
    ("amount", "", "Enter the line"),
    ("split_D1", "Infinity", "Enter the amount in digits"),
    ("split_D1", "-600", "zero or more"),
    ("split_D1", "99999999999999999", "Enter at most"),
])
def test_a_bad_budget_amount_is_explained_next_to_its_field_and_nothing_is_stored(
        app, client, world, login, field: str, typed: str, message: str) -> None:
    login(world.a.emails["applicant"])
    d1, d2 = world.a.donor_ids
    field = field.replace("D1", str(d1))
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/budget"
    data = {"category": "equipment", "description": "Sequencer", "amount": "1000.00",
            f"split_{d1}": "600", f"split_{d2}": "400", field: typed}
    response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    error = html[html.index(f'id="{field}-error"'):][:400]
    assert message in error
    assert f'value="{typed}"' in html
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(BudgetLine).where(
            BudgetLine.proposal_id == world.a.ids["proposal_id"])) == 0


def test_double_submission_makes_one_version(app, client, world, login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        from center.auth.models import User

        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        db.session.commit()
        version = proposal.version
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/do/submit"
    first = client.post(url, data={"version": str(version), "declaration": "y"},
                        follow_redirects=True)
    second = client.post(url, data={"version": str(version), "declaration": "y"},
                         follow_redirects=True)
    assert "now submitted" in first.get_data(as_text=True)
    assert "already done" in second.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(ProposalVersion).where(
            ProposalVersion.proposal_id == world.a.ids["proposal_id"])) == 1


def test_an_applicant_cannot_see_another_applicants_proposal(app, client, world, login) -> None:
    from center.auth import services as accounts
    from center.tenants.models import Tenant

    with app.app_context():
        tenant = db.session.get(Tenant, world.a.tenant_id)
        with tenant_scope(tenant.id):
            other = accounts.create_user("other@alpha.example", "Other", "correct horse battery")
            accounts.add_membership(other, tenant, Role.applicant, by=None)
            db.session.commit()
    login("other@alpha.example")
    response = client.get(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}")
    assert response.status_code == 404


@pytest.mark.parametrize("status,allowed", [
    (ProposalStatus.submitted, True),
    (ProposalStatus.under_review, True),
    (ProposalStatus.funding, True),
    (ProposalStatus.approved, False),
    (ProposalStatus.rejected, False),
])
def test_withdrawal_is_possible_only_before_a_decision(draft, status, allowed) -> None:
    from tests.support.states import put_in_state

    proposal, applicant = draft
    put_in_state(proposal, status, by=applicant)
    roles = frozenset({Role.applicant})
    if allowed:
        workflow.fire(proposal, "withdraw", by=applicant, roles=roles)
        assert proposal.status == ProposalStatus.withdrawn and proposal.withdrawn_at
    else:
        with pytest.raises(workflow.IllegalTransition):
            workflow.fire(proposal, "withdraw", by=applicant, roles=roles)
        assert proposal.status == status


def test_the_applicant_dashboard_lists_proposals_and_what_is_missing(client, world,
                                                                      login) -> None:
    login(world.a.emails["applicant"])
    html = client.get(f"/{world.a.slug}/dashboard").get_data(as_text=True)
    assert "Untitled proposal" in html and "items" in html


# ---- Changing a row of a list section ----------------------------------------------------


def test_changing_a_citizenship_reads_the_visa_needs_of_the_persons_trips_again(draft) -> None:
    proposal, applicant = draft
    tenants.set_visa_rule("KZ", "AM", visa_required=False, invitation_required=False,
                          by=applicant)
    pi = proposal.team[0]
    trip = services.add_trip(proposal, by=applicant, traveller=pi, origin_country="KZ",
                             destination_country="AM", depart_on=dt.date(2027, 3, 1),
                             return_on=dt.date(2027, 3, 10), purpose="Workshop")
    assert (trip.visa_needed, trip.invitation_needed) == (False, False)
    revision = services.section_revision(proposal, "team")

    changed = services.update_team_member(proposal, pi, by=applicant,
                                          expected_revision=revision, name=pi.name,
                                          email="pi@example.org", role=pi.role,
                                          institute_id=pi.institute_id, citizenship="RU")

    assert changed == ["citizenship", "email"]
    assert (trip.visa_needed, trip.invitation_needed) == (True, True)  # no RU->AM rule
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "proposal.team_member_changed")).one()
    assert event.details["fields"] == ["citizenship", "email"]


def test_a_budget_line_change_keeps_the_split_exact_and_refuses_a_stale_form(draft) -> None:
    proposal, applicant = draft
    line = proposal.budget_lines[0]
    d1, d2 = list(proposal.call.donors)[0].donor_id, list(proposal.call.donors)[1].donor_id
    opened = services.section_revision(proposal, "budget")
    with pytest.raises(services.ProposalError, match="add up"):
        services.update_budget_line(proposal, line, by=applicant, expected_revision=opened,
                                    category="personnel", description="Salaries",
                                    amount=90_000_00, splits={d1: 60_000_00, d2: 40_000_00})
    db.session.rollback()

    services.update_budget_line(proposal, line, by=applicant, expected_revision=opened,
                                category="personnel", description="Salaries, 24 months",
                                amount=90_000_00, splits={d1: 90_000_00, d2: 0})

    assert line.amount == 90_000_00 and line.description == "Salaries, 24 months"
    assert [(s.donor_id, s.amount) for s in line.splits] == [(d1, 90_000_00)]
    with pytest.raises(services.StaleEdit, match="after you opened it"):
        services.update_budget_line(proposal, line, by=applicant, expected_revision=opened,
                                    category="personnel", description="Other tab",
                                    amount=90_000_00, splits={d1: 90_000_00})


def test_a_row_opens_filled_in_and_saving_changes_it(app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    d1, d2 = world.a.donor_ids
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/budget"
    line = {"institute_id": str(world.a.institute_ids[0]), "category": "equipment",
            "description": "Sequencer", "amount": "1000.00",
            f"split_{d1}": "600", f"split_{d2}": "400"}
    assert client.post(url, data=line).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        line_id = db.session.scalar(select(BudgetLine.id).where(
            BudgetLine.proposal_id == world.a.ids["proposal_id"]))

    html = client.get(f"{url}?item={line_id}").get_data(as_text=True)
    assert "Change the line “Sequencer”" in html and 'value="1,000.00"' in html
    assert f'name="item_id" type="hidden" value="{line_id}"' in html
    assert 'value="600.00"' in html and "Save the changes" in html

    changed = {**line, "item_id": str(line_id), "revision": "1", "amount": "1200.00",
               f"split_{d1}": "800"}
    assert client.post(url, data=changed).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        lines = db.session.scalars(select(BudgetLine).where(
            BudgetLine.proposal_id == world.a.ids["proposal_id"])).all()
        assert [(ln.amount, sorted(s.amount for s in ln.splits)) for ln in lines] == [
            (1200_00, [400_00, 800_00])]

    # A second tab still holding revision 1 is refused, and keeps what it typed.
    stale = client.post(url, data={**changed, "description": "Typed in tab two"})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 200 and "after you opened it" in html
    assert 'value="Typed in tab two"' in html


def test_a_row_of_another_proposal_cannot_be_opened(app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/team"
    assert client.get(f"{url}?item=999999").status_code == 404
    assert client.get(f"{url}?item=abc").status_code == 404


def test_a_change_to_a_row_removed_meanwhile_keeps_the_input_and_saves_nothing(
        app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    url = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/team"
    member = {"name": "Typed Name", "role": "scientist",
              "institute_id": str(world.a.institute_ids[0]), "citizenship": "KZ"}
    response = client.post(url, data={**member, "item_id": "999999", "revision": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "was removed after you opened it" in html
    assert 'value="Typed Name"' in html and 'name="item_id" type="hidden" value=""' in html
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Proposal, world.a.ids["proposal_id"]).team == []
    assert client.post(url, data={**member, "item_id": ""}).status_code == 302  # added


def test_background_ip_is_added_and_changed_without_touching_the_ip_plan(app, client, world,
                                                                          login) -> None:
    login(world.a.emails["applicant"])
    base = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit"
    institute = str(world.a.institute_ids[0])  # the lead institute of the world's proposal
    assert client.post(f"{base}/ip", data={"revision": "0", "foreground_ip": "joint",
                                           "publication_policy": "Open access."}
                       ).status_code == 302
    row = {"action": "background", "bg-institute_id": institute,
           "bg-description": "Variant-calling pipeline", "bg-restrictions": ""}
    assert client.post(f"{base}/ip", data=row).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        assert proposal.publication_policy == "Open access."  # the plan form was not saved
        item_id = proposal.background_ip[0].id
        revision = services.section_revision(proposal, "ip")

    html = client.get(f"{base}/ip?item={item_id}").get_data(as_text=True)
    assert "Change the background IP of" in html and "Variant-calling pipeline" in html
    assert "Open access." in html

    changed = {**row, "bg-item_id": str(item_id), "bg-revision": str(revision),
               "bg-restrictions": "Research use only."}
    assert client.post(f"{base}/ip", data=changed).status_code == 302
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        assert [(b.description, b.restrictions) for b in proposal.background_ip] == [
            ("Variant-calling pipeline", "Research use only.")]
        assert proposal.publication_policy == "Open access."


def test_a_task_change_updates_the_working_days_of_each_person(draft) -> None:
    proposal, applicant = draft
    task, pi = proposal.tasks[0], proposal.team[0]
    second = services.add_team_member(proposal, by=applicant, name="Armen Petrosyan",
                                      role="scientist", institute_id=pi.institute_id,
                                      citizenship="AM")
    revision = services.section_revision(proposal, "workplan")

    changed = services.update_task(proposal, task, by=applicant, expected_revision=revision,
                                   efforts={pi.id: 0, second.id: 40}, title=task.title,
                                   description="", institute_id=task.institute_id,
                                   start_month=1, end_month=18)

    assert changed == ["end_month", "efforts"]
    assert services.effort_by_member(proposal) == {second.id: 40}


def test_a_row_typed_before_the_session_expired_comes_back_in_its_own_form(app, client, world
                                                                            ) -> None:
    path = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/ip"
    login = {"email": world.a.emails["applicant"], "password": PASSWORD}
    with clock.frozen_at(clock.now()):
        client.post("/login", data=login)
        clock.advance(dt.timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] + 1))
        response = client.post(path, data={
            "action": "background", "bg-institute_id": str(world.a.institute_ids[0]),
            "bg-description": "Typed before expiry", "bg-restrictions": "None"},
            headers={"Origin": app.config["PUBLIC_URL"]})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        client.post("/login", data=login)
        page = client.get(path).get_data(as_text=True)
    background = page[page.index('id="row-form"'):page.index("Foreground IP and publication")]
    assert "Typed before expiry" in background
