"""Duplicate-effort checks in the portal: on submission, on import, explained, resolved,
never across tenants except as fingerprint-only coordination."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from center.auth.models import User
from center.core.audit import AuditEvent
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus
from center.dedup import services
from center.dedup.models import ExternalOverlap, FundedProject, MatchStatus, SimilarityMatch
from center.extensions import current_storage
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalStatus
from center.tenants.models import Institute, Role, Tenant
from tests.support.states import put_in_state
from tests.world import World

TB = (
    "Multidrug-resistant tuberculosis is spreading along labour migration routes between "
    "Central Asia and the Caucasus. We will sequence the genomes of isolates collected by the "
    "national reference laboratories, build a shared database of resistance mutations, and "
    "train laboratory staff to use genomic methods in routine surveillance. A joint dashboard "
    "will warn both national tuberculosis programmes when a resistant cluster crosses the "
    "border, and the results will guide the choice of second-line drugs in each country."
)
TB_EDITED = TB.replace("We will sequence", "The team sequences").replace(
    "build a shared database", "builds a common database").replace("train", "trains")
TB_RU = (
    "Туберкулёз с множественной лекарственной устойчивостью распространяется по маршрутам "
    "трудовой миграции между Центральной Азией и Кавказом. Мы секвенируем геномы изолятов, "
    "собранных национальными референс-лабораториями, создадим общую базу данных мутаций "
    "устойчивости и обучим сотрудников лабораторий применять геномные методы в рутинном "
    "эпиднадзоре. Совместная панель мониторинга предупредит обе национальные программы "
    "борьбы с туберкулёзом, когда устойчивый кластер пересечёт границу, а результаты помогут "
    "выбрать препараты второго ряда в каждой стране."
)
VOLCANO = (
    "Mount Paektu is an active volcano whose last great eruption in 946 ejected one of the "
    "largest volumes of tephra of the last two thousand years. We will install broadband "
    "seismometers and gas sensors around the caldera, measure ground deformation with "
    "satellite radar, and model magma movement to give civil protection agencies an early "
    "warning of unrest. Local geologists will be trained in data processing and hazard maps."
)


def _submitted(side, title: str, text: str, *, institute: int = 0, pi: str = "Aigerim Nurlanovna",
               orcid: str = "") -> Proposal:
    applicant = db.session.get(User, side.user_ids[Role.applicant])
    call_id = side.ids["call_id"]
    proposal = proposals.start_proposal(db.session.get(Proposal, side.ids["proposal_id"]).call,
                                        by=applicant)
    assert proposal.call_id == call_id
    proposals.update_sections(proposal, "overview", by=applicant, expected_revision=None,
                              title=title, abstract=text)
    lead = db.session.get(Institute, side.institute_ids[institute])
    proposals.add_partner(proposal, lead, lead=True, by=applicant)
    proposals.add_team_member(proposal, by=applicant, name=pi, role="principal_investigator",
                              institute_id=lead.id, citizenship=lead.country_code, orcid=orcid)
    put_in_state(proposal, ProposalStatus.submitted, by=applicant)
    return proposal


@pytest.fixture()
def officer(in_tenant: World) -> User:
    return db.session.get(User, in_tenant.a.user_ids[Role.officer])


def test_a_light_edit_from_another_country_is_a_cross_country_match(in_tenant, officer) -> None:
    first = _submitted(in_tenant.a, "TB genomics", TB, institute=0)
    services.check_proposal(first, by=officer)
    second = _submitted(in_tenant.a, "TB genomics again", TB_EDITED, institute=1,
                        pi="Armen Petrosyan")
    [match] = services.check_proposal(second, by=officer)
    assert match.other_proposal_id == first.id and match.score >= 0.5
    assert match.cross_country and not match.same_pi
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dedup.checked"))


def test_a_resubmission_by_the_same_investigator_is_labelled(in_tenant, officer) -> None:
    services.check_proposal(_submitted(in_tenant.a, "TB genomics", TB), by=officer)
    [match] = services.check_proposal(
        _submitted(in_tenant.a, "TB genomics, second call", TB_EDITED, pi="Nurlanovna Aigerim"),
        by=officer)
    assert match.same_pi and not match.cross_country


def test_the_pis_orcid_ids_decide_whether_it_is_a_resubmission(in_tenant, officer) -> None:
    services.check_proposal(_submitted(in_tenant.a, "TB genomics", TB,
                                       orcid="0000-0002-1825-0097"), by=officer)
    # The same name, another iD: a namesake, not the same investigator ...
    [namesake] = services.check_proposal(_submitted(
        in_tenant.a, "TB genomics, second call", TB_EDITED, orcid="0000-0002-1694-233X"),
        by=officer)
    assert not namesake.same_pi
    # ... and the same iD under a name written otherwise is the same investigator.
    third = services.check_proposal(_submitted(
        in_tenant.a, "TB genomics, third call", TB_EDITED, pi="A. N. Sultanova",
        orcid="0000-0002-1825-0097"), by=officer)
    by_title = {m.other_proposal.title: m.same_pi for m in third}
    assert by_title == {"TB genomics": True, "TB genomics, second call": False}


def test_a_translation_into_russian_is_found(in_tenant, officer) -> None:
    services.check_proposal(_submitted(in_tenant.a, "TB genomics", TB), by=officer)
    matches = services.check_proposal(_submitted(in_tenant.a, "Геномика ТБ", TB_RU,
                                                 institute=1), by=officer)
    assert [m.method for m in matches] == ["cross-lingual"]


def test_unrelated_proposals_are_not_flagged(in_tenant, officer) -> None:
    services.check_proposal(_submitted(in_tenant.a, "TB genomics", TB), by=officer)
    assert services.check_proposal(_submitted(in_tenant.a, "Paektu", VOLCANO),
                                   by=officer) == []


def test_a_proposal_reusing_a_funded_project_is_found_on_import(in_tenant, officer) -> None:
    proposal = _submitted(in_tenant.a, "TB genomics", TB)
    services.check_proposal(proposal, by=officer)
    csv_text = ("reference,title,abstract,lang,donor,country,lead_institute,pi,start_year\n"
                f'ISTC-1999,Tuberculosis genomics,"{TB_EDITED}",en,EU,AM,Institute,Someone,2019\n'
                "bad-row,,no title,en,EU,AM,,,\n")
    result = services.import_projects(csv_text, by=officer)
    assert (result.created, result.matches) == (1, 1)
    assert result.errors == ["Line 3: reference, title and abstract are required."]
    match = db.session.scalar(select(SimilarityMatch).where(
        SimilarityMatch.proposal_id == proposal.id, SimilarityMatch.project_id.is_not(None)))
    assert match.project.reference == "ISTC-1999" and match.cross_country


def test_matches_never_cross_tenants(app, world: World) -> None:
    with app.app_context():
        with tenant_scope(world.b.tenant_id):
            services.check_proposal(_submitted(world.b, "TB genomics", TB),
                                    by=db.session.get(User, world.b.user_ids[Role.officer]))
            db.session.commit()
        with tenant_scope(world.a.tenant_id):
            officer = db.session.get(User, world.a.user_ids[Role.officer])
            assert services.check_proposal(_submitted(world.a, "TB", TB), by=officer) == []
            assert db.session.scalars(select(ExternalOverlap)).all() == []


def test_linked_centers_learn_of_an_overlap_but_not_its_text(app, world: World) -> None:
    with app.app_context():
        a, b = (db.session.get(Tenant, s.tenant_id) for s in (world.a, world.b))
        admin_a = db.session.get(User, world.a.user_ids[Role.admin])
        admin_b = db.session.get(User, world.b.user_ids[Role.admin])
        # Each admin acts in their own center, as the coordination page's request does.
        with tenant_scope(a.id):
            services.set_coordination(a, b, consent=True, by=admin_a)
        with tenant_scope(b.id):
            services.set_coordination(b, a, consent=True, by=admin_b)
        with tenant_scope(b.id):
            services.check_proposal(_submitted(world.b, "TB in Mongolia", TB), by=admin_b)
            db.session.commit()
        with tenant_scope(a.id):
            proposal = _submitted(world.a, "TB genomics", TB_EDITED)
            services.check_proposal(proposal, by=admin_a)
            db.session.commit()
            [overlap] = services.external_overlaps_for(proposal)
            assert overlap.partner_center == b.name and overlap.score >= 0.5
            assert overlap.partner_contact == world.b.emails["officer"]
            text_fields = {c.name for c in ExternalOverlap.__table__.columns}
            assert not text_fields & {"title", "abstract", "text"}
        with tenant_scope(b.id):
            [mirror] = db.session.scalars(select(ExternalOverlap)).all()
            assert mirror.partner_center == a.name


def test_one_sided_consent_shares_nothing(app, world: World) -> None:
    with app.app_context():
        a, b = (db.session.get(Tenant, s.tenant_id) for s in (world.a, world.b))
        with tenant_scope(a.id):
            services.set_coordination(a, b, consent=True,
                                      by=db.session.get(User, world.a.user_ids[Role.admin]))
        with tenant_scope(b.id):
            services.check_proposal(_submitted(world.b, "TB", TB), by=None)
        with tenant_scope(a.id):
            services.check_proposal(_submitted(world.a, "TB", TB), by=None)
            assert db.session.scalars(select(ExternalOverlap)).all() == []


def test_an_officer_compares_and_resolves_a_match(app, client, world: World, login) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        officer = db.session.get(User, world.a.user_ids[Role.officer])
        services.check_proposal(_submitted(world.a, "TB genomics", TB), by=officer)
        [match] = services.check_proposal(_submitted(world.a, "TB again", TB_EDITED,
                                                     institute=1), by=officer)
        db.session.commit()
        match_id, version = match.id, match.version
    login(world.a.emails["officer"])
    page = client.get(f"/{world.a.slug}/overlaps/{match_id}").get_data(as_text=True)
    assert page.count("<mark") >= 2 and "cross-country duplicate effort" in page
    url = f"/{world.a.slug}/overlaps/{match_id}"
    missing = client.post(url, data={"version": version, "status": "duplicate", "comment": ""})
    assert 'id="comment-error"' in missing.get_data(as_text=True)
    done = client.post(url, data={"version": version, "status": "complementary",
                                  "comment": "Same pathogen, different regions: coordinate."})
    assert done.status_code == 302
    stale = client.post(url, data={"version": version, "status": "cleared", "comment": "No."})
    assert "resolved this match meanwhile" in stale.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.a.tenant_id):
        row = db.session.get(SimilarityMatch, match_id)
        assert row.status == MatchStatus.complementary and row.resolved_at
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "dedup.match_resolved"))
        assert (event.from_state, event.to_state) == ("open", "complementary")


def test_applicants_never_see_overlaps(client, world: World, login) -> None:
    login(world.a.emails["applicant"])
    assert client.get(f"/{world.a.slug}/overlaps/").status_code == 403
    assert client.get(f"/{world.a.slug}/overlaps/{world.a.ids['match_id']}").status_code == 403
    page = client.get(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}")
    assert "Duplicate-effort check" not in page.get_data(as_text=True)


def test_submission_queues_a_check(app, client, world: World, login) -> None:
    """The submit transition's effect runs the check as a job after the commit."""
    from tests.proposals.test_proposals import _complete

    with app.app_context(), tenant_scope(world.a.tenant_id):
        applicant = db.session.get(User, world.a.user_ids[Role.applicant])
        proposal = db.session.get(Proposal, world.a.ids["proposal_id"])
        _complete(proposal, applicant, world.a)
        db.session.commit()
        version = proposal.version
    login(world.a.emails["applicant"])
    client.post(f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/do/submit",
                data={"version": str(version), "declaration": "y"})
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "dedup.checked",
            AuditEvent.object_id == world.a.ids["proposal_id"])) is not None


