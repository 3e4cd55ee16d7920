"""The database session, the declarative base and the tenant scope.

Tenant isolation lives here, in the data layer. Every model that mixes in `TenantScoped`
carries ``tenant_id NOT NULL`` and every ORM query touching it is filtered by the tenant of
the current request (`with_loader_criteria` in a ``do_orm_execute`` hook). A query on a
tenant-owned model with no tenant in scope raises `TenantScopeMissing` instead of returning
every tenant's rows; code that must see all tenants says so with `all_tenants()`.

On PostgreSQL the database holds the same line on its own: every tenant-owned table has a
forced row-level security policy (`rls_policy_sql`) that shows and accepts only rows of the
tenant named by the transaction's ``app.tenant_id`` setting, or every row when
``app.all_tenants`` is ``on``. The session sets both at the start of each transaction and
again whenever the scope changes inside one, from the same `_scope()` the ORM filter reads,
so a query that slips past the ORM filter (raw SQL, a forgotten scope) still sees nothing.

Foreign keys between tenant tables carry the tenant: a column declared with `tenant_fk`
becomes ``(tenant_id, x_id) REFERENCES parent (tenant_id, id)``, so no row can point at
another tenant's parent, not even through raw SQL (foreign-key checks bypass row-level
security, and superusers bypass it altogether).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from flask import g, has_app_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    MetaData,
    Table,
    UniqueConstraint,
    event,
    exc,
    orm,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql import util as sql_util
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """Store UTC as a naive timestamp and always hand back an aware UTC datetime.

    SQLite keeps no zone and PostgreSQL converts to the session zone; storing naive UTC
    behaves the same on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use center.core.clock.now()")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


class TenantScopeMissing(RuntimeError):
    """A tenant-owned table was queried with no tenant in scope."""


class CrossTenantWrite(RuntimeError):
    """A tenant-owned row was written into a tenant other than the one in scope."""


#: The scope value that deliberately spans every tenant (platform administration, jobs).
ALL_TENANTS = "__all_tenants__"


class TenantScoped:
    """Mixin for rows that belong to exactly one tenant; queries are filtered automatically.

    Columns declared with `tenant_fk` get their composite foreign key when the table is
    built (`__table_cls__`), and the parent they point at its ``(tenant_id, id)`` key.
    """

    #: Whether ``tenant_id`` gets an index of its own. A table whose key or index already
    #: starts with ``tenant_id`` sets it False: a second index would slow every write and
    #: let the planner read all of a tenant's rows to find a few.
    tenant_id_indexed: ClassVar[bool] = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                             index=cls.tenant_id_indexed)

    @classmethod
    def __table_cls__(cls, name: str, metadata: MetaData, *args: Any, **kw: Any) -> Table:
        keys = [_tenant_foreign_keys(name, col) for col in args
                if isinstance(col, Column) and TENANT_FK in col.info]
        table = Table(name, metadata, *args, *(c for pair in keys for c in pair), **kw)
        for parent in {col.info[TENANT_FK][0] for col in table.columns if TENANT_FK in col.info}:
            _require_tenant_key(metadata, parent)
        if name in metadata.info.get(TENANT_FK, ()):
            _require_tenant_key(metadata, name)
        return table


# --- Foreign keys between tenant tables ---------------------------------------------------

#: The ``Column.info`` key `tenant_fk` marks its columns with: (parent table, ondelete).
TENANT_FK = "tenant_fk"


def tenant_fk(target: str, *, ondelete: str | None = None, **column: Any) -> Any:
    """A column pointing at another tenant table's ``id``, checked with the tenant.

    Use it in a `TenantScoped` model instead of ``mapped_column(ForeignKey(target, ...))``;
    the other arguments go to `mapped_column`. The constraint is
    ``(tenant_id, column) REFERENCES parent (tenant_id, id)``.

    ``ondelete="SET NULL"`` cannot be one composite constraint: it would null ``tenant_id``
    too (NOT NULL), and SQLite has no ``SET NULL (column)``. Such a column keeps a plain
    key on ``id`` that does the nulling, and the composite key that checks the tenant is
    deferred to the commit, when the nulling is done whatever order the two fire in.
    """
    parent, _, key = target.partition(".")
    if key != "id":
        raise ValueError(f"tenant_fk points at a tenant table's id, not {target!r}")
    info = {**column.pop("info", {}), TENANT_FK: (parent, ondelete)}
    args = [ForeignKey(target, ondelete="SET NULL")] if ondelete == "SET NULL" else []
    return mapped_column(*args, info=info, **column)


def tenant_fk_name(table: str, column: str, parent: str) -> str:
    """The name of the composite key of ``table.column``: the naming convention's name of
    a plain key (a SET NULL column's composite key adds ``_tenant``, the plain key keeps it)."""
    return f"fk_{table}_{column}_{parent}"


