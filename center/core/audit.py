"""The audit trail: who did what to which object, when, from which state to which.

The trail is append-only. The ORM refuses to update or delete an `AuditEvent` (a mapper
event for objects, a ``do_orm_execute`` hook for bulk statements), and on PostgreSQL a
trigger (`APPEND_ONLY_SQL`, written by the migration and by the test schema) refuses it for
any client, raw SQL included. The one change the trigger lets through is the database's own
``ON DELETE SET NULL`` of ``actor_id`` when a user account is erased.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event, orm
from sqlalchemy.orm import Mapped, mapped_column

from center.core import clock
from center.core.db import TenantScoped, UTCDateTime, db, tenant_scope, writes_to
from center.core.money import format_money

#: Detail keys holding amounts in minor units, or maps of them ({donor: minor units}). An
#: event with one of them also records ``currency``, so the trail can show the amounts.
AMOUNT_KEYS = frozenset({"amount", "previous", "proposal_committed", "budget", "split",
                         "offers", "commitments", "budget_ceiling", "per_diem",
                         "insurance_cover"})


class AuditEvent(TenantScoped, db.Model):
    """One recorded action. Rows are only ever added, never changed."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[int | None] = mapped_column(index=True)
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditTrailIsAppendOnly(RuntimeError):
    """Something tried to change or remove a recorded audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be deleted")


@event.listens_for(orm.Session, "do_orm_execute")
def _refuse_bulk_change(state: orm.ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
            m.class_ is AuditEvent for m in state.all_mappers):
        raise AuditTrailIsAppendOnly("audit events cannot be updated or deleted")


#: PostgreSQL: a trigger that refuses UPDATE and DELETE on the audit trail for every role
#: (the table owner included). Only ``actor_id`` may become NULL, which is what the foreign
#: key's ``ON DELETE SET NULL`` does when a user is erased; nothing else may change.
APPEND_ONLY_SQL = (
    """
    CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'the audit trail is append-only: % refused on audit_events', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
)

#: Undo `APPEND_ONLY_SQL` (the migration's downgrade).
DROP_APPEND_ONLY_SQL = (
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
)


def record(
    action: str,
    obj: Any = None,
    *,
    actor: Any,
    from_state: str | None = None,
    to_state: str | None = None,
    tenant_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction; it commits or rolls back with the work."""
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()  # the event must name the object's id
    event = AuditEvent(
        occurred_at=clock.now(),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        from_state=from_state,
        to_state=to_state,
        details={k: _jsonable(v) for k, v in details.items()},
    )
    if tenant_id is not None:
        event.tenant_id = tenant_id
    elif obj is not None and getattr(obj, "tenant_id", None) is not None:
        event.tenant_id = obj.tenant_id
    if event.tenant_id is not None and not writes_to(event.tenant_id):
        # An event for another tenant than the one in scope (an account's event recorded in
        # each of its centers): write it in that tenant's own scope, which row-level
        # security checks, after what the current scope has pending.
        db.session.flush()
        with tenant_scope(event.tenant_id):
            db.session.add(event)
            db.session.flush()
        return event
    db.session.add(event)
    return event



def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def detail_text(key: str, value: Any, details: dict[str, Any]) -> str:
    """One detail of an event as the audit trail shows it: amounts with their currency."""
    currency = details.get("currency")
    if key in AMOUNT_KEYS and currency:
        if isinstance(value, int) and not isinstance(value, bool):
            return format_money(value, currency)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {'—' if v is None else format_money(v, currency)}"
                             if isinstance(v, int | None) else f"{k}: {v}"
                             for k, v in value.items())
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
