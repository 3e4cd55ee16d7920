"""Opening a project at countersignature, reading projects for pages and dashboards, and the
daily reminders against the reporting schedule.

`open_project` runs in the countersignature's transaction (`ON_COUNTERSIGNED` of
`center.agreements.services`): the donors' commitments, the reporting schedule
(`center.projects.plan`) and the tranches of the agreement's payment schedule are written
there, so an active project always has them. Every function flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from center.agreements import services as agreements
from center.agreements.models import Agreement
from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.jobs import N_, Job, task
from center.core.links import external_url
from center.core.notifications import send_email
from center.core.scheduler import register_tenant_task
from center.projects import plan, tranches
from center.projects.models import (
    REPORT_KIND_LABELS,
    Project,
    ProjectDonor,
    ProjectStatus,
    Report,
    ReportingPeriod,
    ReportKind,
    ReportStatus,
    Tranche,
    TrancheStatus,
)
from center.proposals import workflow
from center.proposals.models import Collaborator, Proposal
from center.reviews import funded_split
from center.tenants.models import Membership, Role, Tenant

#: Reminders go to the team this many days before a report is due (one at each).
REMINDER_DAYS_BEFORE = (14, 3)
#: The officer's dashboard lists reports due within this many days.
DUE_SOON_DAYS = 30


class ProjectError(workflow.TransitionError):
    """A project action that cannot happen; the message is for the user. A transition error
    of the proposal workflow, as opening and closing happen inside its transitions."""


def today(tenant: Tenant) -> dt.date:
    """Today in the center's zone: due dates are days there."""
    return clock.now().astimezone(ZoneInfo(tenant.timezone or "UTC")).date()


def project_of(proposal: Proposal) -> Project | None:
    return db.session.scalar(select(Project).where(Project.proposal_id == proposal.id))


# --- opening --------------------------------------------------------------------------------

def open_project(agreement: Agreement, by: User, tenant: Tenant) -> Project:
    """Create the project of a just-countersigned agreement with its schedule and tranches.

    The project starts on the day of countersignature in the center's zone and lasts the
    proposal's duration. Each donor's tranches split its commitment by the agreement's
    payment schedule (its percentages, the last tranche taking the rounding, as the
    agreement's own table), so they add up to the commitment exactly; a tranche whose
    condition is countersignature is released at once.
    """
    proposal = agreement.proposal
    if project_of(proposal) is not None:
        raise ProjectError(_("This proposal already has a project."))
    start = today(tenant)
    duration = int(proposal.duration_months or proposal.call.max_duration_months or 12)
    project = Project(proposal_id=proposal.id, agreement_id=agreement.id,
                      reference=agreement.reference, currency=agreement.currency,
                      status=ProjectStatus.active, starts_on=start,
                      ends_on=plan.add_months(start, duration) - dt.timedelta(days=1),
                      duration_months=duration, opened_at=clock.now())
    db.session.add(project)
    committed = funded_split.committed_by_donor(proposal)
    order = [int(s["donor_id"]) for s in agreement.donor_shares]
    for donor_id in sorted(committed, key=lambda d: (order.index(d) if d in order else 99, d)):
        project.donors.append(ProjectDonor(donor_id=donor_id, committed=committed[donor_id]))
    for number, planned in enumerate(plan.reporting_plan(start, duration), start=1):
        project.periods.append(ReportingPeriod(
            number=number, kind=planned.kind, first_month=planned.first_month,
            last_month=planned.last_month, starts_on=planned.starts_on,
            ends_on=planned.ends_on, due_on=planned.due_on))
    db.session.flush()
    schedule = [{"percent": t["percent"], "condition": t["condition"]}
                for t in agreement.schedule] or [{"percent": 100, "condition": "Final report"}]
    amounts = agreements.payment_schedule(
        [{"id": d.donor_id, "amount": d.committed} for d in project.donors], schedule)
    for number, (item, split) in enumerate(zip(schedule, amounts, strict=True), start=1):
        kind = plan.releasing_kind(item["condition"])
        period = None if kind is None else (plan.first_of_kind(project.periods, kind)
                                            or plan.first_of_kind(project.periods, "final"))
        for share in project.donors:
            amount = split["amounts"].get(str(share.donor_id), 0)
            if amount > 0:
                project.tranches.append(Tranche(
                    project_donor=share, number=number, percent=item["percent"],
                    condition=item["condition"][:300], amount=amount, period=period))
    db.session.flush()
    check_tranche_sums(project)
    audit.record("project.opened", project, actor=by, proposal=proposal.id,
                 agreement=agreement.id, periods=len(project.periods),
                 tranches=len(project.tranches), starts_on=start.isoformat())
    tranches.release_due(project.tranches, tranches.RELEASED_AT_START)
    return project