def _tenant_foreign_keys(table: str, column: Column) -> tuple[ForeignKeyConstraint, ...]:
    parent, ondelete = column.info[TENANT_FK]
    name = tenant_fk_name(table, column.name, parent)
    refs = [f"{parent}.tenant_id", f"{parent}.id"]
    if ondelete == "SET NULL":
        return (ForeignKeyConstraint(["tenant_id", column.name], refs, name=f"{name}_tenant",
                                     deferrable=True, initially="DEFERRED"),)
    return (ForeignKeyConstraint(["tenant_id", column.name], refs, name=name,
                                 ondelete=ondelete),)


def _require_tenant_key(metadata: MetaData, parent: str) -> None:
    """Give ``parent`` its ``UNIQUE (tenant_id, id)``, now or when its table is built."""
    metadata.info.setdefault(TENANT_FK, set()).add(parent)
    table = metadata.tables.get(parent)
    if table is None:
        return
    if not any(isinstance(c, UniqueConstraint) and [col.name for col in c.columns]
               == ["tenant_id", "id"] for c in table.constraints):
        table.append_constraint(UniqueConstraint("tenant_id", "id"))


@event.listens_for(orm.Mapper, "before_mapper_configured")
def _join_tenant_tables_by_id(mapper: orm.Mapper, class_: type) -> None:
    """Join tenant tables on their id columns only.

    A relationship over a composite key would join and copy ``tenant_id`` too: every
    relationship of a row would claim the same column, and clearing one (``x.parent =
    None``, an orphaned child) would null ``tenant_id``. A relationship between two tenant
    models that names no ``foreign_keys`` and no ``primaryjoin`` gets the key columns of
    the constraints between the two tables, less ``tenant_id``.
    """
    if not issubclass(class_, TenantScoped):
        return
    for prop in mapper._props.values():  # unconfigured: the public accessors configure
        if not isinstance(prop, orm.RelationshipProperty):
            continue
        args = prop._init_args
        if args.foreign_keys.argument is not None or args.primaryjoin.argument is not None:
            continue
        args.foreign_keys.argument = _id_columns_between(prop)


def _id_columns_between(prop: orm.RelationshipProperty) -> Any:
    def columns() -> list[Column]:
        prop._setup_entity()  # resolved after the foreign keys, else; idempotent
        if not issubclass(prop.entity.class_, TenantScoped):
            return []
        here, there = prop.parent.local_table, prop.entity.local_table
        found: dict[str, Column] = {}
        for source, target in ((here, there), (there, here)):
            for fk in source.foreign_key_constraints:
                if fk.referred_table is target:
                    found.update({f"{source.name}.{c.name}": c for c in fk.columns
                                  if c.name != "tenant_id"})
        return list(found.values())

    return lambda: columns() or None


class Versioned:
    """Mixin for optimistic locking: a stale UPDATE raises ``StaleDataError`` at flush."""

    version: Mapped[int] = mapped_column(nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}


def _scope() -> int | str | None:
    return g.get("_tenant_scope") if has_app_context() else None


def set_tenant_scope(tenant_id: int | str | None) -> None:
    """Scope the rest of this application context to one tenant (or `ALL_TENANTS`).

    A transaction already open on PostgreSQL gets the new scope at once, so the row-level
    security policies follow the ORM filter inside the transaction too.
    """
    g._tenant_scope = tenant_id
    _sync_open_transaction(tenant_id)


def writes_to(tenant_id: int) -> bool:
    """Whether rows of ``tenant_id`` may be written in the current scope."""
    scope = _scope()
    return scope == ALL_TENANTS or (scope is not None and int(scope) == tenant_id)


def current_tenant_id() -> int:
    """Return the id of the tenant in scope; raise if there is none."""
    scope = _scope()
    if scope is None or scope == ALL_TENANTS:
        raise TenantScopeMissing("no single tenant in scope")
    return int(scope)


@contextmanager
def tenant_scope(tenant_id: int | str) -> Iterator[None]:
    """Run a block with queries scoped to ``tenant_id``; restore the previous scope after."""
    previous = _scope()
    set_tenant_scope(tenant_id)
    try:
        yield
    finally:
        set_tenant_scope(previous)


def all_tenants() -> Any:
    """Run a block that deliberately reads across tenants."""
    return tenant_scope(ALL_TENANTS)


# --- PostgreSQL row-level security -------------------------------------------------------

#: The name of the policy on every tenant-owned table.
RLS_POLICY = "tenant_isolation"

