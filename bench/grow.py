"""Grow a center's data fast: copy whole proposals (or calls) with every row that hangs on
them, and add applicants, by bulk inserts.

The copies follow the foreign keys down from the root table (for a proposal: partners, team,
work plan, budget and splits, trips, files, versions, screening reports and hits, matches,
review assignments and reviews, agreements and their letters ...), each id remapped, so a
copy is as complete as the proposal it came from, in the same state. Unique strings are made
unique again (``p:<id>`` keys point at the copy). It writes through one SQLAlchemy
connection with explicit ids (so, on PostgreSQL, connect as the tables' owner: row-level
security does not bind it) and moves the id sequences past what it wrote.

Used by ``bench/load.py`` to turn the demo centers into a realistic one, and by
``tests/ops/test_query_counts.py`` to put 2 and then 20 rows in every list page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, String, Table, func, insert, select, text

from center.core.db import db

#: ``doc_key`` / ``other_key`` of a proposal in the duplicate index.
_PROPOSAL_KEY = re.compile(r"^p:(\d+)$")

#: Rows are inserted this many at a time.
BATCH = 2000


def _id_links(table: Table) -> list[Any]:
    """The foreign keys of ``table`` that point at another row's id. A composite tenant key
    also ties ``tenant_id`` to the parent's ``tenant_id``; that column is never remapped."""
    return [fk for fk in table.foreign_keys if fk.column.name == "id"]


def _subtree(root: str, stop: Iterable[str] = ()) -> list[Table]:
    """The root table and every table that hangs on it through foreign keys, parents first."""
    inside, stop = {root}, set(stop)
    ordered = []
    for table in db.metadata.sorted_tables:
        if table.name == root or (table.name not in stop and any(
                fk.column.table.name in inside for fk in _id_links(table))):
            inside.add(table.name)
            ordered.append(table)
    return ordered


def _unique_strings(table: Table, inside: set[str]) -> tuple[set[str], set[str]]:
    """The string columns of ``table`` that a copy must change: (made unique with a suffix,
    ``p:<id>`` keys remapped only). A unique constraint that holds a remapped foreign key
    is unique for the copy already; its strings (a country code ...) stay as they are."""
    def strings(columns: Iterable[Any]) -> set[str]:
        return {c.name for c in columns if isinstance(c.type, String) and not c.foreign_keys}

    suffixed = strings(c for c in table.columns if c.unique)
    keys = set(suffixed)
    for constraint in table.constraints:
        if type(constraint).__name__ != "UniqueConstraint":
            continue
        remapped = any(fk.column.table.name in inside
                       for c in constraint.columns for fk in c.foreign_keys
                       if fk.column.name == "id")
        (keys if remapped else suffixed).update(strings(constraint.columns))
    return suffixed, keys | suffixed


def _next_ids(conn: Connection, table: Table) -> int:
    return (conn.scalar(select(func.max(table.c.id))) or 0) + 1


def clone_tree(conn: Connection, root: str, root_ids: Sequence[int], copies: int, *,
               stop: Iterable[str] = (), root_values: Any = None) -> dict[str, int]:
    """Copy the rows ``root_ids`` of table ``root`` and everything under them ``copies``
    times. ``root_values(copy_no, row) -> dict`` overrides columns of each root copy.
    Return how many rows were written per table."""
    tables = _subtree(root, stop)
    inside = {t.name for t in tables}
    templates: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, set[int]] = {}
    for table in tables:
        if table.name == root:
            where = table.c.id.in_(list(root_ids))
        else:
            links = [fk for fk in _id_links(table) if fk.column.table.name in ids]
            where = None
            for fk in links:
                clause = fk.parent.in_(list(ids[fk.column.table.name]) or [-1])
                where = clause if where is None else where | clause
        rows = [dict(r._mapping) for r in conn.execute(select(table).where(where)
                                                       .order_by(*table.primary_key.columns))]
        templates[table.name] = rows
        # A table keyed by its parents (a fingerprint's LSH bands) has no id of its own.
        ids[table.name] = {r["id"] for r in rows} if "id" in table.c else set()
    written: dict[str, int] = {}
    next_id = {t.name: _next_ids(conn, t) for t in tables if "id" in t.c}
    for copy_no in range(1, copies + 1):
        new_ids: dict[str, dict[int, int]] = {}
        for table in tables:
            suffixed, keys = _unique_strings(table, inside)
            links = [fk for fk in _id_links(table) if fk.column.table.name in new_ids]
            out = []
            mapping = new_ids.setdefault(table.name, {})
            for row in templates[table.name]:
                new = dict(row)
                if table.name in next_id:
                    new["id"] = mapping[row["id"]] = next_id[table.name]
                    next_id[table.name] += 1
                for fk in links:
                    old = row[fk.parent.name]
                    if old is not None:
                        new[fk.parent.name] = new_ids[fk.column.table.name].get(old, old)
                for name in keys:
                    if new[name] is not None:
                        new[name] = _unique(new[name], table.c[name].type.length,
                                            new["id"], new_ids.get("proposals", {}),
                                            suffix=name in suffixed)
                if table.name == root and root_values is not None:
                    new.update(root_values(copy_no, row))
                out.append(new)
            for start in range(0, len(out), BATCH):
                conn.execute(insert(table), out[start:start + BATCH])
            written[table.name] = written.get(table.name, 0) + len(out)
    move_sequences(conn, list(next_id))
    return written


