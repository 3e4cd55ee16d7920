"""Time cards: entering, accepting and returning the days a team member worked.

The caps, checked every time a card is entered or changed:

- **Working days of a month.** A person's days in one calendar month, across every active
  project of the center, cannot exceed that month's working days: its weekdays (Monday to
  Friday; public holidays differ between partner countries and are not deducted). A person
  is the same across projects as screening counts them
  (`center.screening.services.same_person`: the same e-mail, or the same name in any
  script or word order).
- **The work plan.** A member's days on a task over the whole project cannot exceed the
  days the plan gives (`TaskEffort`) plus the days granted by approved change requests
  (`center.amendments.services.extra_days_granted`, a redirection or team change).
- The month lies within the project (`center.amendments.services.start_on` .. ``end_on``)
  and within the task's months of the work plan.

Returned cards count for neither cap. An accepted card fixes the member's **daily rate**:
the personnel budget lines of the member's institute (as amended) divided by the days the
work plan gives that institute's team members, in minor units, rounded down. Payment due
for a card is its days × that rate (`payments`).

Every function flushes, never commits, and records an audit event.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from center.amendments import services as projects
from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.effort.models import CardStatus, TimeCard
from center.proposals.models import (
    BudgetCategory,
    Proposal,
    ProposalStatus,
    Task,
    TaskEffort,
    TeamMember,
)
from center.screening.services import same_person
from center.tenants.models import Tenant


class EffortError(Exception):
    """A time card that cannot be entered or moved; ``field`` names the form field."""

    def __init__(self, message: str, field: str = "days") -> None:
        super().__init__(message)
        self.field = field


def working_days(month: dt.date) -> int:
    """The weekdays (Monday to Friday) of ``month``'s calendar month."""
    days = calendar.monthrange(month.year, month.month)[1]
    return sum(1 for d in range(1, days + 1)
               if dt.date(month.year, month.month, d).weekday() < 5)


def _month_number(proposal: Proposal, month: dt.date, tenant: Tenant) -> int:
    """Month of the work plan (1 = the project's first month) that ``month`` is."""
    agreement = projects.project_agreement(proposal)
    start = projects.start_on(proposal, agreement, tenant)
    return (month.year - start.year) * 12 + month.month - start.month + 1


def days_elsewhere(member: TeamMember, month: dt.date, *, exclude_card: int | None = None
                   ) -> int:
    """The person's counted days in ``month`` on every active project's cards."""
    rows = db.session.execute(
        select(TimeCard.id, TimeCard.days, TeamMember.name, TeamMember.email, TeamMember.orcid)
        .join(TeamMember, TeamMember.id == TimeCard.member_id)
        .join(Proposal, Proposal.id == TimeCard.proposal_id)
        .where(TimeCard.month == month, TimeCard.status != CardStatus.returned,
               Proposal.status == ProposalStatus.active))
    return sum(days for card_id, days, name, email, orcid in rows
               if card_id != exclude_card and same_person(member.name, member.email, name,
                                                          email, a_orcid=member.orcid,
                                                          b_orcid=orcid))


def task_days_allowed(member: TeamMember, task: Task) -> int:
    planned = db.session.scalar(select(TaskEffort.days).where(
        TaskEffort.member_id == member.id, TaskEffort.task_id == task.id)) or 0
    return planned + projects.extra_days_granted(task.proposal).get((member.id, task.id), 0)


def task_days_used(member: TeamMember, task: Task, *, exclude_card: int | None = None) -> int:
    return sum(c.days for c in db.session.scalars(select(TimeCard).where(
        TimeCard.member_id == member.id, TimeCard.task_id == task.id,
        TimeCard.status != CardStatus.returned)) if c.id != exclude_card)


def _check(proposal: Proposal, member: TeamMember, task: Task, month: dt.date, days: int,
           tenant: Tenant, card_id: int | None) -> None:
    if projects.project_agreement(proposal) is None:
        raise EffortError(_("Time cards are kept for active projects only."), "member")
    if member.proposal_id != proposal.id:
        raise EffortError(_("Choose a member of this project's team."), "member")
    if task.proposal_id != proposal.id:
        raise EffortError(_("Choose a task of this project's work plan."), "task")
    if month.day != 1:
        raise EffortError(_("A time card is for a whole month."), "month")
    if not 0 < days <= 31:
        raise EffortError(_("Enter between 1 and 31 days."))
    number = _month_number(proposal, month, tenant)
    agreement = projects.project_agreement(proposal)
    if month < projects.start_on(proposal, agreement, tenant).replace(day=1) or (
            month > projects.end_on(proposal, agreement, tenant)):
        raise EffortError(_("The project does not run in that month."), "month")
    if not task.start_month <= number <= task.end_month:
        raise EffortError(_("The task runs in months %(a)s–%(b)s of the work plan; this is "
                            "month %(n)s.", a=task.start_month, b=task.end_month, n=number),
                          "month")
    cap = working_days(month)
    used = days_elsewhere(member, month, exclude_card=card_id)
    if used + days > cap:
        raise EffortError(_("%(name)s already has %(used)s days in this month across the "
                            "center's projects; the month has %(cap)s working days, so at "
                            "most %(left)s more.", name=member.name, used=used, cap=cap,
                            left=max(cap - used, 0)))
    allowed = task_days_allowed(member, task)
    spent = task_days_used(member, task, exclude_card=card_id)
    if spent + days > allowed:
        raise EffortError(_("The work plan gives %(name)s %(allowed)s days on this task and "
                            "%(spent)s are entered: going over needs an approved "
                            "redirection.", name=member.name, allowed=allowed, spent=spent))


