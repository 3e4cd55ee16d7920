"""The consortium, team, work plan and budget refuse what cannot be true: one lead and one
PI (changed explicitly), foreign collaborators without money, working days within a
task's months, the call's own limits, real ISO countries, and a two-form page that keeps
what was typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.countries import ISO_CODES, country_choices
from center.core.db import db, tenant_scope
from center.proposals import services
from center.proposals.models import (
    BudgetLine,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
    TeamMember,
)
from center.screening import services as screening
from center.tenants import services as tenants
from center.tenants.models import Institute, Role
from tests.proposals.test_proposals import _complete
from tests.support.states import put_in_state
from tests.world import World


def _url(world: World, section: str) -> str:
    return f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/edit/{section}"


def _in_a(app, world: World):  # noqa: ANN001, ANN202
    return _Ctx(app, world)


class _Ctx:
    """An application context of tenant A with the world's proposal and applicant."""

    def __init__(self, app, world: World) -> None:  # noqa: ANN001
        self.app, self.world = app, world

    def __enter__(self) -> tuple[Proposal, User]:
        self._app = self.app.app_context()
        self._app.push()
        self._scope = tenant_scope(self.world.a.tenant_id)
        self._scope.__enter__()
        return (db.session.get(Proposal, self.world.a.ids["proposal_id"]),
                db.session.get(User, self.world.a.user_ids[Role.applicant]))

    def __exit__(self, *exc: object) -> None:
        db.session.remove()
        self._scope.__exit__(*exc)
        self._app.pop()


def _foreign_institute(by: User) -> Institute:
    institute = tenants.add_institute(by=by, name="Argonne National Laboratory",
                                      country_code="US", city="Lemont")
    db.session.flush()
    return institute


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


# --- one lead, one principal investigator --------------------------------------------------

def test_a_second_lead_is_refused_next_to_the_role_and_nothing_changes(app, client, world,
                                                                       login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "consortium"), data={
        "institute_id": str(world.a.institute_ids[1]), "role": "lead"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "is the lead institute" in _error_of(html, "role")
    assert re.search(rf'<option selected value="{world.a.institute_ids[1]}"', html)
    with _in_a(app, world) as (proposal, _applicant):
        assert [(p.institute_id, p.is_lead) for p in proposal.partners] == [
            (world.a.institute_ids[0], True)]


def test_make_lead_says_whom_it_replaces_and_swaps_on_confirmation(app, client, world,
                                                                   login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        botany = db.session.get(Institute, world.a.institute_ids[1])
        partner_id = services.add_partner(proposal, botany, by=applicant).id
        db.session.commit()
    login(world.a.emails["applicant"])
    url = f"{_url(world, 'consortium')}/{partner_id}/lead"
    page = client.get(url).get_data(as_text=True)
    assert "Make Institute of Botany alpha the lead institute?" in page
    assert "Institute of Physics alpha stops being the lead" in page
    revision = re.search(r'name="revision" type="hidden" value="(\d+)"', page).group(1)
    assert client.post(url, data={"revision": revision}).status_code == 302
    with _in_a(app, world) as (proposal, _applicant):
        assert {p.institute_id: p.is_lead for p in proposal.partners} == {
            world.a.institute_ids[0]: False, world.a.institute_ids[1]: True}
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "proposal.lead_changed"))
        assert event.details["previous"] == "Institute of Physics alpha"
    # The page of the old revision is stale now: confirming it again changes nothing.
    assert client.post(url, data={"revision": revision}).status_code == 302
    with _in_a(app, world) as (proposal, _applicant):
        assert proposal.lead.institute_id == world.a.institute_ids[1]


