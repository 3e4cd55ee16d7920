"""The audit trail is append-only and is written in the transaction of the change."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, exc, func, select, text, update

from center.auth.models import User
from center.core import audit
from center.core.audit import AuditEvent, AuditTrailIsAppendOnly
from center.core.db import db
from center.tenants.models import Donor
from tests.conftest import admin_engine


def _recorded(in_tenant) -> AuditEvent:  # noqa: ANN001
    donor = db.session.get(Donor, in_tenant.a.donor_ids[0])
    event = audit.record("donor.renamed", donor, actor=None, old="D1")
    db.session.commit()
    return event


def test_the_orm_refuses_to_change_an_audit_event(in_tenant) -> None:
    event = _recorded(in_tenant)
    event.action = "donor.deleted"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "donor.renamed"


def test_the_orm_refuses_to_delete_an_audit_event(in_tenant) -> None:
    event = _recorded(in_tenant)
    db.session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id) is not None


@pytest.mark.parametrize("statement", [
    update(AuditEvent).values(action="rewritten"),
    delete(AuditEvent),
], ids=["update", "delete"])
def test_the_orm_refuses_bulk_changes_to_the_trail(in_tenant, statement) -> None:  # noqa: ANN001
    _recorded(in_tenant)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1


def test_a_rolled_back_change_leaves_no_audit_row(in_tenant) -> None:
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    donor = db.session.get(Donor, in_tenant.a.donor_ids[0])
    donor.name = "Renamed in a transaction that fails"
    audit.record("donor.renamed", donor, actor=None)
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert db.session.get(Donor, in_tenant.a.donor_ids[0]).name == "Donor One of alpha"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "donor.renamed")) == 0


def _postgres(app) -> None:  # noqa: ANN001
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")


@pytest.mark.postgres_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET action = 'rewritten'",
    "DELETE FROM audit_events",
], ids=["update", "delete"])
def test_the_portals_role_cannot_touch_the_trail_in_raw_sql(app, in_tenant, sql) -> None:  # noqa: ANN001
    _postgres(app)
    _recorded(in_tenant)
    with pytest.raises(exc.ProgrammingError, match="permission denied"):
        db.session.execute(text(sql))
    db.session.rollback()


@pytest.mark.postgres_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET action = 'rewritten'",
    "DELETE FROM audit_events",
], ids=["update", "delete"])
def test_the_trigger_refuses_even_the_tables_owner(app, in_tenant, tmp_root, sql) -> None:  # noqa: ANN001
    _postgres(app)
    _recorded(in_tenant)
    with admin_engine(tmp_root).connect() as conn:
        with pytest.raises(exc.ProgrammingError, match="append-only"):
            conn.execute(text(sql))
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'rewritten'"
                                 )).scalar_one() == 0


@pytest.mark.postgres_only
def test_erasing_a_user_may_still_clear_the_actor(app, in_tenant, tmp_root) -> None:  # noqa: ANN001
    _postgres(app)
    actor = db.session.scalar(select(User).where(User.email == in_tenant.a.emails["admin"]))
    donor = db.session.get(Donor, in_tenant.a.donor_ids[0])
    event = audit.record("donor.renamed", donor, actor=actor)
    db.session.commit()
    with admin_engine(tmp_root).connect() as conn:
        cleared = conn.execute(text("UPDATE audit_events SET actor_id = NULL WHERE id = :id"),
                               {"id": event.id}).rowcount
        conn.rollback()
        with pytest.raises(exc.ProgrammingError, match="append-only"):
            conn.execute(text("UPDATE audit_events SET actor_id = NULL, action = 'x' "
                              "WHERE id = :id"), {"id": event.id})
        conn.rollback()
    assert cleared == 1