def enter_card(proposal: Proposal, *, member: TeamMember, task: Task, month: dt.date,
               days: int, by: User, tenant: Tenant,
               expected_version: int | None = None) -> TimeCard:
    """Enter (or correct) a member's days on a task in a month.

    A card already accepted cannot be changed; a returned one is entered again. Effects: the
    card with status ``entered``; an audit event with the days before and after.
    """
    month = month.replace(day=1)
    card = db.session.scalar(select(TimeCard).where(
        TimeCard.member_id == member.id, TimeCard.task_id == task.id, TimeCard.month == month))
    if card is not None:
        if card.status == CardStatus.accepted:
            raise EffortError(_("This month's card was accepted and can no longer change."))
        if expected_version is not None and card.version != expected_version:
            raise EffortError(_("Someone changed this card meanwhile. Reload and check."))
    _check(proposal, member, task, month, days, tenant, card.id if card else None)
    old = card.days if card else None
    old_state = card.status if card else None
    if card is None:
        card = TimeCard(proposal_id=proposal.id, member_id=member.id, task_id=task.id,
                        month=month, days=days, status=CardStatus.entered,
                        entered_at=clock.now(), entered_by_id=by.id)
        db.session.add(card)
    else:
        card.days, card.status, card.return_reason = days, CardStatus.entered, ""
        card.entered_at, card.entered_by_id = clock.now(), by.id
    db.session.flush()
    audit.record("effort.entered", card, actor=by, from_state=old_state,
                 to_state=CardStatus.entered, proposal=proposal.id, member=member.name,
                 month=month.isoformat(), days=days, previous_days=old)
    return card


#: (from state, action) -> state reached; `decide_card` enforces it.
TRANSITIONS = {
    (CardStatus.entered, "accept"): CardStatus.accepted,
    (CardStatus.entered, "return"): CardStatus.returned,
}


def daily_rate(member: TeamMember) -> int:
    """The member's daily rate in minor units: the personnel money of their institute (as
    amended) over the days the work plan gives that institute's team."""
    proposal = member.proposal
    amounts = projects.current_line_amounts(proposal)
    money = sum(amounts[line.id] for line in proposal.budget_lines
                if line.category == BudgetCategory.personnel
                and line.institute_id == member.institute_id)
    days = sum(e.days for m in proposal.team if m.institute_id == member.institute_id
               for e in m.efforts)
    return money // days if days else 0


def decide_card(card: TimeCard, action: str, *, by: User, expected_version: int,
                reason: str = "") -> None:
    """Accept a card (its days become payable at the member's daily rate) or return it
    with a reason. Effects: status, time, rate or reason; an audit event."""
    target = TRANSITIONS.get((CardStatus(card.status), action))
    if target is None:
        raise EffortError(_("This card is %(state)s; it cannot be %(action)s now.",
                            state=card.status_label, action=action))
    if card.version != expected_version:
        raise EffortError(_("Someone changed this card meanwhile. Reload and check."))
    if action == "return" and not reason.strip():
        raise EffortError(_("Say why the card goes back."), "reason")
    old = card.status
    rate = daily_rate(card.member) if target == CardStatus.accepted else None
    card.status = target
    if target == CardStatus.accepted:
        card.accepted_at, card.accepted_by_id, card.daily_rate = clock.now(), by.id, rate
    else:
        card.return_reason = reason.strip()
    db.session.flush()
    audit.record(f"effort.{target}", card,
                 actor=by, from_state=old, to_state=target, days=card.days,
                 daily_rate=card.daily_rate, reason=card.return_reason)


# --- reading ------------------------------------------------------------------------------

def cards_of(proposal: Proposal) -> list[TimeCard]:
    return list(db.session.scalars(select(TimeCard).where(TimeCard.proposal_id == proposal.id)
                                   .order_by(TimeCard.month.desc(), TimeCard.id)))


@dataclass
class MonthPayments:
    """Accepted days and what they pay, per member, for one month."""

    month: dt.date
    rows: list[tuple[TeamMember, int, int]] = field(default_factory=list)  #: member, days, due

    @property
    def total(self) -> int:
        return sum(due for _m, _d, due in self.rows)


def payments(proposal: Proposal) -> list[MonthPayments]:
    """Grant payments per participant that follow from the accepted days, month by month."""
    by_month: dict[dt.date, dict[int, list[TimeCard]]] = {}
    for card in cards_of(proposal):
        if card.status == CardStatus.accepted:
            by_month.setdefault(card.month, {}).setdefault(card.member_id, []).append(card)
    result = []
    for month in sorted(by_month):
        entry = MonthPayments(month)
        for cards in by_month[month].values():
            entry.rows.append((cards[0].member, sum(c.days for c in cards),
                               sum(c.payment or 0 for c in cards)))
        entry.rows.sort(key=lambda r: r[0].name)
        result.append(entry)
    return result