def _unique(value: str, length: int | None, row_id: int, proposals: dict[int, int], *,
            suffix: bool) -> str:
    """``value`` for the copy with id ``row_id``: a copied proposal's key names the copy,
    any other value gets ``~<row id>`` when ``suffix``."""
    key = _PROPOSAL_KEY.match(value)
    if key and int(key.group(1)) in proposals:
        return f"p:{proposals[int(key.group(1))]}"
    if not suffix:
        return value
    end = f"~{row_id}"
    return (value[: length - len(end)] if length else value) + end


def move_sequences(conn: Connection, tables: Iterable[str]) -> None:
    """On PostgreSQL, move each table's id sequence past the ids written explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for name in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                          f"GREATEST((SELECT max(id) FROM {name}), 1))"))


def add_applicants(conn: Connection, tenant_id: int, template_user_id: int, count: int, *,
                   domain: str = "bench.example") -> list[int]:
    """Add ``count`` applicants of the center, copies of an existing user (same password),
    named ``applicant<n>@<domain>``; return their ids."""
    users, memberships = db.metadata.tables["users"], db.metadata.tables["memberships"]
    template = dict(conn.execute(select(users).where(users.c.id == template_user_id))
                    .one()._mapping)
    first, first_m = _next_ids(conn, users), _next_ids(conn, memberships)
    rows = [{**template, "id": first + n, "email": f"applicant{n}@{domain}",
             "name": f"Applicant {n:03d}", "is_platform_admin": False} for n in range(count)]
    conn.execute(insert(users), rows)
    conn.execute(insert(memberships), [
        {"id": first_m + n, "tenant_id": tenant_id, "user_id": r["id"], "role": "applicant",
         "donor_id": None, "country_code": None, "institute_id": None,
         "created_at": template["created_at"]} for n, r in enumerate(rows)])
    move_sequences(conn, ["users", "memberships"])
    return [r["id"] for r in rows]


def clone_proposals(conn: Connection, tenant_id: int, copies: int, *,
                    owners: Sequence[int] = ()) -> dict[str, int]:
    """Copy every proposal of the center ``copies`` times; with ``owners``, the copies are
    shared out among those applicants in turn."""
    proposals = db.metadata.tables["proposals"]
    root_ids = list(conn.scalars(select(proposals.c.id).where(
        proposals.c.tenant_id == tenant_id).order_by(proposals.c.id)))
    turn = iter(range(10**9))

    def values(copy_no: int, row: dict[str, Any]) -> dict[str, Any]:
        return {"owner_id": owners[next(turn) % len(owners)]} if owners else {}

    return clone_tree(conn, "proposals", root_ids, copies, root_values=values)


def clone_calls(conn: Connection, tenant_id: int, copies: int) -> dict[str, int]:
    """Copy every call of the center (with its donors, budgets and review round), not the
    proposals made to it."""
    calls = db.metadata.tables["calls"]
    root_ids = list(conn.scalars(select(calls.c.id).where(calls.c.tenant_id == tenant_id)))
    return clone_tree(conn, "calls", root_ids, copies, stop={"proposals"})