agreements.ON_COUNTERSIGNED.append(open_project)


def tranche_sum_problems(project: Project) -> list[str]:
    """Donors whose tranches do not add up to their commitment (the invariant), in words."""
    problems = []
    for share in project.donors:
        planned = sum(t.amount for t in project.tranches if t.project_donor is share)
        if planned != share.committed:
            problems.append(_("The tranches of %(donor)s add up to %(planned)s, not its "
                              "commitment of %(committed)s.", donor=share.donor.name,
                              planned=planned, committed=share.committed))
    return problems


def check_tranche_sums(project: Project) -> None:
    """Raise ProjectError unless every donor's tranches add up to its commitment."""
    problems = tranche_sum_problems(project)
    if problems:
        raise ProjectError(" ".join(problems))


# --- reading --------------------------------------------------------------------------------

def visible_projects(user: User, roles: frozenset[Role]) -> Select[Any]:
    """The projects ``user`` may read, newest first, as a query to paginate, with the
    proposal (the title) and the donors (what they committed) of each."""
    from center.agreements.permissions import reviewer_donor_ids

    query = (select(Project).join(Proposal, Proposal.id == Project.proposal_id)
             .options(contains_eager(Project.proposal), selectinload(Project.donors)))
    if not roles & {Role.admin, Role.officer}:
        mine = [Proposal.owner_id == user.id,
                Proposal.id.in_(select(Collaborator.proposal_id).where(
                    Collaborator.user_id == user.id, Collaborator.accepted_at.is_not(None)))]
        donors = reviewer_donor_ids(user) if Role.reviewer in roles else set()
        if donors:
            mine.append(_funded_unconflicted(user, donors))
        if Role.applicant not in roles:
            mine = mine[2:]
        if not mine:
            return query.where(Project.id.is_(None))
        query = query.where(or_(*mine))
    return query.order_by(Project.opened_at.desc(), Project.id.desc())


def _funded_unconflicted(user: User, donors: set[int]) -> Any:
    """The clause for projects one of ``donors`` funds and ``user`` has no conflict of
    interest with: `center.projects.permissions.access` opens no other to a reviewer, so
    the list must not show one that would answer 404 (conflicts are decided in Python,
    once for the donors' projects)."""
    from center.reviews.funding import conflicted_ids
    from center.reviews.services import CONFLICT_LOADS

    funded = select(ProjectDonor.project_id).where(ProjectDonor.donor_id.in_(donors))
    proposals = db.session.scalars(
        select(Proposal).join(Project, Project.proposal_id == Proposal.id)
        .where(Project.id.in_(funded)).options(*CONFLICT_LOADS)).unique().all()
    conflicted = conflicted_ids(user, proposals)
    clause = Project.id.in_(funded)
    return and_(clause, Proposal.id.not_in(conflicted)) if conflicted else clause


@dataclass
class Owed:
    """A report a project's team owes: its period, whether it is overdue, days left."""

    period: ReportingPeriod
    overdue: bool
    days_left: int


def _with_team() -> Any:
    """Periods whose report the team has still to write (none, draft or changes asked)."""
    return or_(Report.id.is_(None),
               Report.status.in_([ReportStatus.draft, ReportStatus.changes_requested]))


