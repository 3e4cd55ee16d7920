"""The screening report: computed on submission, refreshed on demand, and what it blocks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from center.core import clock
from center.core.audit import AuditEvent
from center.core.db import db
from center.core.jobs import Job, JobStatus
from center.core.notifications import OutboxMessage
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening import services
from center.screening.models import SanctionsHit, SanctionsList, ScreeningReport
from center.tenants.models import Role, Tenant
from tests.proposals.test_proposals import _complete
from tests.screening.conftest import People, as_role, import_list, new_proposal, submit
from tests.world import World

OFFICER = as_role(Role.officer)
PI_ON_LIST = "Нурлановна Айгерим,,KZ,person,National list,KZ.7\n"


def _report(proposal: Proposal) -> ScreeningReport:
    report = services.report_for(proposal)
    assert report is not None
    return report


def _pass(proposal: Proposal, people: People) -> None:
    workflow.fire(proposal, "pass_screening", by=people[Role.officer], roles=OFFICER,
                  expected_version=proposal.version)


def test_submission_computes_the_report_of_the_new_version(submitted: Proposal) -> None:
    report = _report(submitted)
    assert report.version_no == 1
    assert [c["code"] for c in report.findings["eligibility"]] == [
        "call_open", "countries", "budget", "duration", "attachments"]
    assert all(c["ok"] for c in report.findings["eligibility"])
    screened = report.findings["sanctions"]["screened"]
    assert {s["name"] for s in screened} == {"Aigerim Nurlanovna", "Institute of Physics alpha",
                                             "Institute of Botany alpha"}
    assert report.findings["sanctions"]["list"]["label"] == "World list v2"
    assert report.hits == [] and report.sensitive_terms == []
    assert services.pass_problems(submitted) == []
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "screening.computed")).details["version"] == 1


def test_a_listed_team_member_is_a_hit_that_blocks_passing_until_cleared(
        in_screening: Proposal, people: People) -> None:
    import_list(PI_ON_LIST, by=people[Role.officer])
    report = services.screen_proposal(in_screening, by=people[Role.officer])
    db.session.commit()
    [hit] = report.hits
    assert (hit.subject_name, hit.entry.name, hit.entry.reference) == (
        "Aigerim Nurlanovna", "Нурлановна Айгерим", "KZ.7")
    assert hit.score >= 0.85
    with pytest.raises(workflow.GuardFailed, match="1 sanctions hit"):
        _pass(in_screening, people)
    db.session.rollback()

    with pytest.raises(services.ScreeningError, match="Say why"):
        services.clear_hit(hit, by=people[Role.officer], reason=" ")
    services.clear_hit(hit, by=people[Role.officer], reason="Born 1991; the listed person 1962.",
                       expected_version=in_screening.version)
    db.session.commit()
    assert hit.cleared_by_id == people[Role.officer].id and hit.cleared_at is not None
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "screening.hit_cleared"))
    assert event.details["reason"].startswith("Born 1991")
    _pass(in_screening, people)
    db.session.commit()
    assert in_screening.status == ProposalStatus.concurrence


def test_clearing_from_a_page_loaded_before_a_refresh_is_refused(
        in_screening: Proposal, people: People) -> None:
    import_list(PI_ON_LIST, by=people[Role.officer])
    report = services.screen_proposal(in_screening, by=people[Role.officer])
    db.session.commit()
    loaded = in_screening.version
    services.screen_proposal(in_screening, by=people[Role.officer])
    db.session.commit()
    with pytest.raises(services.StaleAction):
        services.clear_hit(report.hits[0], by=people[Role.officer], reason="Other person.",
                           expected_version=loaded)


def test_a_refresh_keeps_clearances_of_the_same_name_against_the_same_listing(
        in_screening: Proposal, people: People) -> None:
    officer = people[Role.officer]
    import_list(PI_ON_LIST, by=officer)
    report = services.screen_proposal(in_screening, by=officer)
    services.clear_hit(report.hits[0], by=officer, reason="Checked the passport.")
    db.session.commit()
    import_list(PI_ON_LIST + "Institute of Botany alpha,,AM,entity,National list,AM.2\n",
                by=officer, label="Next month")
    report = services.screen_proposal(in_screening, by=officer)
    db.session.commit()
    by_name = {h.subject_name: h for h in report.hits}
    assert by_name["Aigerim Nurlanovna"].cleared_at is not None
    assert by_name["Aigerim Nurlanovna"].carried_over
    assert by_name["Institute of Botany alpha"].cleared_at is None
    assert len(report.uncleared_hits) == 1


def test_no_list_or_an_outdated_list_keeps_the_proposal_from_passing(
        in_screening: Proposal, people: People) -> None:
    import_list("Somebody Else,,RU,person,EU,1\n", by=people[Role.officer])
    db.session.commit()
    assert services.pass_problems(in_screening) == [
        "The screening used an earlier sanctions list: refresh it."]
    db.session.execute(SanctionsList.__table__.update().values(is_active=False,
                                                               replaced_at=clock.now()))
    services.screen_proposal(in_screening, by=people[Role.officer])
    assert "No sanctions list is imported" in services.pass_problems(in_screening)[0]
    assert _report(in_screening).findings["sanctions"]["list"] is None


def test_importing_a_list_rescreens_the_waiting_proposals_in_a_job(
        app, in_screening: Proposal, people: People) -> None:  # noqa: ANN001
    import_list(PI_ON_LIST, by=people[Role.officer])
    new = db.session.scalar(select(SanctionsList).where(SanctionsList.is_active.is_(True)))
    job = services.start_rescreen(new, by=people[Role.officer])
    db.session.commit()  # the job runs once this commits (at once in tests)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.done, job.error
    # Every pending and active proposal is screened: the world's approved and active ones,
    # led by the same scientist, have the hit too.
    by_id = {p["id"]: p for p in job.result["with_hits"]}
    assert by_id[in_screening.id]["hits"] == 1 and "active" in {
        p["status"] for p in by_id.values()}
    assert job.result["list_id"] == new.id
    assert job.result["proposals"] == db.session.scalar(select(func.count()).select_from(
        Proposal).where(Proposal.status.in_(services.RESCREEN_STATES)))
    assert job.result["uncleared_hits"] == sum(p["hits"] for p in by_id.values())
    assert len(_report(db.session.get(Proposal, in_screening.id)).uncleared_hits) == 1


def test_a_new_list_version_replaces_the_active_one_and_keeps_the_old(
        in_tenant: World, people: People) -> None:
    import_list("Ivan Sidorov,,RU,person,EU,1\n", by=people[Role.officer], label="March")
    lists = db.session.scalars(select(SanctionsList).order_by(SanctionsList.number)).all()
    assert [(x.number, x.is_active, x.replaced_at is not None) for x in lists] == [
        (1, False, True), (2, False, True), (3, True, False)]
    assert lists[-1].label == "March" and lists[-1].entry_count == 1
    assert sum(len(x.entries) for x in lists) == 4 + 3 + 1


def test_a_list_with_bad_rows_is_refused_with_the_lines_unless_told_to_skip_them(
        in_tenant: World, people: People) -> None:
    data = (b"name,aliases,country,type,list,reference\nIvan Sidorov,,RU,person,EU,1\n"
            b"Petr Petrov,,Ruritania,robot,EU,2\n")
    with pytest.raises(services.ImportRejected) as refused:
        services.import_sanctions_list(filename="x.csv", data=data, label="", by=people[
            Role.officer])
    assert [(e.line, e.column) for e in refused.value.errors] == [(3, "type"), (3, "country")]
    db.session.rollback()
    imported = services.import_sanctions_list(filename="x.csv", data=data, label="",
                                              by=people[Role.officer], skip_bad_rows=True)
    assert (imported.entry_count, imported.skipped_rows, imported.label) == (1, 1, "x.csv")
    with pytest.raises(services.ImportRejected, match="not UTF-8"):
        services.import_sanctions_list(filename="x.csv", data="name;Иван".encode("cp1251"),
                                       label="", by=people[Role.officer])


def test_sensitive_topics_are_flagged_and_block_until_a_security_review(
        in_tenant: World, people: People) -> None:
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    _complete(proposal, people[Role.applicant], in_tenant.a)
    proposals.update_sections(proposal, "overview", by=people[Role.applicant],
                              expected_revision=None, keywords="tuberculosis, dual use",
                              objectives="Study CBRN-relevant pathogens; no pathogen "
                                         "enhancement.")
    submit(proposal, people[Role.applicant])
    workflow.fire(proposal, "start_screening", by=people[Role.officer], roles=OFFICER)
    db.session.commit()
    report = _report(proposal)
    assert report.sensitive_terms == ["CBRN", "dual-use", "pathogen enhancement"]
    places = report.findings["sensitive"]["places"]
    assert {(p["term"], p["where"]) for p in places} == {
        ("dual-use", "keywords"), ("CBRN", "objectives"), ("pathogen enhancement", "objectives")}
    with pytest.raises(workflow.GuardFailed, match="need a security review"):
        _pass(proposal, people)
    db.session.rollback()
    services.review_sensitive(report, by=people[Role.officer],
                              note="Civil TB diagnostics only; export office agrees.")
    _pass(proposal, people)
    assert proposal.status == ProposalStatus.concurrence


def test_the_tenants_keyword_list_decides_what_is_sensitive(submitted: Proposal,
                                                            people: People) -> None:
    tenant = db.session.get(Tenant, submitted.tenant_id)
    services.update_settings(tenant, by=people[Role.admin], expected_revision=None,
                             sensitive_keywords=["tuberculosis"])
    report = services.screen_proposal(submitted, by=people[Role.officer])
    assert report.sensitive_terms == ["tuberculosis"]
    assert report.sensitive_status == "blocking"


def test_effort_counts_each_scientist_across_the_tenants_pending_proposals(
        in_tenant: World, people: People, submitted: Proposal) -> None:
    applicant = people[Role.applicant]
    other = new_proposal(in_tenant, applicant)  # the same PI, 120 days over 24 months
    pi = next(m for m in other.team if m.role == "principal_investigator")
    proposals.add_task(other, by=applicant, efforts={pi.id: 250}, title="Field work",
                       institute_id=in_tenant.a.institute_ids[0], start_month=1, end_month=12)
    submit(other, applicant)
    db.session.commit()
    person = _report(other).findings["effort"]["people"][0]
    # (120 + 250) days over 24 months here, 120 over 24 months on the first proposal
    assert (person["here"], person["days_per_year"]) == (185.0, 245.0)
    assert person["over"] and person["percent"] == 111
    assert person["elsewhere"][0]["proposal_id"] == submitted.id
    assert _report(other).over_committed == [person]
    # Over the center's limit blocks screening (it used to pass with a note).
    assert any("above the limit of 220" in p for p in services.pass_problems(other))


@pytest.mark.parametrize(("here", "there", "same"), [
    (("Aigerim Nurlanovna", ""), ("Нурлановна Айгерим", ""), True),  # script and word order
    (("Aigerim Nurlanovna", "an@ncpt.example"), ("Aigerim Nurlanovna", ""), True),
    (("Aigerim Nurlanovna", "an@ncpt.example"), ("A. Other", "AN@ncpt.example"), True),
    (("Aigerim Nurlanovna", "an@ncpt.example"), ("Aigerim Nurlanovna", "x@example.org"), False),
    (("Aigerim Nurlanovna", ""), ("Aigerim Bekova", ""), False),
])
def test_a_scientist_is_recognised_by_email_or_by_name(here: tuple[str, str],
                                                       there: tuple[str, str],
                                                       same: bool) -> None:
    assert services.same_person(*here, *there) is same


ORCID_A, ORCID_B = "0000-0002-1825-0097", "0000-0002-1694-233X"


@pytest.mark.parametrize(("here", "there", "same"), [
    # The same ORCID iD is one person under a different name and e-mail ...
    (("Aigerim Nurlanovna", "an@ncpt.example", ORCID_A),
     ("A. N. Sultanova", "aigerim@kaznu.example", ORCID_A), True),
    # ... and two ORCID iDs are two people, however alike their names and e-mails.
    (("Aigerim Nurlanovna", "an@ncpt.example", ORCID_A),
     ("Aigerim Nurlanovna", "an@ncpt.example", ORCID_B), False),
    # With one side lacking an iD, the e-mail and the name decide as before.
    (("Aigerim Nurlanovna", "", ORCID_A), ("Нурлановна Айгерим", "", ""), True),
])
def test_an_orcid_id_decides_before_the_email_and_the_name(here: tuple[str, str, str],
                                                           there: tuple[str, str, str],
                                                           same: bool) -> None:
    assert services.same_person(here[0], here[1], there[0], there[1], a_orcid=here[2],
                                b_orcid=there[2]) is same


def test_eligibility_reports_what_the_call_now_forbids(submitted: Proposal,
                                                       people: People) -> None:
    call = submitted.call
    call.budget_ceiling = 50_000_00
    call.max_duration_months = 12
    call.eligible_countries = ["KZ"]
    report = services.screen_proposal(submitted, by=people[Role.officer])
    failed = {c["code"]: c for c in report.failed_eligibility}
    assert set(failed) == {"countries", "budget", "duration"}
    assert failed["countries"]["outside"] == ["AM"]
    assert services.describe_check(failed["duration"]) == (
        "The duration is outside 1 to 12 months.")


def test_request_changes_then_resubmission_makes_v2_and_shows_what_changed(
        in_screening: Proposal, people: People) -> None:
    applicant = people[Role.applicant]
    workflow.fire(in_screening, "request_changes", by=people[Role.officer], roles=OFFICER,
                  reason="Shorten the work plan and add the ethics approval.")
    db.session.commit()
    mail = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.subject.like("Changes requested%")))
    assert "Shorten the work plan" in mail.body and mail.recipient == applicant.email
    proposals.update_sections(in_screening, "overview", by=applicant, expected_revision=None,
                              title="Genomic TB surveillance in two countries",
                              duration_months=18)
    submit(in_screening, applicant)
    db.session.commit()
    assert in_screening.version_no == 2 and _report(in_screening).version_no == 2
    old, new = in_screening.versions
    changes = {c.part: c for c in services.version_changes(old.snapshot, new.snapshot)}
    assert set(changes) == {"title", "duration_months"}
    assert ("added", "in two countries") in changes["title"].words
    assert changes["duration_months"].words == [("removed", "24"), ("added", "18")]


def test_version_changes_name_rows_added_and_removed() -> None:
    old = {"team": [{"name": "A", "role": "pi"}, {"name": "B", "role": "scientist"}],
           "ip": {"foreground": "joint", "publication": "Open"}}
    new = {"team": [{"name": "A", "role": "pi"}, {"name": "C", "role": "student"}],
           "ip": {"foreground": "inventor", "publication": "Open"}}
    changes = {c.part: c for c in services.version_changes(old, new)}
    assert changes["team"].removed == ["name: B; role: scientist"]
    assert changes["team"].added == ["name: C; role: student"]
    assert (changes["ip"].removed, changes["ip"].added) == (["foreground: joint"],
                                                            ["foreground: inventor"])


def test_declaring_ineligible_tells_the_applicant_the_reason(in_screening: Proposal,
                                                              people: People) -> None:
    workflow.fire(in_screening, "declare_ineligible", by=people[Role.officer], roles=OFFICER,
                  reason="The lead institute is a ministry, which the call excludes.")
    db.session.commit()
    assert in_screening.status == ProposalStatus.ineligible
    assert in_screening.decided_at is not None
    mail = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.subject.like("Proposal not eligible%")))
    assert "ministry" in mail.body


def test_bulk_decisions_apply_to_all_or_to_none(in_tenant: World, people: People,
                                                in_screening: Proposal) -> None:
    applicant, officer = people[Role.applicant], people[Role.officer]
    second = new_proposal(in_tenant, applicant)
    submit(second, applicant)
    workflow.fire(second, "start_screening", by=officer, roles=OFFICER)
    db.session.commit()
    plan = services.plan_decision([in_screening, second], "pass_screening", by=officer,
                                  roles=OFFICER, reason="")
    assert [(c.target, c.problems) for c in plan] == [(ProposalStatus.concurrence, [])] * 2
    chosen = [(c.proposal, c.version) for c in plan]
    # Meanwhile someone refreshes the second one: the batch is refused as a whole.
    services.screen_proposal(second, by=officer)
    db.session.commit()
    with pytest.raises(workflow.StaleTransition, match=second.title):
        services.decide_in_bulk(chosen, "pass_screening", by=officer, roles=OFFICER,
                                reason="")
    db.session.rollback()
    assert {p.status for p in (in_screening, second)} == {ProposalStatus.screening}
    chosen = [(p, p.version) for p in (in_screening, second)]
    assert services.decide_in_bulk(chosen, "pass_screening", by=officer, roles=OFFICER,
                                   reason="") == 2
    db.session.commit()
    assert {p.status for p in (in_screening, second)} == {ProposalStatus.concurrence}


def test_every_screening_action_is_in_the_proposals_audit_trail(
        in_screening: Proposal, people: People) -> None:
    import_list(PI_ON_LIST, by=people[Role.officer])
    report = services.screen_proposal(in_screening, by=people[Role.officer])
    services.clear_hit(report.hits[0], by=people[Role.officer], reason="Other person.")
    _pass(in_screening, people)
    db.session.commit()
    actions = db.session.scalars(services.audit_trail(in_screening)
                                 .with_only_columns(AuditEvent.action)).all()
    assert {"proposal.submit", "screening.computed", "proposal.start_screening",
            "screening.refreshed", "screening.hit_cleared", "concurrence.requested",
            "proposal.pass_screening"} <= set(actions)


def test_a_report_refresh_counts_as_a_change_of_the_proposal(in_screening: Proposal,
                                                             people: People) -> None:
    before = in_screening.version
    services.screen_proposal(in_screening, by=people[Role.officer])
    db.session.commit()
    assert in_screening.version == before + 1
    assert db.session.scalar(select(func.count(ScreeningReport.id))) == 2


def test_drafts_are_not_screened(in_tenant: World, people: People) -> None:
    draft = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    with pytest.raises(services.ScreeningError, match="once it is submitted"):
        services.screen_proposal(draft, by=people[Role.officer])


def test_a_hit_on_a_decided_proposal_cannot_be_cleared(in_screening: Proposal,
                                                       people: People) -> None:
    import_list(PI_ON_LIST, by=people[Role.officer])
    report = services.screen_proposal(in_screening, by=people[Role.officer])
    hit_id = report.hits[0].id
    workflow.fire(in_screening, "declare_ineligible", by=people[Role.officer], roles=OFFICER,
                  reason="Out of scope.")
    db.session.commit()
    with pytest.raises(services.ScreeningError, match="while the proposal is being screened"):
        services.clear_hit(db.session.get(SanctionsHit, hit_id), by=people[Role.officer],
                           reason="Other person.")


def test_the_duplicate_detectors_result_survives_a_refresh(submitted: Proposal,
                                                           people: People) -> None:
    services.record_duplicates(submitted, [{"title": "Earlier TB project", "score": 0.81,
                                            "method": "lexical", "resolution": None}], by=None)
    report = services.screen_proposal(submitted, by=people[Role.officer])
    assert report.findings["duplicates"][0]["title"] == "Earlier TB project"


def test_reports_are_kept_per_version(in_screening: Proposal, people: People) -> None:
    with clock.frozen_at(in_screening.submitted_at + dt.timedelta(days=1)):
        workflow.fire(in_screening, "request_changes", by=people[Role.officer], roles=OFFICER,
                      reason="Add a partner letter.")
        submit(in_screening, people[Role.applicant])
    db.session.commit()
    reports = db.session.scalars(select(ScreeningReport).where(
        ScreeningReport.proposal_id == in_screening.id, ScreeningReport.version_no > 0)
        .order_by(ScreeningReport.version_no)).all()
    assert [r.version_no for r in reports] == [1, 2]
    assert reports[0].computed_at < reports[1].computed_at
