"""PostgreSQL row-level security holds on its own, below the ORM's tenant filter.

These tests talk raw SQL through the portal's own connection (the suite's app role, see
tests/conftest.py), so the ORM filter is not involved: only the database's policies are.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from center.core.db import _tenant_tables, all_tenants, db, tenant_scope
from tests.conftest import APP_ROLE, admin_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _migration_rls_tables() -> set[str]:
    """The tables every migration puts under row-level security (their RLS_TABLES lists)."""
    tables: set[str] = set()
    for path in sorted(MIGRATIONS.glob("*.py")):
        if "RLS_TABLES" not in path.read_text():
            continue
        spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tables |= set(module.RLS_TABLES)
    return tables


def test_every_tenant_scoped_table_has_a_policy_in_a_migration() -> None:
    missing = _tenant_tables() - _migration_rls_tables()
    assert not missing, f"TenantScoped tables with no row-level security migration: {missing}"


postgres_only = pytest.mark.postgres_only


@pytest.fixture()
def pg(app):  # noqa: ANN001, ANN201
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row-level security is a PostgreSQL feature")
    return app


@pytest.fixture()
def admin(tmp_root: Path):  # noqa: ANN201
    """The schema owner's engine (a superuser), to see what is really stored."""
    return admin_engine(tmp_root)


def _count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


@postgres_only
def test_the_portal_connects_as_a_role_that_neither_owns_nor_bypasses(pg, world, admin) -> None:
    with pg.app_context():
        role = db.session.execute(text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user")).one()
        owners = set(db.session.execute(text(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
    assert role == (APP_ROLE, False, False)
    assert APP_ROLE not in owners


@postgres_only
def test_every_tenant_table_of_the_schema_has_forced_row_level_security(pg, admin) -> None:
    with admin.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'")).all()
    state = {name: (rls, force, policies) for name, rls, force, policies in rows}
    for table in _tenant_tables():
        assert state[table] == (True, True, 1), table


@postgres_only
def test_raw_sql_with_no_tenant_set_sees_no_rows(pg, world, admin) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM proposals")).scalar_one() > 0
    with pg.app_context():
        for table in ("proposals", "memberships", "institutes", "attachments", "audit_events"):
            assert _count(table) == 0, table


@postgres_only
def test_raw_sql_in_a_tenant_sees_only_that_tenants_rows(pg, world, admin) -> None:
    with pg.app_context(), tenant_scope(world.a.tenant_id):
        tenants = set(db.session.execute(text("SELECT tenant_id FROM proposals")).scalars())
        assert tenants == {world.a.tenant_id}
        donors = db.session.execute(text("SELECT id FROM donors")).scalars().all()
        assert sorted(donors) == sorted(world.a.donor_ids)


@postgres_only
def test_all_tenants_scope_sees_every_tenant(pg, world, admin) -> None:
    with pg.app_context(), all_tenants():
        tenants = set(db.session.execute(text("SELECT tenant_id FROM proposals")).scalars())
    assert tenants == {world.a.tenant_id, world.b.tenant_id}


@postgres_only
def test_a_scope_change_inside_an_open_transaction_reaches_the_database(pg, world, admin) -> None:
    with pg.app_context():
        assert _count("donors") == 0  # the transaction is open now, with no tenant
        with tenant_scope(world.b.tenant_id):
            ids = db.session.execute(text("SELECT id FROM donors")).scalars().all()
            assert sorted(ids) == sorted(world.b.donor_ids)
        assert _count("donors") == 0  # and the previous scope is back


@postgres_only
def test_raw_sql_cannot_insert_into_another_tenant(pg, world, admin) -> None:
    with pg.app_context(), tenant_scope(world.a.tenant_id):
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            db.session.execute(text(
                "INSERT INTO donors (tenant_id, name, short_name, kind, contact_email) "
                "VALUES (:t, 'Smuggled', 'S', 'government', '')"), {"t": world.b.tenant_id})
        db.session.rollback()


@postgres_only
def test_raw_sql_with_no_tenant_cannot_insert_at_all(pg, world, admin) -> None:
    with pg.app_context():
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            db.session.execute(text(
                "INSERT INTO donors (tenant_id, name, short_name, kind, contact_email) "
                "VALUES (:t, 'Smuggled', 'S', 'government', '')"), {"t": world.a.tenant_id})
        db.session.rollback()


@postgres_only
def test_raw_sql_cannot_move_a_row_to_another_tenant(pg, world, admin) -> None:
    with pg.app_context(), tenant_scope(world.a.tenant_id):
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            db.session.execute(text("UPDATE donors SET tenant_id = :b WHERE id = :id"),
                               {"b": world.b.tenant_id, "id": world.a.donor_ids[0]})
        db.session.rollback()


@postgres_only
def test_raw_sql_cannot_change_or_delete_another_tenants_rows(pg, world, admin) -> None:
    with pg.app_context(), tenant_scope(world.a.tenant_id):
        changed = db.session.execute(text("UPDATE donors SET name = 'Hijacked' WHERE id = :id"),
                                     {"id": world.b.donor_ids[0]}).rowcount
        deleted = db.session.execute(text("DELETE FROM donor_delegates WHERE tenant_id = :b"),
                                     {"b": world.b.tenant_id}).rowcount
        db.session.commit()
    assert (changed, deleted) == (0, 0)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT name FROM donors WHERE id = :id"),
                            {"id": world.b.donor_ids[0]}).scalar_one() != "Hijacked"