def owed(tenant: Tenant, *, project_ids: list[int] | None = None, within_days: int | None = None,
         limit: int = 20) -> list[Owed]:
    """Reports the teams owe (not submitted, or sent back), earliest due first."""
    day = today(tenant)
    query = (select(ReportingPeriod).join(Project, Project.id == ReportingPeriod.project_id)
             .outerjoin(Report, Report.period_id == ReportingPeriod.id)
             .where(Project.status == ProjectStatus.active, _with_team())
             .options(selectinload(ReportingPeriod.project).selectinload(Project.proposal),
                      selectinload(ReportingPeriod.report))
             .order_by(ReportingPeriod.due_on, ReportingPeriod.id).limit(limit))
    if project_ids is not None:
        query = query.where(ReportingPeriod.project_id.in_(project_ids or [0]))
    if within_days is not None:
        query = query.where(ReportingPeriod.due_on <= day + dt.timedelta(days=within_days))
    return [Owed(p, p.due_on < day, (p.due_on - day).days)
            for p in db.session.scalars(query)]


def reports_to_read(limit: int = 20) -> list[Report]:
    """Submitted reports waiting for a decision, oldest submission first."""
    return list(db.session.scalars(
        select(Report).where(Report.status == ReportStatus.submitted)
        .options(selectinload(Report.period),
                 selectinload(Report.project).selectinload(Project.proposal))
        .order_by(Report.submitted_at, Report.id).limit(limit)))


def tranches_waiting(limit: int = 20) -> list[Tranche]:
    """Tranches released and waiting for the officer's approval, then those approved and
    waiting for the payment to be recorded."""
    return list(db.session.scalars(
        select(Tranche).where(Tranche.status.in_([TrancheStatus.due, TrancheStatus.approved]))
        .options(selectinload(Tranche.project).selectinload(Project.proposal),
                 selectinload(Tranche.project_donor).selectinload(ProjectDonor.donor))
        .order_by(Tranche.status.desc(), Tranche.due_at, Tranche.id).limit(limit)))


def my_project_ids(user: User) -> list[int]:
    """The projects of which ``user`` is an applicant (lead or accepted co-applicant)."""
    return list(db.session.scalars(select(Project.id).join(
        Proposal, Proposal.id == Project.proposal_id).where(or_(
            Proposal.owner_id == user.id,
            Proposal.id.in_(select(Collaborator.proposal_id).where(
                Collaborator.user_id == user.id, Collaborator.accepted_at.is_not(None)))))))


@dataclass
class Figures:
    """What a project's money and reports stand at, from the records that decide them."""

    committed: int
    released: int
    approved: int
    paid: int
    cancelled: int
    reports_accepted: int
    reports_total: int

    @property
    def outstanding(self) -> int:
        return self.committed - self.paid - self.cancelled


#: What `figures` and `donor_figures` read of a project: load it with a list's projects.
FIGURE_LOADS = (selectinload(Project.donors).joinedload(ProjectDonor.donor),
                selectinload(Project.tranches),
                selectinload(Project.periods).selectinload(ReportingPeriod.report))


def figures(project: Project) -> Figures:
    by_status: dict[str, int] = {}
    for t in project.tranches:
        by_status[t.status] = by_status.get(t.status, 0) + t.amount
    return Figures(
        committed=project.committed,
        released=sum(by_status.get(s, 0) for s in (TrancheStatus.due, TrancheStatus.approved,
                                                   TrancheStatus.paid)),
        approved=by_status.get(TrancheStatus.approved, 0) + by_status.get(TrancheStatus.paid, 0),
        paid=by_status.get(TrancheStatus.paid, 0),
        cancelled=by_status.get(TrancheStatus.cancelled, 0),
        reports_accepted=sum(1 for p in project.periods if p.is_done),
        reports_total=len(project.periods))


