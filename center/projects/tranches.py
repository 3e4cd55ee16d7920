"""The tranche state machine: planned → due → approved → paid, or cancelled with a reason.

| transition | from | to | who |
| --- | --- | --- | --- |
| ``release`` | planned | due | the portal: its report accepted, or countersignature |
| ``approve`` | due | approved | officer; the releasing report must be accepted |
| ``pay`` | approved | paid | officer or administrator, with the payment's reference and date |
| ``cancel`` | planned, due, approved | cancelled | officer or administrator, with a reason |

Money never moves in the portal: ``pay`` records what the center's finance did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from center.core import clock
from center.projects.machine import Machine, System
from center.projects.models import ProjectStatus, Tranche, TrancheStatus
from center.tenants.models import Role

T = TrancheStatus
machine = Machine("tranche", _l("tranche"))
machine.add("release", {T.planned}, T.due, set(), "Release", system=True)
machine.add("approve", {T.due}, T.approved, {Role.officer}, "Approve the tranche")
machine.add("pay", {T.approved}, T.paid, {Role.officer, Role.admin}, "Record the payment")
machine.add("cancel", {T.planned, T.due, T.approved}, T.cancelled, {Role.officer, Role.admin},
            "Cancel the tranche", needs_reason=True)

#: The portal's own actor for releasing tranches.
RELEASED_BY_REPORT = System("report accepted")
RELEASED_AT_START = System("agreement countersigned")


def fire(tranche: Tranche, name: str, **kwargs: Any) -> None:
    machine.fire(tranche, name, **kwargs)


@machine.guard("release")
@machine.guard("approve")
def _report_accepted(tranche: Tranche, by: Any, context: dict[str, Any]) -> list[str]:
    """The report that releases the tranche is accepted."""
    if tranche.released:
        return []
    return [_("%(report)s releases this tranche; it is not accepted yet.",
              report=tranche.period.title if tranche.period else _("The report"))]


@machine.guard("approve")
@machine.guard("pay")
@machine.guard("cancel")
def _project_active(tranche: Tranche, by: Any, context: dict[str, Any]) -> list[str]:
    """The project is active."""
    if tranche.project.status != ProjectStatus.active:
        return [_("The project is closed.")]
    return []


@machine.guard("pay")
def _payment_given(tranche: Tranche, by: Any, context: dict[str, Any]) -> list[str]:
    """The payment's reference and a date that is not in the future."""
    problems = []
    if not str(context.get("reference") or "").strip():
        problems.append(_("Give the payment's reference."))
    paid_on = context.get("paid_on")
    if not isinstance(paid_on, dt.date):
        problems.append(_("Give the date of the payment."))
    else:
        zone = ZoneInfo(context.get("timezone") or "UTC")
        if paid_on > clock.now().astimezone(zone).date():
            problems.append(_("The date of the payment is in the future."))
    return problems


@machine.effect("release")
def _released(tranche: Tranche, by: Any, context: dict[str, Any]) -> None:
    tranche.due_at = clock.now()


@machine.effect("approve")
def _approved(tranche: Tranche, by: Any, context: dict[str, Any]) -> None:
    tranche.approved_at = clock.now()
    tranche.approved_by_id = by.id


@machine.effect("pay")
def _paid(tranche: Tranche, by: Any, context: dict[str, Any]) -> None:
    tranche.paid_on = context["paid_on"]
    tranche.payment_reference = str(context["reference"]).strip()[:100]
    tranche.paid_recorded_by_id = by.id


@machine.effect("cancel")
def _cancelled(tranche: Tranche, by: Any, context: dict[str, Any]) -> None:
    tranche.cancelled_at = clock.now()
    tranche.cancel_reason = context["reason"]


def release_due(tranches: list[Tranche], by: System) -> int:
    """Fire ``release`` on each planned tranche whose report is accepted; return how many."""
    released = 0
    for tranche in tranches:
        if tranche.status == T.planned and tranche.released:
            fire(tranche, "release", by=by, roles=frozenset())
            released += 1
    return released
