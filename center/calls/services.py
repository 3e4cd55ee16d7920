"""Create and edit funding calls, choose their donors, and find calls to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import attributes, selectinload

from center.auth.models import User
from center.calls.models import CALL_STATES, Call, CallDonor
from center.core import audit, clock
from center.core.db import current_tenant_id, db
from center.tenants.models import Donor, Tenant

#: The columns of `Call` an officer sets; anything else given to a service is a mistake.
EDITABLE_FIELDS = frozenset({
    "title", "description", "topics", "eligible_countries", "opens_at", "closes_at",
    "budget_ceiling", "max_duration_months", "overhead_cap_percent", "required_attachments",
    "rubric", "review_mode",
})


class StaleEdit(Exception):
    """The call was saved by someone else after the editor loaded it."""

    def __init__(self, call: Call, expected_version: int) -> None:
        super().__init__(f"call {call.id} is at version {call.version}, "
                         f"the edit was made on version {expected_version}")
        self.current_version = call.version


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable call fields: {', '.join(sorted(unknown))}")


def create_call(*, by: User, offers: dict[int, int] | None = None, **fields: Any) -> Call:
    """Create a call in the tenant in scope, with its donors' offers (minor units).

    Effects: adds the call and one `CallDonor` per offer, records ``call.created``, flushes.
    """
    _check_fields(fields)
    call = Call(created_at=clock.now(), **fields)
    db.session.add(call)
    _apply_offers(call, offers or {})
    audit.record("call.created", call, actor=by, title=call.title, offers=offers or {},
                 budget_ceiling=call.budget_ceiling, currency=_currency(call))
    db.session.flush()
    return call


def update_call(call: Call, *, by: User, expected_version: int,
                offers: dict[int, int] | None = None, **fields: Any) -> None:
    """Save an officer's edit of ``call``, made on the version ``expected_version``.

    Raises `StaleEdit`, changing nothing, when the call was saved since that version. A
    change to the donors alone also moves the version on, so that no edit silently undoes
    another. Effects: sets the fields, replaces the offers when given, records
    ``call.updated`` with the names of the changed fields, flushes.
    """
    _check_fields(fields)
    if call.version != expected_version:
        raise StaleEdit(call, expected_version)
    changed = sorted(name for name, value in fields.items() if getattr(call, name) != value)
    for name in changed:
        setattr(call, name, fields[name])
    offer_changes = _apply_offers(call, offers) if offers is not None else {}
    if not changed and not offer_changes:
        return
    if not changed:
        _touch(call)
    audit.record("call.updated", call, actor=by, fields=changed, offers=offer_changes,
                 currency=_currency(call),
                 **({"budget_ceiling": call.budget_ceiling} if "budget_ceiling" in changed else {}))
    db.session.flush()


def set_call_donors(call: Call, offers: dict[int, int], *, by: User) -> None:
    """Make exactly the donors in ``offers`` take part in ``call``, each offering its amount.

    ``offers`` maps a donor id of the tenant in scope to an amount in minor units. Effects:
    adds, changes and removes `CallDonor` rows, moves the call's version on, records
    ``call.donors_set`` with what changed, flushes.
    """
    changes = _apply_offers(call, offers)
    if not changes:
        return
    _touch(call)
    audit.record("call.donors_set", call, actor=by, offers=changes, currency=_currency(call))
    db.session.flush()


def _currency(call: Call) -> str:
    """The currency of the call's tenant: offers and ceiling are in its minor units."""
    return db.session.get(Tenant, call.tenant_id or current_tenant_id()).currency


def _apply_offers(call: Call, offers: dict[int, int]) -> dict[int, int | None]:
    """Bring ``call.donors`` in line with ``offers``; return {donor id: new offer or None}."""
    if any(amount < 0 for amount in offers.values()):
        raise ValueError("an offer cannot be negative")
    # Scoped to the tenant, so a donor id of another tenant is unknown here.
    known = set(db.session.scalars(select(Donor.id).where(Donor.id.in_(offers))))
    if known != set(offers):
        raise ValueError(f"unknown donors: {sorted(set(offers) - known)}")
    changes: dict[int, int | None] = {}
    current = {cd.donor_id: cd for cd in call.donors}
    for donor_id, participation in current.items():
        if donor_id not in offers:
            call.donors.remove(participation)
            changes[donor_id] = None
        elif participation.offered != offers[donor_id]:
            participation.offered = offers[donor_id]
            changes[donor_id] = offers[donor_id]
    for donor_id, amount in offers.items():
        if donor_id not in current:
            call.donors.append(CallDonor(donor_id=donor_id, offered=amount))
            changes[donor_id] = amount
    return changes


def _touch(call: Call) -> None:
    # The donors live in another table; marking a column modified makes the flush UPDATE the
    # call row, which is what moves its version (optimistic locking) on.
    if call.id is not None:
        attributes.flag_modified(call, "title")


def get_call(call_id: int) -> Call | None:
    """Return the call of the tenant in scope with this id, if there is one."""
    return db.session.get(Call, call_id)


def open_calls(at: dt.datetime) -> list[Call]:
    """Return the calls open for proposals at ``at``, closing soonest first, with donors."""
    query = (select(Call).where(Call.opens_at <= at, Call.closes_at > at)
             .options(selectinload(Call.donors).selectinload(CallDonor.donor))
             .order_by(Call.closes_at, Call.id))
    return list(db.session.scalars(query))


def latest_calls(limit: int = 10) -> list[Call]:
    """Return the calls that opened or open last, most recent first."""
    return list(db.session.scalars(
        select(Call).order_by(Call.opens_at.desc(), Call.id.desc()).limit(limit)))


def calls_for_listing(state: str | None = None, search: str = "", *,
                      at: dt.datetime | None = None) -> Select:
    """Return a query for the call list: in ``state`` at ``at`` (default now), titles
    containing ``search``, in the order that suits the state."""
    at = at or clock.now()
    query = select(Call).options(selectinload(Call.donors).selectinload(CallDonor.donor))
    if state == "open":
        query = query.where(Call.opens_at <= at, Call.closes_at > at).order_by(Call.closes_at)
    elif state == "upcoming":
        query = query.where(Call.opens_at > at).order_by(Call.opens_at)
    elif state == "closed":
        query = query.where(Call.closes_at <= at).order_by(Call.closes_at.desc())
    elif state:
        raise ValueError(f"unknown call state {state!r}; one of {', '.join(CALL_STATES)}")
    else:
        query = query.order_by(Call.opens_at.desc())
    search = search.strip()
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Call.title.ilike(f"%{escaped}%", escape="\\"))
    return query.order_by(Call.id.desc())