def test_a_second_pi_is_refused_next_to_the_role_with_the_typed_name_kept(app, client, world,
                                                                          login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        services.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                                 role="principal_investigator",
                                 institute_id=world.a.institute_ids[0], citizenship="KZ")
        db.session.commit()
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "team"), data={
        "name": "Ли Мин-хо", "role": "principal_investigator",
        "institute_id": str(world.a.institute_ids[0]), "citizenship": "KR"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Aigerim Nurlanovna is the principal investigator" in _error_of(html, "role")
    assert 'value="Ли Мин-хо"' in html
    with _in_a(app, world) as (proposal, _applicant):
        assert len(proposal.team) == 1


def test_make_pi_demotes_the_previous_one_to_scientist_explicitly(app, client, world,
                                                                  login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        services.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                                 role="principal_investigator",
                                 institute_id=world.a.institute_ids[0], citizenship="KZ")
        new = services.add_team_member(proposal, by=applicant, name="Daulet Serikov",
                                       role="scientist",
                                       institute_id=world.a.institute_ids[0],
                                       citizenship="KZ")
        db.session.commit()
        new_id = new.id
    login(world.a.emails["applicant"])
    url = f"{_url(world, 'team')}/{new_id}/pi"
    page = client.get(url).get_data(as_text=True)
    assert "Aigerim Nurlanovna stops being the principal investigator" in page
    revision = re.search(r'name="revision" type="hidden" value="(\d+)"', page).group(1)
    assert client.post(url, data={"revision": revision}).status_code == 302
    with _in_a(app, world) as (proposal, _applicant):
        assert {m.name: m.role for m in proposal.team} == {
            "Aigerim Nurlanovna": "scientist", "Daulet Serikov": "principal_investigator"}


def test_the_database_allows_one_lead_and_one_pi_per_proposal(in_tenant: World) -> None:
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    db.session.add(ProposalInstitute(proposal_id=proposal.id, is_lead=True,
                                     institute_id=in_tenant.a.institute_ids[1]))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    for name in ("One", "Two"):
        db.session.add(TeamMember(proposal_id=proposal.id, name=name,
                                  role="principal_investigator", citizenship="KZ",
                                  institute_id=in_tenant.a.institute_ids[0]))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Two partners and two scientists are fine.
    db.session.add(ProposalInstitute(proposal_id=proposal.id, is_lead=False,
                                     institute_id=in_tenant.a.institute_ids[1]))
    for name in ("One", "Two"):
        db.session.add(TeamMember(proposal_id=proposal.id, name=name, role="scientist",
                                  citizenship="KZ", institute_id=in_tenant.a.institute_ids[0]))
    db.session.flush()


# --- foreign collaborators ----------------------------------------------------------------

def test_an_institute_outside_the_eligible_countries_joins_only_as_a_foreign_collaborator(
        in_tenant: World) -> None:
    applicant = db.session.get(User, in_tenant.a.user_ids[Role.applicant])
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, applicant, in_tenant.a)
    argonne = _foreign_institute(applicant)
    with pytest.raises(services.FieldError, match="only as a foreign collaborator"):
        services.add_partner(proposal, argonne, by=applicant)
    local = tenants.add_institute(by=applicant, name="Al-Farabi University",
                                  country_code="KZ")
    db.session.flush()
    with pytest.raises(services.FieldError, match="a country this call funds"):
        services.add_partner(proposal, local, by=applicant, foreign=True)
    partner = services.add_partner(proposal, argonne, by=applicant, foreign=True)
    assert partner.role == "foreign_collaborator"
    # Eligibility ignores its country; its government is not asked to concur.
    assert services.checklist(proposal) == []
    assert proposal.partner_countries == ["AM", "KZ"] and "US" in proposal.countries
    proposal.submitted_at = proposal.call.opens_at
    checks = {c["code"]: c for c in screening.eligibility_checks(proposal)}
    assert checks["countries"]["ok"] and checks["countries"]["outside"] == []


