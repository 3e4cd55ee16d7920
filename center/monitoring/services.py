"""Equipment registers and monitoring visits of active projects.

Equipment bought under an equipment budget line is registered by the project's applicants
(item, cost, location, serial number) and confirmed by the officer on a monitoring visit;
at close-out it is handed over to the institute that keeps it. `equipment_settled` is what
the close-out asks: every item confirmed and handed over.

Every function flushes, never commits, and records an audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from center.amendments.services import project_agreement
from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.monitoring.models import Equipment, FollowUpAction, MonitoringVisit
from center.proposals.models import BudgetCategory, BudgetLine, Proposal


class MonitoringError(Exception):
    """Something that cannot be recorded; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _active(proposal: Proposal) -> None:
    if project_agreement(proposal) is None:
        raise MonitoringError(_("This is recorded for active projects only."))


def register_equipment(proposal: Proposal, *, line: BudgetLine, item: str, cost: int,
                       location: str, serial: str, by: User) -> Equipment:
    """Register an item bought under an equipment line. Effects: the row; an audit event."""
    _active(proposal)
    if line.proposal_id != proposal.id or line.category != BudgetCategory.equipment:
        raise MonitoringError(_("Choose an equipment line of this project's budget."), "line")
    if cost <= 0:
        raise MonitoringError(_("The cost must be more than zero."), "cost")
    spent = sum(e.cost for e in equipment_of(proposal) if e.line_id == line.id)
    if spent + cost > line.amount:
        raise MonitoringError(_("The line holds %(left)s more; this item costs more.",
                                left=line.amount - spent), "cost")
    if not item.strip() or not location.strip():
        raise MonitoringError(_("Name the item and where it is."), "item")
    equipment = Equipment(proposal_id=proposal.id, line_id=line.id, item=item.strip()[:300],
                          cost=cost, location=location.strip()[:300],
                          serial=serial.strip()[:120], registered_at=clock.now(),
                          registered_by_id=by.id)
    db.session.add(equipment)
    db.session.flush()
    audit.record("equipment.registered", equipment, actor=by, proposal=proposal.id,
                 item=equipment.item, amount=cost, serial=equipment.serial)
    return equipment


@dataclass
class ActionInput:
    description: str
    owner: str
    due_on: dt.date


def record_visit(proposal: Proposal, *, visited_on: dt.date, visitor: str, findings: str,
                 confirmed: Sequence[Equipment], actions: Sequence[ActionInput],
                 by: User) -> MonitoringVisit:
    """Record a monitoring visit: findings, the equipment seen in place, follow-up actions.

    Effects: the visit and its open actions; each confirmed item linked to the visit; an
    audit event.
    """
    _active(proposal)
    if visited_on > clock.now().date():
        raise MonitoringError(_("A visit is recorded once it took place."), "visited_on")
    if not visitor.strip():
        raise MonitoringError(_("Name the visitor."), "visitor")
    if not findings.strip():
        raise MonitoringError(_("Write down what the visit found."), "findings")
    for item in confirmed:
        if item.proposal_id != proposal.id:
            raise MonitoringError(_("Confirm this project's equipment only."), "confirmed")
    for action in actions:
        if not action.description.strip() or not action.owner.strip():
            raise MonitoringError(_("Each follow-up action needs what and who."), "actions")
        if action.due_on < visited_on:
            raise MonitoringError(_("An action falls due after the visit."), "actions")
    visit = MonitoringVisit(proposal_id=proposal.id, visited_on=visited_on,
                            visitor=visitor.strip()[:200], findings=findings.strip(),
                            recorded_at=clock.now(), recorded_by_id=by.id)
    visit.actions = [FollowUpAction(description=a.description.strip(), owner=a.owner.strip()[:200],
                                    due_on=a.due_on) for a in actions]
    db.session.add(visit)
    db.session.flush()
    for item in confirmed:
        item.confirmed_visit_id = visit.id
    db.session.flush()
    audit.record("visit.recorded", visit, actor=by, proposal=proposal.id,
                 visited_on=visited_on.isoformat(), confirmed=[i.id for i in confirmed],
                 actions=len(visit.actions))
    return visit


def close_action(action: FollowUpAction, *, by: User, expected_version: int) -> None:
    """Mark a follow-up action done (open → done)."""
    if not action.is_open:
        raise MonitoringError(_("This action is already done."))
    if action.version != expected_version:
        raise MonitoringError(_("Someone changed this action meanwhile. Reload and check."))
    action.done_at, action.done_by_id = clock.now(), by.id
    db.session.flush()
    audit.record("visit.action_done", action, actor=by, from_state="open", to_state="done",
                 visit=action.visit_id)


def hand_over(item: Equipment, *, to: str, by: User, expected_version: int) -> None:
    """Record that a confirmed item was handed over to the institute that keeps it."""
    if not item.confirmed:
        raise MonitoringError(_("Confirm the item on a monitoring visit first."), "to")
    if item.handed_over_at is not None:
        raise MonitoringError(_("This item was already handed over."), "to")
    if item.version != expected_version:
        raise MonitoringError(_("Someone changed this item meanwhile. Reload and check."), "to")
    if not to.strip():
        raise MonitoringError(_("Name who received it."), "to")
    item.handed_over_at, item.handed_over_to = clock.now(), to.strip()[:300]
    db.session.flush()
    audit.record("equipment.handed_over", item, actor=by, to=item.handed_over_to)


# --- reading ------------------------------------------------------------------------------

def equipment_of(proposal: Proposal) -> list[Equipment]:
    return list(db.session.scalars(select(Equipment).where(Equipment.proposal_id == proposal.id)
                                   .order_by(Equipment.id)))


def visits_of(proposal: Proposal) -> list[MonitoringVisit]:
    return list(db.session.scalars(select(MonitoringVisit).where(
        MonitoringVisit.proposal_id == proposal.id).order_by(MonitoringVisit.visited_on.desc(),
                                                             MonitoringVisit.id.desc())))


def equipment_outstanding(proposal: Proposal) -> list[Equipment]:
    """Items not yet confirmed on a visit or not yet handed over."""
    return [e for e in equipment_of(proposal) if not e.confirmed or e.handed_over_at is None]


def equipment_settled(proposal: Proposal) -> bool:
    """For the close-out: is every registered item confirmed on a visit and handed over?"""
    return not equipment_outstanding(proposal)


def open_actions(limit: int = 100) -> list[FollowUpAction]:
    """Follow-up actions still open across the center, soonest due first."""
    return list(db.session.scalars(select(FollowUpAction).where(FollowUpAction.done_at.is_(None))
                                   .order_by(FollowUpAction.due_on).limit(limit)))