def donor_figures(project: Project) -> list[dict[str, Any]]:
    """Per donor: committed, paid, cancelled and the share paid (percent, one decimal)."""
    rows = []
    for share in project.donors:
        mine = [t for t in project.tranches if t.project_donor_id == share.id]
        paid = sum(t.amount for t in mine if t.status == TrancheStatus.paid)
        cancelled = sum(t.amount for t in mine if t.status == TrancheStatus.cancelled)
        rows.append({"donor": share.donor, "committed": share.committed, "paid": paid,
                     "cancelled": cancelled,
                     "percent_paid": (Decimal(paid * 100) / share.committed).quantize(
                         Decimal("0.1"))})
    return rows


def counts() -> dict[str, int]:
    """Figures for the dashboards' headings."""
    return {"active": db.session.scalar(select(func.count()).select_from(Project).where(
        Project.status == ProjectStatus.active)) or 0}


# --- reminders ----------------------------------------------------------------------------

@dataclass
class ReminderRun:
    reminders: int = 0
    overdue_notices: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"reminders": self.reminders, "overdue_notices": self.overdue_notices}


def period_name(period: ReportingPeriod) -> Any:
    """The period's title ("Quarterly technical report 2") as a lazy string, for e-mail
    subjects rendered in each recipient's language."""
    return _l("%(kind)s %(number)s", kind=REPORT_KIND_LABELS[ReportKind(period.kind)],
              number=period.number)


def _officers() -> list[str]:
    return sorted(set(db.session.scalars(select(User.email).join(
        Membership, Membership.user_id == User.id).where(Membership.role == Role.officer))))


def send_reminders(tenant: Tenant) -> ReminderRun:
    """Remind teams of reports coming due and tell them and the officers once a report is
    overdue, in the tenant in scope, as of today in the center's zone.

    Before the due date the team gets a reminder at each of `REMINDER_DAYS_BEFORE`; a report
    still with the team after its due date is *overdue*: one notice to the team and the
    officers. Counters on the period make every run safe to repeat.
    """
    from center.projects.reports import team

    day = today(tenant)
    now = clock.now()
    run = ReminderRun()
    officers = _officers()
    for item in owed(tenant, limit=10_000):
        period, project = item.period, item.period.project
        url = external_url("projects.report", tenant=tenant.slug, project_id=project.id,
                           period_id=period.id)
        if item.overdue:
            if period.overdue_notice_at is None:
                period.overdue_notice_at = now
                for email in sorted(set(team(project)) | set(officers)):
                    send_email(email, _l("Overdue: %(report)s — %(title)s",
                                            report=period_name(period), title=project.title),
                               "report_overdue", tenant_id=tenant.id, period=period,
                               project=project, tenant=tenant, url=url)
                audit.record("report.overdue", period, actor=None, system="report overdue",
                             project=project.id, due_on=period.due_on.isoformat())
                run.overdue_notices += 1
            continue
        due = sum(1 for days in REMINDER_DAYS_BEFORE if day >= period.due_on
                  - dt.timedelta(days=days))
        if due > period.reminders_sent:
            period.reminders_sent = due
            period.reminded_at = now
            for email in team(project):
                send_email(email, _l("Reminder: %(report)s due on %(day)s — %(title)s",
                                     report=period_name(period), day=period.due_on.isoformat(),
                                     title=project.title), "report_reminder", tenant_id=tenant.id,
                           period=period, project=project, tenant=tenant, url=url,
                           days_left=item.days_left)
            audit.record("report.reminded", period, actor=None, system="report reminder",
                         project=project.id, reminder=due)
            run.reminders += 1
    db.session.flush()
    return run


@task("projects.reminders", _l("Reminding teams of their reports"))
def _reminders_job(job: Job) -> dict[str, Any]:
    """Run `send_reminders` for the job's tenant."""
    job.advance(0, 1, N_("checking due dates"))
    return send_reminders(db.session.get(Tenant, job.tenant_id)).as_dict()


# Daily, once per center, from the one scheduler process.
register_tenant_task("projects.reminders")