def test_a_foreign_collaborator_gets_no_budget_line(app, client, world, login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        argonne = _foreign_institute(applicant)
        services.add_partner(proposal, argonne, by=applicant, foreign=True)
        db.session.commit()
        argonne_id = argonne.id
        d1 = world.a.donor_ids[0]
        with pytest.raises(services.FieldError, match="receive no grant money"):
            services.add_budget_line(proposal, by=applicant, category="travel",
                                     description="Visit", amount=1_000_00,
                                     splits={d1: 1_000_00}, institute_id=argonne_id)
    login(world.a.emails["applicant"])
    html = client.get(_url(world, "budget")).get_data(as_text=True)
    select_html = html[html.index('id="institute_id"'):]
    select_html = select_html[:select_html.index("</select>")]
    assert "Argonne" not in select_html  # not offered ...
    response = client.post(_url(world, "budget"), data={  # ... and refused if forged
        "institute_id": str(argonne_id), "category": "travel", "description": "Visit",
        "amount": "1000", f"split_{d1}": "1000"})
    assert response.status_code == 200
    assert "Not a valid choice" in _error_of(response.get_data(as_text=True), "institute_id")
    with _in_a(app, world) as (proposal, _applicant):
        assert db.session.scalar(select(func.count()).select_from(BudgetLine).where(
            BudgetLine.proposal_id == proposal.id)) == 0


def test_the_budget_page_groups_lines_by_institute_with_totals(app, client, world,
                                                              login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        botany = db.session.get(Institute, world.a.institute_ids[1])
        services.add_partner(proposal, botany, by=applicant)
        d1, d2 = world.a.donor_ids
        services.add_budget_line(proposal, by=applicant, category="personnel",
                                 description="Salaries KZ", amount=600_00,
                                 splits={d1: 600_00})
        services.add_budget_line(proposal, by=applicant, category="equipment",
                                 description="Microscope", amount=400_00,
                                 splits={d1: 100_00, d2: 300_00}, institute_id=botany.id)
        totals = services.budget_totals(proposal)
        assert totals["by_institute"] == {world.a.institute_ids[0]: 600_00, botany.id: 400_00}
        assert totals["by_institute_donor"][botany.id] == {d1: 100_00, d2: 300_00}
        db.session.commit()
    login(world.a.emails["applicant"])
    html = client.get(_url(world, "budget")).get_data(as_text=True)
    physics, botany_at = html.index("Institute of Physics alpha</th>"), html.index(
        "Institute of Botany alpha</th>")
    assert physics < html.index("Salaries KZ") < botany_at < html.index("Microscope")
    assert "Total of Institute of Botany alpha" in html


# --- working days and the call's limits ---------------------------------------------------

def _team_of_one(app, world: World) -> int:  # noqa: ANN001
    with _in_a(app, world) as (proposal, applicant):
        member = services.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                                          role="principal_investigator",
                                          institute_id=world.a.institute_ids[0],
                                          citizenship="KZ")
        db.session.commit()
        return member.id


@pytest.mark.parametrize(("typed", "message"), [
    ("67", "At most 66 working days in 3 months"),
    ("1,5", "Give whole working days"),
    ("-3", "Give whole working days"),
    ("ten", "Give whole working days"),
])
def test_working_days_beyond_the_tasks_months_are_refused_next_to_the_field(
        app, client, world, login, typed: str, message: str) -> None:
    member_id = _team_of_one(app, world)
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "workplan"), data={
        "title": "Sampling", "institute_id": str(world.a.institute_ids[0]),
        "start_month": "4", "end_month": "6", f"days_{member_id}": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in _error_of(html, f"days_{member_id}")
    assert f'value="{typed}"' in html and 'value="Sampling"' in html
    with _in_a(app, world) as (proposal, _applicant):
        assert proposal.tasks == []


def test_working_days_within_the_bound_are_saved(app, client, world, login) -> None:
    member_id = _team_of_one(app, world)
    login(world.a.emails["applicant"])
    assert client.post(_url(world, "workplan"), data={
        "title": "Sampling", "institute_id": str(world.a.institute_ids[0]),
        "start_month": "4", "end_month": "6", f"days_{member_id}": "66"}).status_code == 302
    with _in_a(app, world) as (proposal, applicant):
        assert [e.days for e in proposal.tasks[0].efforts] == [66]
        with pytest.raises(services.FieldError, match="At most 22 working days"):
            services.update_task(proposal, proposal.tasks[0], by=applicant,
                                 expected_revision=None, efforts={member_id: 66},
                                 start_month=6, end_month=6)


def test_the_duration_field_states_and_enforces_the_calls_maximum(app, client, world,
                                                                   login) -> None:
    login(world.a.emails["applicant"])
    html = client.get(_url(world, "overview")).get_data(as_text=True)
    assert "At most 36 months, the call" in html and 'max="36"' in html
    response = client.post(_url(world, "overview"), data={
        "revision": "0", "title": "Typed title", "duration_months": "37"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Between 1 and 36 months" in _error_of(html, "duration_months")
    assert 'value="Typed title"' in html and 'value="37"' in html
    assert client.post(_url(world, "overview"), data={
        "revision": "0", "title": "Typed title", "duration_months": "36"}).status_code == 302


# --- countries ------------------------------------------------------------------------------

def test_country_choices_are_the_iso_countries_with_a_blank_first_choice(app) -> None:
    with app.test_request_context():
        choices = country_choices()
    codes = [c.value for c in choices]
    assert codes[0] == "" and len(codes) == 1 + 249 == 1 + len(ISO_CODES)
    assert not {"EU", "EZ", "QO", "UN", "XK", "ZZ", "XA", "001", "150"} & set(codes)
    assert {"KZ", "AM", "KR", "US", "UA", "TW", "PS"} <= set(codes)


@pytest.mark.parametrize("section", ["team", "travel", "consortium"])
def test_no_country_select_preselects_a_country(app, client, world, login,
                                                section: str) -> None:
    with _in_a(app, world) as (proposal, applicant):
        services.add_team_member(proposal, by=applicant, name="Aigerim Nurlanovna",
                                 role="scientist", institute_id=world.a.institute_ids[0],
                                 citizenship="KZ")
        db.session.commit()
    login(world.a.emails["applicant"])
    html = client.get(_url(world, section)).get_data(as_text=True)
    selects = re.findall(r'<select[^>]*name="(?:new-)?(?:citizenship|origin_country|'
                         r'destination_country|country_code)"[^>]*>(.*?)</select>', html, re.S)
    assert selects
    for options in selects:
        assert options.lstrip().startswith('<option value="">') and "selected" not in options
        assert 'value="EU"' not in options and 'value="QO"' not in options


def test_a_blank_country_is_refused_next_to_the_field_and_the_input_kept(app, client, world,
                                                                        login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "team"), data={
        "name": "Daulet Serikov", "role": "scientist",
        "institute_id": str(world.a.institute_ids[0]), "citizenship": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose a country." in _error_of(html, "citizenship")
    assert 'value="Daulet Serikov"' in html
    forged = client.post(_url(world, "team"), data={
        "name": "Daulet Serikov", "role": "scientist",
        "institute_id": str(world.a.institute_ids[0]), "citizenship": "EU"})
    assert "Not a valid choice" in _error_of(forged.get_data(as_text=True), "citizenship")


def test_an_applicant_proposes_a_foreign_institute_as_a_foreign_collaborator(
        app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    data = {"action": "propose", "new-name": "Lawrence Livermore", "new-country_code": "US",
            "new-city": "Livermore", "new-role": "partner"}
    refused = client.post(_url(world, "consortium"), data=data)
    assert "only as a foreign collaborator" in _error_of(refused.get_data(as_text=True),
                                                         "new-role")
    assert client.post(_url(world, "consortium"), data={
        **data, "new-role": "foreign_collaborator"}).status_code == 302
    with _in_a(app, world) as (proposal, _applicant):
        row = next(p for p in proposal.partners if p.institute.name == "Lawrence Livermore")
        assert row.foreign_collaborator and not row.institute.verified
        # The refused attempt stored no institute.
        assert db.session.scalar(select(func.count()).select_from(Institute).where(
            Institute.name == "Lawrence Livermore")) == 1


# --- the IP page's two forms ------------------------------------------------------------------

def test_adding_background_ip_also_saves_the_plan_typed_beside_it(app, client, world,
                                                                  login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "ip"), data={
        "action": "background", "revision": "0", "foreground_ip": "joint",
        "publication_policy": "Open access after 6 months.", "foreground_ip_terms": "",
        "bg-institute_id": str(world.a.institute_ids[0]), "bg-description": "Pipeline",
        "bg-restrictions": "", "bg-revision": "0"})
    assert response.status_code == 302
    with _in_a(app, world) as (proposal, _applicant):
        assert proposal.publication_policy == "Open access after 6 months."
        assert [b.description for b in proposal.background_ip] == ["Pipeline"]


def test_a_refused_row_keeps_the_plan_typed_in_the_other_form_and_saves_nothing(
        app, client, world, login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "ip"), data={
        "action": "background", "revision": "0", "foreground_ip": "inventor",
        "publication_policy": "Typed policy, not saved yet.", "foreground_ip_terms": "",
        "bg-institute_id": str(world.a.institute_ids[0]), "bg-description": "",
        "bg-restrictions": "Typed restriction", "bg-revision": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _error_of(html, "bg-description")
    assert "Typed policy, not saved yet." in html and "Typed restriction" in html
    assert '<option selected value="inventor">' in html
    with _in_a(app, world) as (proposal, _applicant):
        assert proposal.publication_policy == "" and proposal.background_ip == []


def test_a_refused_plan_keeps_the_background_ip_typed_beside_it(app, client, world,
                                                                login) -> None:
    login(world.a.emails["applicant"])
    response = client.post(_url(world, "ip"), data={
        "action": "plan", "revision": "0", "foreground_ip": "joint",
        "publication_policy": "x" * 4001, "foreground_ip_terms": "",
        "bg-institute_id": str(world.a.institute_ids[0]), "bg-description": "Typed IP",
        "bg-restrictions": "", "bg-revision": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _error_of(html, "publication_policy")
    assert "Typed IP" in html
    with _in_a(app, world) as (proposal, _applicant):
        assert proposal.background_ip == []


# --- refusals that say why ---------------------------------------------------------------

def test_editing_a_submitted_proposal_names_its_state_not_the_users_role(app, client, world,
                                                                        login) -> None:
    with _in_a(app, world) as (proposal, applicant):
        put_in_state(proposal, ProposalStatus.screening, by=applicant)
        db.session.commit()
    login(world.a.emails["applicant"])
    response = client.get(_url(world, "budget"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/proposals/{world.a.ids['proposal_id']}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This proposal is in screening, so it can no longer be changed." in page
    assert "role" not in page[page.index("This proposal is in"):][:120]
    # Someone who is not an applicant of it still gets the plain refusal.
    login(world.a.emails["officer"])
    assert client.get(_url(world, "budget")).status_code == 403