def test_importing_projects_through_the_page_reports_bad_rows(client, world, login) -> None:
    login(world.a.emails["officer"])
    data = {"file": (io.BytesIO(b"reference,title\nX,Y\n"), "projects.csv")}
    response = client.post(f"/{world.a.slug}/overlaps/projects", data=data,
                           content_type="multipart/form-data")
    assert "Missing column: abstract." in response.get_data(as_text=True)


def test_an_uploaded_import_runs_as_a_job_and_its_page_reports_every_row(
        app, client, world, login) -> None:
    """The page answers at once with the job's progress; the rows are imported by the job,
    the bad ones listed by line on the archive page the job returns to, with the counts."""
    login(world.a.emails["officer"])
    rows = "".join(f'ISTC-{n},"Сейсмология {n}","Seismic hazard of basin {n}. " ,ru,EU,KZ,,,2020\n'
                   for n in range(120))
    csv_bytes = ("\ufeffreference,title,abstract,lang,donor,country,lead_institute,pi,start_year\n"
                 + rows + "bad,,no title,en,EU,AM,,,\nISTC-x,T,A,en,EU,AM,,,19x9\n").encode()
    response = client.post(f"/{world.a.slug}/overlaps/projects",
                           data={"file": (io.BytesIO(csv_bytes), "projects.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    with app.app_context(), tenant_scope(world.a.tenant_id):
        job = db.session.scalar(select(Job).where(Job.task == services.IMPORT_TASK))
        assert job.status == JobStatus.done, job.error
        assert (job.done, job.total) == (122, 122)
        assert job.result["created"] == 120 and job.result["error_count"] == 2
        assert db.session.scalar(select(func.count()).select_from(FundedProject).where(
            FundedProject.reference.like("ISTC-%"))) == 120
        assert not current_storage().exists(job.params["key"])  # the upload is not kept
        redirect_to = job.result["redirect"]
    page = client.get(redirect_to).get_data(as_text=True)
    assert "120 projects added" in page and "2 rows were skipped" in page
    assert "Line 122: reference, title and abstract are required." in page
    assert "Line 123: start_year must be a year" in page


def test_an_import_with_a_missing_column_is_refused_before_any_job(app, client, world,
                                                                    login) -> None:
    login(world.a.emails["officer"])
    response = client.post(f"/{world.a.slug}/overlaps/projects",
                           data={"file": (io.BytesIO(b"reference,title\nX,Y\n"), "p.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(Job).where(Job.task == services.IMPORT_TASK)) is None
