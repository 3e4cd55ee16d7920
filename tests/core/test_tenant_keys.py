"""Foreign keys between tenant tables carry the tenant: no row points at another tenant's row.

Row-level security does not cover foreign keys (their checks bypass it) and binds neither
the schema's owner nor a superuser, so the keys themselves are composite: ``(tenant_id,
x_id) REFERENCES parent (tenant_id, id)``. These tests walk the metadata for every key, and
write raw SQL as the portal's role and as the owner to show the database refuses a child of
tenant A under tenant B's parent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
    create_engine,
    exc,
    orm,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from center.core.db import _tenant_tables, db, tenant_fk_name, tenant_scope
from center.reviews.models import ReviewerProfile
from tests.conftest import admin_engine


def loose_tenant_keys(metadata: MetaData, tenant_tables: frozenset[str]) -> list[str]:
    """Every key from a tenant table to another that does not check the tenant, and every
    parent of a composite key without its ``UNIQUE (tenant_id, id)``."""
    problems = []
    for table in metadata.sorted_tables:
        if table.name not in tenant_tables:
            continue
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table
            if parent.name not in tenant_tables:
                continue
            columns = [c.name for c in fk.columns]
            referred = [e.column.name for e in fk.elements]
            where = f"{table.name}({', '.join(columns)}) -> {parent.name}"
            if len(columns) == 2 and columns[0] == "tenant_id" and referred == ["tenant_id",
                                                                                  "id"]:
                if (fk.ondelete or "").upper().startswith("SET NULL"):
                    problems.append(f"{where}: a composite SET NULL nulls tenant_id")
                if not any(isinstance(u, UniqueConstraint) and [c.name for c in u.columns]
                           == ["tenant_id", "id"] for u in parent.constraints):
                    problems.append(f"{where}: {parent.name} has no UNIQUE (tenant_id, id)")
            elif not _nulls_beside_a_deferred_composite(fk, columns):
                problems.append(f"{where}: not composite with tenant_id (use tenant_fk)")
    return sorted(problems)


def _nulls_beside_a_deferred_composite(fk: ForeignKeyConstraint, columns: list[str]) -> bool:
    """A plain key is allowed only to do a SET NULL that a composite key checked at commit
    watches (see `center.core.db.tenant_fk`)."""
    if len(columns) != 1 or fk.ondelete != "SET NULL":
        return False
    return any([c.name for c in other.columns] == ["tenant_id", columns[0]]
               and other.referred_table is fk.referred_table and other.initially == "DEFERRED"
               for other in fk.parent.foreign_key_constraints)


def test_every_key_between_tenant_tables_is_composite_with_the_tenant(app) -> None:  # noqa: ANN001
    assert loose_tenant_keys(db.metadata, _tenant_tables()) == []


def test_the_key_walk_reports_a_plain_key_and_a_parent_without_its_unique_key() -> None:
    metadata = MetaData()
    Table("parents", metadata, Column("id", Integer, primary_key=True),
          Column("tenant_id", Integer))
    Table("children", metadata, Column("id", Integer, primary_key=True),
          Column("tenant_id", Integer),
          Column("parent_id", Integer, ForeignKey("parents.id")),
          Column("other_id", Integer),
          ForeignKeyConstraint(["tenant_id", "other_id"],
                               ["parents.tenant_id", "parents.id"]))
    assert loose_tenant_keys(metadata, frozenset({"parents", "children"})) == [
        "children(parent_id) -> parents: not composite with tenant_id (use tenant_fk)",
        "children(tenant_id, other_id) -> parents: parents has no UNIQUE (tenant_id, id)",
    ]
    assert loose_tenant_keys(metadata, frozenset({"children"})) == []


def test_relationships_between_tenant_models_never_copy_tenant_id(app) -> None:  # noqa: ANN001
    orm.configure_mappers()
    copying = []
    for mapper in db.Model.registry.mappers:
        for rel in mapper.relationships:
            if rel.entity.class_.__name__ == "Tenant":
                continue
            if any("tenant_id" in (a.name, b.name) for a, b in rel.synchronize_pairs):
                copying.append(f"{mapper.class_.__name__}.{rel.key}")
    assert copying == []


def test_clearing_a_relationship_nulls_only_its_own_column(app, world) -> None:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        profile = db.session.scalars(db.select(ReviewerProfile)).first()
        assert profile is not None, "the world has a reviewer profile in each center"
        profile.institute = db.session.get(ReviewerProfile.institute.property.mapper.class_,
                                           world.a.institute_ids[0])
        db.session.commit()
        profile.institute = None
        db.session.commit()
        db.session.refresh(profile)
        assert (profile.institute_id, profile.tenant_id) == (None, world.a.tenant_id)


# --- raw SQL, below the ORM ---------------------------------------------------------------

#: (child table, key column, parent table): one key of each kind of parent.
REPRESENTATIVE_KEYS = [
    ("proposals", "call_id", "calls"),
    ("team_members", "proposal_id", "proposals"),
    ("review_assignments", "proposal_id", "proposals"),
    ("funding_commitments", "donor_id", "donors"),
    ("budget_splits", "donor_id", "donors"),
    ("proposal_institutes", "institute_id", "institutes"),
    ("invitation_letters", "trip_id", "trips"),
    ("sanctions_hits", "report_id", "screening_reports"),
    ("reporting_periods", "project_id", "projects"),
    ("tranches", "project_donor_id", "project_donors"),
    ("report_attachments", "report_id", "reports"),
    ("double_claims", "reported_id", "reported_texts"),
]

#: Values a copy must change so that no unique key refuses it before the tenant key does.
UNIQUE_ELSE = {"proposal_institutes": {"is_lead": "false"},
               "invitation_letters": {"pdf_key": "'copied.pdf'"},
               "institutes": {"name": "'Short-lived institute'"},
               "report_attachments": {"storage_key": "'copied.png'"},
               "reporting_periods": {"number": "99"}, "tranches": {"number": "99"}}


def _one_id(conn: Connection, table: str, tenant_id: int) -> int:
    found = conn.execute(text(f"SELECT min(id) FROM {table} WHERE tenant_id = :t"),  # noqa: S608
                         {"t": tenant_id}).scalar_one()
    assert found is not None, f"the world has no {table} row in tenant {tenant_id}"
    return found


def _copy_under(table: str, column: str | None) -> str:
    """SQL inserting a copy of row ``:row`` of ``table`` (a new id) under parent ``:parent``."""
    columns = [c.name for c in db.metadata.tables[table].columns if c.name != "id"]
    changed = {**UNIQUE_ELSE.get(table, {}), **({column: ":parent"} if column else {})}
    values = [changed.get(c, c) for c in columns]
    return (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {table} WHERE id = :row")


def _review_under(conn: Connection, tenant_id: int, assignment_id: int) -> None:
    now = dt.datetime(2026, 12, 1, 12, 0)
    conn.execute(text(
        "INSERT INTO reviews (tenant_id, assignment_id, scores, comments_to_applicants, "
        "confidential_comments, status, created_at, updated_at, reopen_reason, version) "
        "VALUES (:t, :a, '{}', '', '', 'draft', :now, :now, '', 1)"),
        {"t": tenant_id, "a": assignment_id, "now": now})


def _assert_refused(error: exc.IntegrityError, table: str, column: str, parent: str) -> None:
    """The error is the tenant key's, not a unique key or a NOT NULL that would hide it."""
    message = str(error.orig)
    if "FOREIGN KEY constraint failed" in message:  # SQLite names no constraint
        return
    assert error.orig.diag.constraint_name == tenant_fk_name(table, column, parent), message


