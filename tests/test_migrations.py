"""Alembic's migrations produce exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from center import create_app
from center.core.db import _tenant_tables, db


@pytest.fixture()
def scratch_url(tmp_path: Path):
    """An empty database of the same kind as the suite's, dropped afterwards."""
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    # Named after the suite's database, so that suites on other databases do not collide.
    name = f"{make_url(url).database}_migration_check"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_migrations_match_the_models(scratch_url: str) -> None:
    app = create_app({"CENTER_ENV": "test", "DATABASE_URL": scratch_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ; run `make migrate`: {diff}"
        if db.engine.dialect.name == "postgresql":
            _assert_row_level_security_and_audit_trigger()
        downgrade(revision="base")
        db.engine.dispose()


def _assert_row_level_security_and_audit_trigger() -> None:
    """Autogenerate sees neither policies nor triggers: check what the migrations wrote."""
    with db.engine.connect() as conn:
        forced = set(conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname)"
        )).scalars())
        triggers = set(conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass "
            "AND NOT tgisinternal")).scalars())
    missing = _tenant_tables() - forced
    assert not missing, f"tenant tables without forced row-level security: {missing}"
    assert "audit_events_append_only" in triggers


def test_fingerprints_stored_before_signatures_were_kept_get_theirs(scratch_url: str) -> None:
    """The migration that keeps each fingerprint's MinHash signature beside its blob takes
    it from the blobs of the fingerprints already stored."""
    from center.dedup.engine import fingerprint
    from center.dedup.store import signature_bytes

    app = create_app({"CENTER_ENV": "test", "DATABASE_URL": scratch_url, "LOG_LEVEL": "WARNING"})
    blob = fingerprint("Glacier retreat in the Naryn basin, measured with tracer experiments "
                       "and remote sensing over four years.", lang="en").to_bytes()
    with app.app_context():
        upgrade(revision="35b52b3b2afb")
        with db.engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)")
                         if db.engine.dialect.name == "postgresql" else text("SELECT 1"))
            tenant = _insert_row(conn, "tenants", slug="old", name="Old")
            project = _insert_row(conn, "funded_projects", tenant_id=tenant, reference="R1")
            _insert_row(conn, "document_fingerprints", tenant_id=tenant, doc_key=f"f:{project}",
                        project_id=project, proposal_id=None, lang="en", blob=blob, seq=1)
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)")
                         if db.engine.dialect.name == "postgresql" else text("SELECT 1"))
            stored = conn.execute(text("SELECT signature FROM document_fingerprints")).scalar_one()
        assert bytes(stored) == signature_bytes(blob) and len(stored) == 4 * 128
        downgrade(revision="base")
        db.engine.dispose()


def _insert_row(conn, table: str, **values) -> int:  # noqa: ANN001
    """Insert a row as the schema of the moment has it, with a plain value in every
    required column not given; return its id."""
    import datetime as dt

    from sqlalchemy import MetaData, Table, types

    reflected = Table(table, MetaData(), autoload_with=conn)
    plain = {types.String: "x", types.Integer: 0, types.Boolean: False, types.Float: 0.0,
             types.Numeric: 0, types.DateTime: dt.datetime(2026, 1, 1),
             types.Date: dt.date(2026, 1, 1), types.LargeBinary: b"", types.JSON: {}}
    for column in reflected.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        if column.server_default is None:
            values[column.name] = next(v for t, v in plain.items() if isinstance(column.type, t))
    return conn.execute(reflected.insert().values(**values).returning(reflected.c.id)).scalar_one()
