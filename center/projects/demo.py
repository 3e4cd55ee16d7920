"""Demo projects for `center.demo`: one project in each post-award state.

Four funded proposals of the ISTC demo center's lead institute (whose signatory is a demo
login) are written, their stage before funding set directly (recorded as demo set-up, as
the earlier steps have demos of their own), funded by the donors' delegates, and their
agreements generated, issued, acknowledged and countersigned through the services, the
clock set back so that the projects are at different points of their lives:

- *Avalanche forecasting*, started 200 days ago: reports overdue, one draft, tranche 1 due;
- *Soil salinity*, started 120 days ago: its first report submitted, waiting for a reader;
- *Air quality*, started 400 days ago: four reports accepted, one sent back for changes,
  tranche 1 paid and tranche 2 approved, waiting for its payment;
- *Honey bee health*, started 800 days ago: closed, every report accepted, two tranches
  paid and the last cancelled with a reason.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from center.agreements import services as agreements
from center.agreements.models import Party
from center.auth import services as accounts
from center.auth.models import User
from center.calls.models import Call, CallDonor
from center.core import audit, clock
from center.core.db import db
from center.projects import reports, tranches
from center.projects.models import Project
from center.projects.services import project_of
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.reviews import funded_split, funding
from center.tenants.models import Donor, Institute, Membership, Role, Tenant

ADMIN = frozenset({Role.admin})

#: (title, abstract, days since countersignature, what happened since)
PROJECTS = [
    ("Avalanche forecasting for mountain roads of the Zailiysky Alatau",
     "Snow-pack sensors and weather stations along three passes feed a forecasting model that "
     "road services use to close and open the passes before avalanches. Rangers log every "
     "slide they observe, which trains the model, and a bulletin goes to drivers by text "
     "message each winter morning. The hydrometeorological service takes over the network "
     "when the work ends, with spare sensors and a maintenance manual for its technicians.",
     200, "overdue"),
    ("Soil salinity mapping of irrigated fields in the Syr Darya lowlands",
     "Electromagnetic induction surveys and drone imagery map salt in irrigated soils, and "
     "farmers test leaching schedules on demonstration plots. Cotton and rice yields are "
     "weighed at harvest to price each schedule, water user associations choose the ones "
     "they adopt, and extension agents learn to read the salinity maps themselves. Drainage "
     "canals are surveyed too, since clogged collectors raise the water table each summer.",
     120, "submitted"),
    ("Urban air quality and asthma admissions in Almaty",
     "Low-cost particulate sensors across the city are calibrated against reference monitors "
     "and linked to daily hospital admissions for asthma in children. Coal heating in the "
     "private housing districts is mapped street by street, paediatric clinics keep symptom "
     "diaries, and the city hall receives a winter smog warning protocol to test. Schools "
     "near the busiest roads host additional sensors that pupils help to look after.",
     400, "paying"),
    ("Honey bee colony losses and varroa resistance in Kazakh apiaries",
     "Apiaries in four regions record winter colony losses, mite loads and hygienic "
     "behaviour, and breed queens from the most resistant local colonies. Beekeepers send "
     "samples of brood for virus testing, a mating station in the mountains keeps the "
     "selected line pure, and the breeders' union distributes daughter queens each spring. "
     "Honey from every apiary is also tested for residues of the acaricides in use.",
     800, "closed"),
]


def seed(tenant: Tenant, platform: User) -> list[Project]:
    """Add the demo projects to ``tenant`` (the ISTC demo center only)."""
    if tenant.slug != "istc-demo":
        return []
    current = db.session.scalar(select(Call).order_by(Call.id))
    now = clock.now()
    # The projects answered an earlier call, open while they applied and closed since.
    call = Call(title="Regional research for health and environment 2024",
                description=current.description, topics=current.topics,
                eligible_countries=current.eligible_countries,
                opens_at=now - dt.timedelta(days=1000), closes_at=now - dt.timedelta(days=110),
                budget_ceiling=current.budget_ceiling, max_duration_months=36,
                overhead_cap_percent=15, required_attachments=current.required_attachments,
                rubric=current.rubric, created_at=now - dt.timedelta(days=1000))
    call.donors = [CallDonor(donor_id=cd.donor_id, offered=cd.offered) for cd in current.donors]
    db.session.add(call)
    db.session.flush()
    lead = db.session.scalar(select(Institute).order_by(Institute.id))
    partner = db.session.scalars(select(Institute).order_by(Institute.id)).all()[4]
    admin = _member(Role.admin)
    applicant = accounts.find_user("aigerim.nurlanovna@ncpt.example")
    made = []
    for title, abstract, days, story in PROJECTS:
        with clock.frozen_at(clock.now() - dt.timedelta(days=days)):
            proposal = _funded(call, applicant, title, abstract, lead, partner, platform)
            project = _countersigned(proposal, admin, tenant)
        _live(project, story, tenant, admin, applicant, days)
        made.append(project)
    return made


def _member(role: Role) -> User:
    return db.session.scalar(select(User).join(Membership, Membership.user_id == User.id)
                             .where(Membership.role == role).order_by(User.id))


def _funded(call: Call, applicant: User, title: str, abstract: str, lead: Institute,
            partner: Institute, platform: User) -> Proposal:
    from center.demo import _demo_pdf
    from center.proposals import services as proposals

    p = proposals.start_proposal(call, by=applicant)
    proposals.update_sections(p, "overview", by=applicant, expected_revision=None, title=title,
                              abstract=abstract, objectives="See the abstract.",
                              keywords="demo project", topic=call.topics[0], duration_months=24)
    proposals.add_partner(p, lead, lead=True, by=applicant)
    proposals.add_partner(p, partner, lead=False, by=applicant)
    pi = proposals.add_team_member(p, by=applicant, name=applicant.name, email=applicant.email,
                                   role="principal_investigator", institute_id=lead.id,
                                   citizenship=lead.country_code)
    proposals.add_task(p, by=applicant, efforts={pi.id: 60}, title="Field measurements",
                       institute_id=lead.id, start_month=1, end_month=12)
    proposals.add_task(p, by=applicant, efforts={pi.id: 40}, title="Analysis and publication",
                       institute_id=lead.id, start_month=10, end_month=24)
    donors = list(db.session.scalars(select(Donor).order_by(Donor.id)))[:2]
    proposals.add_budget_line(p, by=applicant, category="personnel",
                              description="Scientists' grants", amount=100_000_00,
                              splits={donors[0].id: 60_000_00, donors[1].id: 40_000_00})
    proposals.add_budget_line(p, by=applicant, category="equipment",
                              description="Field equipment", amount=20_000_00,
                              institute_id=lead.id,
                              splits={donors[0].id: 12_000_00, donors[1].id: 8_000_00})
    proposals.update_sections(p, "ip", by=applicant, expected_revision=None,
                              foreground_ip="joint", foreground_ip_terms="",
                              publication_policy="Open access.")
    for kind in call.required_attachments:
        proposals.upload_attachment(p, by=applicant, kind=kind, filename=f"{kind}.pdf",
                                    data=_demo_pdf(title))
    workflow.fire(p, "submit", by=applicant, roles=frozenset({Role.applicant}),
                  declaration=str(proposals.DECLARATION))
    # Screening, concurrence and review have demos of their own: set this one's outcome.
    old, p.status = p.status, ProposalStatus.funding
    audit.record("proposal.demo_setup", p, actor=platform, from_state=old,
                 to_state=ProposalStatus.funding)
    db.session.flush()
    funding.open_funding(p)
    for donor_id, amount in funded_split.asked_by_donor(p).items():
        donor = db.session.get(Donor, donor_id)
        delegate = next(d.user for d in funding.delegates() if d.donor_id == donor_id)
        funding.commit(p, donor, amount, by=delegate)
    return p


def _countersigned(proposal: Proposal, admin: User, tenant: Tenant) -> Project:
    agreement = agreements.generate_agreement(proposal, by=admin, tenant=tenant)
    agreements.issue_agreement(agreement, by=admin, roles=ADMIN, tenant=tenant)
    signatory = agreements.lead_signatories(agreement)[0]
    agreements.acknowledge(agreement, by=signatory, party=Party.lead_institute, donor_id=None,
                           typed_name=signatory.name, sha256=agreement.sha256)
    for donor_id in agreement.donor_ids:
        delegate = agreements.donor_delegates(agreement, donor_id)[0]
        agreements.acknowledge(agreement, by=delegate, party=Party.donor, donor_id=donor_id,
                               typed_name=delegate.name, sha256=agreement.sha256)
    agreements.countersign(agreement, by=admin, roles=ADMIN, typed_name=admin.name,
                           tenant=tenant)
    return project_of(proposal)


def _write(period, applicant: User, story: str) -> reports.Report:  # noqa: ANN001
    report = reports.start_report(period, by=applicant)
    reports.save_draft(report, by=applicant, expected_version=report.version, sections={
        "summary": f"Work of months {period.first_month} to {period.last_month} went to plan.",
        "results": f"Months {period.first_month} to {period.last_month}: {RESULTS[story]}",
        "problems": "", "next_steps": "Continue as planned."},
        progress={row["task_id"]: ("in_progress", "On schedule") for row in report.progress})
    return report


def _live(project: Project, story: str, tenant: Tenant, admin: User, applicant: User,
          days: int) -> None:
    """Move the project along its reports and tranches as far as its story goes."""
    officer = _member(Role.officer)
    team, staff = frozenset({Role.applicant}), frozenset({Role.officer})
    today = clock.now().date()
    past = [p for p in project.periods if p.due_on <= today]
    if story == "overdue":
        _write(project.periods[0], applicant, story)  # started, never submitted
    elif story == "submitted":
        report = _write(project.periods[0], applicant, story)
        reports.fire(report, "submit", by=applicant, roles=team, tenant=tenant)
    elif story in ("paying", "closed"):
        chosen = project.periods if story == "closed" else past
        for period in chosen:
            report = _write(period, applicant, story)
            reports.fire(report, "submit", by=applicant, roles=team, tenant=tenant)
            reports.fire(report, "accept", by=officer, roles=staff, tenant=tenant)
        if story == "paying":
            upcoming = next(p for p in project.periods if p not in past)
            report = _write(upcoming, applicant, story)
            reports.fire(report, "submit", by=applicant, roles=team, tenant=tenant)
            reports.fire(report, "request_changes", by=officer, roles=staff, tenant=tenant,
                         reason="Add the calibration curves of the sensors.")
        for t in project.tranches:
            if t.status != "due":
                continue
            tranches.fire(t, "approve", by=officer, roles=staff)
            if story == "closed" and t.number == 3:
                tranches.fire(t, "cancel", by=officer, roles=staff,
                              reason="Savings on equipment returned to the donor.")
            elif story == "closed" or t.number == 1:
                tranches.fire(t, "pay", by=admin, roles=ADMIN, reference=f"PAY-{t.id:05d}",
                              paid_on=today - dt.timedelta(days=min(days, 30)),
                              timezone=tenant.timezone)
    _post_award(project, story, tenant, admin, applicant)
    if story == "closed":
        workflow.fire(project.proposal, "close", by=admin, roles=ADMIN)
    db.session.flush()


# --- time cards, change requests, equipment and visits --------------------------------------

#: What each project's reports say they achieved, in its own words (reports of different
#: projects must not repeat each other: the double-claim check would flag them).
RESULTS = {
    "overdue": "Nine snow-pack sensors logged depth and temperature on the Kim-Asar pass.",
    "submitted": "Salinity maps of 1,200 hectares were drawn from the induction surveys.",
    "paying": "Forty particulate sensors were calibrated against the two reference monitors.",
    "closed": "Winter losses and mite loads were recorded in 140 colonies of four regions.",
}


def _post_award(project: Project, story: str, tenant: Tenant, admin: User,
                applicant: User) -> None:
    """Time cards, change requests in every state, equipment and a visit, per the story:

    - *overdue*: two time cards (one accepted), a no-cost extension waiting for the officer,
      a sensor set registered but not yet seen on a visit;
    - *submitted*: a time card returned for correction, a change of team withdrawn;
    - *paying*: accepted time cards; a redirection within the limit approved by the officer
      with its amendment, a larger one with the donors (one has agreed), an extension
      rejected; two items of equipment, one confirmed on a visit that left an open action;
    - *closed*: accepted time cards; its equipment confirmed and handed over.
    """
    from center.amendments import services as changes
    from center.amendments.models import ChangeKind
    from center.effort import services as effort
    from center.monitoring import services as monitoring

    officer = _member(Role.officer)
    proposal = project.proposal
    staff = frozenset({Role.officer})
    agreement = changes.project_agreement(proposal)
    start = changes.start_on(proposal, agreement, tenant).replace(day=1)
    months = [changes.add_months(start, n) for n in range(3)]
    member, task = proposal.team[0], proposal.tasks[0]
    cards = [effort.enter_card(proposal, member=member, task=task, month=month, days=days,
                               by=applicant, tenant=tenant)
             for month, days in zip(months, {"overdue": (10, 8), "submitted": (6,),
                                             "paying": (12, 11, 9),
                                             "closed": (7, 7, 7)}[story], strict=False)]
    for card in cards:
        if story == "submitted":
            effort.decide_card(card, "return", by=officer, expected_version=card.version,
                               reason="Month 1 had nine working days on the plots, not six.")
        elif story != "overdue" or card is cards[0]:
            effort.decide_card(card, "accept", by=officer, expected_version=card.version)
    personnel, equipment_line = proposal.budget_lines[0], proposal.budget_lines[1]

    def request(kind: ChangeKind, why: str, **fields):  # noqa: ANN003, ANN202
        return changes.request_change(proposal, kind, by=applicant, tenant=tenant,
                                      justification=why, **fields)

    def fire(change, action: str, by: User, roles=staff, comment: str = "") -> None:  # noqa: ANN001
        changes.fire(change, action, by=by, roles=roles, tenant=tenant,
                     expected_version=change.version, comment=comment)

    if story == "overdue":
        request(ChangeKind.extension, "The winter came late: the sensors need one more season.",
                new_end_on=changes.end_on(proposal, agreement, tenant) + dt.timedelta(days=90))
        monitoring.register_equipment(proposal, line=equipment_line, item="Snow-pack sensor set",
                                      cost=8_000_00, location="Kim-Asar pass, 2,800 m",
                                      serial="SPS-0191", by=applicant)
    elif story == "submitted":
        change = request(ChangeKind.team_change, "A soil chemist from the partner institute "
                         "would join the team for the leaching trials.")
        fire(change, "withdraw", applicant, frozenset({Role.applicant}))
    elif story == "paying":
        approved = request(ChangeKind.redirection, "Two more reference-grade sensors replace "
                           "the ones damaged by the winter frost.",
                           moves=[{"from_line_id": personnel.id, "to_line_id": equipment_line.id,
                                   "amount": 5_000_00}])
        fire(approved, "approve", officer)
        large = request(ChangeKind.redirection, "A mobile laboratory for the private housing "
                        "districts, instead of a second field team.",
                        moves=[{"from_line_id": personnel.id, "to_line_id": equipment_line.id,
                                "amount": 25_000_00}])
        fire(large, "forward", officer)
        first_donor = large.agreement.donor_ids[0]
        fire(large, "donor_approve", agreements.donor_delegates(large.agreement, first_donor)[0],
             frozenset({Role.reviewer}), "Agreed: the laboratory serves the whole city.")
        refused = request(ChangeKind.extension, "Another winter of measurements.",
                          new_end_on=changes.end_on(proposal, agreement, tenant)
                          + dt.timedelta(days=180))
        fire(refused, "reject", officer, comment="The project has time enough left; ask again "
             "in its last six months.")
        seen = monitoring.register_equipment(
            proposal, line=equipment_line, item="Reference particulate monitor", cost=9_000_00,
            location="Almaty, Medeu district school No. 12", serial="PM-REF-2231", by=applicant)
        monitoring.register_equipment(
            proposal, line=equipment_line, item="Calibration chamber", cost=4_000_00,
            location="Institute laboratory, room 214", serial="CAL-77", by=applicant)
        monitoring.record_visit(
            proposal, visited_on=clock.now().date() - dt.timedelta(days=20),
            visitor=officer.name, findings="The reference monitor runs on the school's roof; "
            "the pupils keep the log book. The calibration chamber was not yet delivered.",
            confirmed=[seen], actions=[monitoring.ActionInput(
                "Send the delivery note of the calibration chamber", applicant.name,
                clock.now().date() + dt.timedelta(days=25))], by=officer)
    elif story == "closed":
        hive = monitoring.register_equipment(
            proposal, line=equipment_line, item="Queen mating station hives (set of 40)",
            cost=6_000_00, location="Mating station, Ile-Alatau", serial="", by=applicant)
        visit = monitoring.record_visit(
            proposal, visited_on=clock.now().date() - dt.timedelta(days=5),
            visitor=officer.name, findings="The mating station is in use; all forty hives seen.",
            confirmed=[hive], actions=[monitoring.ActionInput(
                "Hand the hives over to the breeders' union", applicant.name,
                clock.now().date())], by=officer)
        monitoring.close_action(visit.actions[0], by=officer,
                                expected_version=visit.actions[0].version)
        monitoring.hand_over(hive, to="Breeders' union of Kazakhstan", by=officer,
                             expected_version=hive.version)