@contextmanager
def _owner(tmp_root: Path) -> Iterator[Connection]:
    """A connection as the schema's owner (a superuser on PostgreSQL, which row-level
    security does not bind); on SQLite one with foreign keys enforced."""
    engine = admin_engine(tmp_root)
    if engine.dialect.name == "sqlite":
        engine = create_engine(engine.url, poolclass=NullPool)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        yield conn
        conn.rollback()


@pytest.mark.parametrize(("table", "column", "parent"), REPRESENTATIVE_KEYS)
def test_the_owner_cannot_put_a_child_of_one_center_under_another_centers_parent(
        app, world, tmp_root, table, column, parent) -> None:  # noqa: ANN001
    with _owner(tmp_root) as conn:
        row = _one_id(conn, table, world.a.tenant_id)
        theirs = _one_id(conn, parent, world.b.tenant_id)
        with pytest.raises(exc.IntegrityError) as refused:
            conn.execute(text(_copy_under(table, column)), {"row": row, "parent": theirs})
        _assert_refused(refused.value, table, column, parent)


def test_the_owner_can_put_a_child_under_its_own_centers_parent(app, world, tmp_root) -> None:  # noqa: ANN001
    """The same statements succeed inside one center: only the tenant makes them fail."""
    with _owner(tmp_root) as conn:
        row = _one_id(conn, "team_members", world.a.tenant_id)
        ours = _one_id(conn, "proposals", world.a.tenant_id)
        conn.execute(text(_copy_under("team_members", "proposal_id")),
                     {"row": row, "parent": ours})
        _review_under(conn, world.a.tenant_id, _one_id(conn, "review_assignments",
                                                       world.a.tenant_id))