#: Rows visible and writable: those of the tenant in scope, or all when the scope says so.
#: An unset or empty ``app.tenant_id`` matches no row (``NULL``), so no scope means no rows.
RLS_CONDITION = (
    "current_setting('app.all_tenants', true) = 'on' "
    "OR tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer"
)


def rls_policy_sql(table: str) -> list[str]:
    """The statements that put ``table`` under forced row-level security by tenant.

    Used by the migration (with its own fixed list of tables) and by the test schema.
    FORCE makes the policy bind the table's owner too; only superusers and roles with
    BYPASSRLS pass it, and the portal must connect as neither.
    """
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {RLS_POLICY} ON {table}",
        f"CREATE POLICY {RLS_POLICY} ON {table} USING ({RLS_CONDITION}) "
        f"WITH CHECK ({RLS_CONDITION})",
    ]


def drop_rls_policy_sql(table: str) -> list[str]:
    """Undo `rls_policy_sql` for ``table``."""
    return [
        f"DROP POLICY IF EXISTS {RLS_POLICY} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


_SET_SCOPE = text("SELECT set_config('app.tenant_id', :tenant_id, true), "
                  "set_config('app.all_tenants', :all_tenants, true)")


def _database_scope(scope: int | str | None) -> dict[str, str]:
    if scope == ALL_TENANTS:
        return {"tenant_id": "", "all_tenants": "on"}
    return {"tenant_id": "" if scope is None else str(int(scope)), "all_tenants": "off"}


def apply_database_scope(connection: Connection, scope: int | str | None) -> None:
    """Set the transaction-local tenant settings the row-level security policies read."""
    if connection.dialect.name == "postgresql":
        connection.execute(_SET_SCOPE, _database_scope(scope))


@event.listens_for(orm.Session, "after_begin")
def _scope_new_transaction(session: orm.Session, transaction: Any,
                           connection: Connection) -> None:
    apply_database_scope(connection, _scope())


def _sync_open_transaction(scope: int | str | None) -> None:
    if not has_app_context() or not db.session.registry.has():
        return
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:
        return  # the next transaction gets the scope from `_scope_new_transaction`
    # The session keys each connection under its engine and itself: set each one once.
    connections = {id(entry[0]): entry[0] for entry in transaction._connections.values()}
    for conn in connections.values():
        if conn.closed or conn.dialect.name != "postgresql":
            continue
        # A transaction that has already failed runs nothing more, and the next one starts
        # with the right scope: keep the original error in view rather than this one.
        with contextlib.suppress(exc.DBAPIError):
            apply_database_scope(conn, scope)


def _tenant_tables() -> frozenset[str]:
    """Names of the tables of every TenantScoped model."""
    return frozenset(m.local_table.name for m in Base.registry.mappers
                     if issubclass(m.class_, TenantScoped))


def _touches_tenant_data(state: orm.ORMExecuteState) -> bool:
    """Whether the statement reads or writes a tenant-owned table anywhere: as an entity, in
    a join, a subquery or a bare ``select_from`` (``count(*)`` has no entity of its own)."""
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    tables = _tenant_tables()
    return any(getattr(t, "name", None) in tables for t in sql_util.find_tables(
        state.statement, check_columns=True, include_aliases=True, include_joins=True,
        include_selects=True, include_crud=True))


@event.listens_for(orm.Session, "do_orm_execute")
def _filter_by_tenant(state: orm.ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        # Refreshing an object already in the session (expired by a commit) re-reads the row
        # it was loaded from, by primary key, with the options it was loaded with, tenant
        # criteria included. Adding the criteria again would stack one more copy at every
        # refresh: the statement would never hit the compiled cache, and each compile would
        # grow, so that a job committing its progress N times spent O(N²) compiling.
        return
    scope = _scope()
    if scope == ALL_TENANTS:
        return
    if scope is None:
        if _touches_tenant_data(state):
            raise TenantScopeMissing(f"query on tenant-owned data with no tenant in scope: "
                                     f"{str(state.statement)[:200]}")
        return
    # Always, not only when an entity is tenant-owned: the criteria also reach tenant tables
    # that appear only in joins, subqueries or select_from.
    tenant_id = int(scope)
    state.statement = state.statement.options(
        orm.with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        )
    )


@event.listens_for(orm.Session, "before_flush")
def _stamp_tenant(session: orm.Session, flush_context: Any, instances: Any) -> None:
    scope = _scope()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if scope is None or scope == ALL_TENANTS:
                raise TenantScopeMissing(
                    f"new {type(obj).__name__} has no tenant_id and no tenant is in scope"
                )
            obj.tenant_id = int(scope)
        elif scope not in (None, ALL_TENANTS) and obj.tenant_id != int(scope):
            raise CrossTenantWrite(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written in tenant {scope}"
            )