def test_the_owner_cannot_review_another_centers_assignment(app, world, tmp_root) -> None:  # noqa: ANN001
    with _owner(tmp_root) as conn:
        theirs = _one_id(conn, "review_assignments", world.b.tenant_id)
        with pytest.raises(exc.IntegrityError) as refused:
            _review_under(conn, world.a.tenant_id, theirs)
        _assert_refused(refused.value, "reviews", "assignment_id", "review_assignments")


def _portal_pg(app) -> None:  # noqa: ANN001
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the portal's own role exists on PostgreSQL")


def _theirs(world, table: str) -> int:  # noqa: ANN001
    """The id of one of tenant B's rows, read in B's scope (row-level security)."""
    with tenant_scope(world.b.tenant_id):
        return _one_id(db.session.connection(), table, world.b.tenant_id)


@pytest.mark.postgres_only
@pytest.mark.parametrize(("table", "column", "parent"), REPRESENTATIVE_KEYS)
def test_the_portal_role_cannot_put_a_child_under_another_centers_parent(
        app, world, table, column, parent) -> None:  # noqa: ANN001
    """Row-level security hides tenant B's rows from A, but a foreign-key check sees them:
    the composite key is what refuses the id of B's parent."""
    _portal_pg(app)
    with app.app_context():
        theirs = _theirs(world, parent)
        with tenant_scope(world.a.tenant_id):
            row = _one_id(db.session.connection(), table, world.a.tenant_id)
            with pytest.raises(exc.IntegrityError) as refused:
                db.session.execute(text(_copy_under(table, column)),
                                   {"row": row, "parent": theirs})
            db.session.rollback()
    _assert_refused(refused.value, table, column, parent)


@pytest.mark.postgres_only
def test_the_portal_role_cannot_review_another_centers_assignment(app, world) -> None:  # noqa: ANN001
    _portal_pg(app)
    with app.app_context():
        theirs = _theirs(world, "review_assignments")
        with tenant_scope(world.a.tenant_id):
            with pytest.raises(exc.IntegrityError) as refused:
                _review_under(db.session.connection(), world.a.tenant_id, theirs)
            db.session.rollback()
    _assert_refused(refused.value, "reviews", "assignment_id", "review_assignments")


# --- SET NULL keys ------------------------------------------------------------------------

def test_deleting_a_parent_nulls_a_set_null_key_and_keeps_the_tenant(app, world,  # noqa: ANN001
                                                                     tmp_root) -> None:
    with _owner(tmp_root) as conn:
        a = world.a.tenant_id
        profile = _one_id(conn, "reviewer_profiles", a)
        conn.execute(text(_copy_under("institutes", None)),
                     {"row": _one_id(conn, "institutes", a)})
        institute = conn.execute(text("SELECT id FROM institutes WHERE name = "
                                      "'Short-lived institute'")).scalar_one()
        conn.execute(text("UPDATE reviewer_profiles SET institute_id = :i WHERE id = :p"),
                     {"i": institute, "p": profile})
        conn.execute(text("DELETE FROM institutes WHERE id = :i"), {"i": institute})
        conn.commit()
        kept = conn.execute(text("SELECT institute_id, tenant_id FROM reviewer_profiles "
                                 "WHERE id = :p"), {"p": profile}).one()
    assert tuple(kept) == (None, a)


def test_a_set_null_key_refuses_another_centers_parent_at_commit(app, world,  # noqa: ANN001
                                                                 tmp_root) -> None:
    with _owner(tmp_root) as conn:
        profile = _one_id(conn, "reviewer_profiles", world.a.tenant_id)
        theirs = _one_id(conn, "institutes", world.b.tenant_id)
        conn.execute(text("UPDATE reviewer_profiles SET institute_id = :i WHERE id = :p"),
                     {"i": theirs, "p": profile})
        with pytest.raises(exc.IntegrityError) as refused:
            conn.commit()
    message = str(refused.value.orig)
    assert "FOREIGN KEY constraint failed" in message or \
        refused.value.orig.diag.constraint_name == tenant_fk_name(
            "reviewer_profiles", "institute_id", "institutes") + "_tenant", message
