"""Back a tenant up to one file and restore it into another database.

`export_tenant` writes a zip: ``manifest.json`` (format, tenant, the tables in dependency
order with their row counts, every stored file with its sha256), one ``tables/<name>.jsonl``
per table (one JSON object a row) and the stored files under ``files/<key>``. It holds the
tenant's row, every tenant-owned table (every `TenantScoped` model) filtered to the tenant,
and the users those rows refer to. It leaves out what is not the tenant's alone or is
transient: coordination links with other centers, the mail outbox, login attempts, parked
form input.

`import_tenant` refuses a slug that exists and verifies every file's hash before it writes
anything. Users are matched by e-mail (an account shared with another center is reused,
its password untouched). Ids are kept where they are free, so a restore into an empty
database is identical; a table whose ids collide gets new ones, and every foreign key and
audit event naming a row of it follows. Files are written back under their keys (a key
already taken gets a fresh one). Everything happens in the caller's transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Column, Table, func, select, text
from sqlalchemy.types import Date, DateTime, LargeBinary, Numeric

from center.core import audit
from center.core.db import Base, _tenant_tables, all_tenants, db, tenant_scope
from center.core.storage import ObjectNotFound, Storage, check_key
from center.dedup.services import detector_settings
from center.dedup.store import DERIVED_TABLES, index_restored, signature_bytes

FORMAT = "center-tenant-backup/1"

#: Columns that name an object in `center.core.storage`, with the column (or fixed value)
#: giving its content type. A new kind of stored file must be added here.
FILE_COLUMNS: dict[str, tuple[str, str]] = {
    "attachments": ("storage_key", "column:content_type"),
    "agreements": ("pdf_key", "application/pdf"),
    "invitation_letters": ("pdf_key", "application/pdf"),
    "amendments": ("pdf_key", "application/pdf"),
    "report_attachments": ("storage_key", "column:content_type"),
}


#: Text columns that name a row by ``<kind>:<id>``, with the table of each kind: their ids
#: follow a renumbering as foreign keys do.
KEY_COLUMNS: dict[tuple[str, str], dict[str, str]] = {
    ("document_fingerprints", "doc_key"): {"p": "proposals", "f": "funded_projects"},
    ("double_claims", "other_key"): {"p": "proposals", "f": "funded_projects",
                                     "t": "reported_texts"},
}


class BackupError(RuntimeError):
    """The backup cannot be written or restored; the message says why."""


@dataclass
class Summary:
    """What an export or import did, for the command's report."""

    tenant_slug: str
    tenant_id: int
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    remapped: list[str] = field(default_factory=list)
    users_matched: int = 0


# --- values to JSON and back --------------------------------------------------------------

def _encode(column: Column, value: Any) -> Any:
    if value is None or isinstance(column.type, JSON):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _impl(column: Column) -> Any:
    kind = column.type
    return getattr(kind, "impl_instance", None) or getattr(kind, "impl", kind)


def _decode(column: Column, value: Any) -> Any:
    if value is None or isinstance(column.type, JSON):
        return value
    kind = _impl(column)
    if isinstance(kind, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, Numeric) and isinstance(value, str):
        return Decimal(value)
    return value


def _tables() -> list[Table]:
    """Tenant-owned tables in dependency order (parents first), but the duplicate index's
    derived rows, which the restore writes again from the fingerprints."""
    tenant_tables = _tenant_tables() - set(DERIVED_TABLES)
    return [t for t in Base.metadata.sorted_tables if t.name in tenant_tables]


def _referenced_users(rows: dict[str, list[dict[str, Any]]]) -> set[int]:
    users = Base.metadata.tables["users"]
    ids: set[int] = set()
    for table in _tables():
        for fk in table.foreign_keys:
            if fk.column.table is users:
                ids |= {r[fk.parent.name] for r in rows[table.name] if r[fk.parent.name]}
    return ids


def _content_type(table: str, row: dict[str, Any]) -> str:
    rule = FILE_COLUMNS[table][1]
    return row[rule.removeprefix("column:")] if rule.startswith("column:") else rule


# --- export -------------------------------------------------------------------------------

def export_tenant(slug: str, out: IO[bytes] | Path, *, storage: Storage) -> Summary:
    """Write the backup of tenant ``slug`` to ``out`` (a path or a binary file)."""
    tenants = Base.metadata.tables["tenants"]
    tenant = db.session.execute(select(tenants).where(tenants.c.slug == slug)).mappings().first()
    if tenant is None:
        raise BackupError(f"no center with the slug {slug!r}")
    summary = Summary(tenant_slug=slug, tenant_id=tenant["id"])
    rows: dict[str, list[dict[str, Any]]] = {}
    with tenant_scope(tenant["id"]):
        for table in _tables():
            result = db.session.execute(
                select(table).where(table.c.tenant_id == tenant["id"]).order_by(
                    *table.primary_key.columns))
            rows[table.name] = [dict(r) for r in result.mappings()]
        users = Base.metadata.tables["users"]
        user_ids = _referenced_users(rows)
        rows["users"] = [dict(r) for r in db.session.execute(
            select(users).where(users.c.id.in_(user_ids)).order_by(users.c.id)).mappings()]
        rows["tenants"] = [dict(tenant)]
        files = []
        for table_name, (key_column, _) in FILE_COLUMNS.items():
            for row in rows.get(table_name, []):
                key = row[key_column]
                try:
                    data = storage.get(key)
                except ObjectNotFound:
                    raise BackupError(f"{table_name} {row['id']}: stored file {key!r} is "
                                      "missing; nothing exported") from None
                files.append((key, data, _content_type(table_name, row)))
        audit.record("tenant.exported", None, actor=None, tenant_id=tenant["id"],
                     rows=sum(len(v) for v in rows.values()), files=len(files))
        db.session.flush()  # inside the scope: row-level security accepts it only here

    order = ["tenants", "users"] + [t.name for t in _tables()]
    manifest = {
        "format": FORMAT,
        "tenant": {"id": tenant["id"], "slug": slug},
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "tables": [{"name": name, "rows": len(rows[name])} for name in order],
        "files": [{"key": key, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                   "content_type": ctype} for key, data, ctype in files],
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name in order:
            table = Base.metadata.tables[name]
            lines = (json.dumps({c.name: _encode(c, row[c.name]) for c in table.columns},
                                ensure_ascii=False, sort_keys=True) for row in rows[name])
            archive.writestr(f"tables/{name}.jsonl", "".join(line + "\n" for line in lines))
        for key, data, _ in files:
            archive.writestr(f"files/{key}", data)
    summary.rows = {name: len(rows[name]) for name in order}
    summary.files = len(files)
    return summary


# --- import -------------------------------------------------------------------------------

def _read(archive: zipfile.ZipFile) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError:
        raise BackupError("not a tenant backup: manifest.json is missing") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}; "
                          f"this portal reads {FORMAT}")
    known = set(Base.metadata.tables)
    for entry in manifest["tables"]:
        if entry["name"] not in known:
            raise BackupError(f"the backup holds table {entry['name']!r}, which this portal "
                              "does not have (a newer version wrote it)")
    files: dict[str, bytes] = {}
    for entry in manifest["files"]:
        key = check_key(entry["key"])
        try:
            data = archive.read(f"files/{key}")
        except KeyError:
            raise BackupError(f"file {key!r} is listed but missing from the backup") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BackupError(f"file {key!r} does not match its sha256: the backup is damaged")
        files[key] = data
    return manifest, files


def _rows(archive: zipfile.ZipFile, table: Table, expected: int) -> list[dict[str, Any]]:
    raw = archive.read(f"tables/{table.name}.jsonl").decode("utf-8")
    columns = {c.name: c for c in table.columns}
    rows = []
    for line in raw.splitlines():
        data = json.loads(line)
        unknown = set(data) - set(columns)
        if unknown:
            raise BackupError(f"{table.name}: columns {sorted(unknown)} are not in this portal")
        rows.append({name: _decode(columns[name], value) for name, value in data.items()})
    if len(rows) != expected:
        raise BackupError(f"{table.name}: {len(rows)} rows where the manifest says {expected}")
    return rows


def _ids_taken(table: Table, ids: list[int]) -> bool:
    if not ids:
        return False
    with all_tenants():
        return db.session.scalar(select(func.count()).select_from(table).where(
            table.c.id.in_(ids))) > 0


def _insert(table: Table, row: dict[str, Any], keep_id: bool) -> int:
    values = dict(row)
    if not keep_id:
        values.pop("id")
    result = db.session.execute(table.insert().values(**values).returning(table.c.id))
    return result.scalar_one()


def _reset_sequence(table: Table) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        with all_tenants():
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                f"GREATEST((SELECT max(id) FROM {table.name}), 1))"))


def import_tenant(source: IO[bytes] | Path, *, storage: Storage) -> Summary:
    """Restore a backup written by `export_tenant` into this database and storage.

    On any failure the files written so far are removed again; the caller rolls back."""
    written: list[str] = []
    try:
        return _import(source, _Recording(storage, written))
    except BaseException:
        for key in written:
            storage.delete(key)
        raise


class _Recording:
    """A storage that notes the keys it writes, so a failed import can take them back."""

    def __init__(self, storage: Storage, written: list[str]) -> None:
        self.storage, self.written = storage, written

    def exists(self, key: str) -> bool:
        return self.storage.exists(key)

    def put(self, key: str, data: bytes, content_type: str) -> Any:
        stored = self.storage.put(key, data, content_type)
        self.written.append(key)
        return stored


def _import(source: IO[bytes] | Path, storage: Any) -> Summary:
    with zipfile.ZipFile(source) as archive:
        manifest, files = _read(archive)
        counts = {e["name"]: e["rows"] for e in manifest["tables"]}
        tables = {name: Base.metadata.tables[name] for name in counts}
        data = {name: _rows(archive, table, counts[name]) for name, table in tables.items()}

    tenants, users = tables["tenants"], tables["users"]
    [tenant_row] = data["tenants"]
    slug = tenant_row["slug"]
    if db.session.scalar(select(tenants.c.id).where(tenants.c.slug == slug)) is not None:
        raise BackupError(f"a center with the slug {slug!r} exists already")
    summary = Summary(tenant_slug=slug, tenant_id=0)
    #: table name -> old id -> new id
    ids: dict[str, dict[int, int]] = {name: {} for name in tables}

    keep = not _ids_taken(tenants, [tenant_row["id"]])
    new_tenant_id = _insert(tenants, tenant_row, keep)
    ids["tenants"][tenant_row["id"]] = new_tenant_id
    summary.tenant_id = new_tenant_id
    if not keep:
        summary.remapped.append("tenants")

    fresh_users = []
    for row in data["users"]:
        existing = db.session.scalar(select(users.c.id).where(
            func.lower(users.c.email) == row["email"].lower()))
        if existing is not None:
            ids["users"][row["id"]] = existing
            summary.users_matched += 1
        else:
            fresh_users.append(row)
    keep = not _ids_taken(users, [r["id"] for r in fresh_users])
    for row in fresh_users:
        ids["users"][row["id"]] = _insert(users, row, keep)
    if fresh_users and not keep:
        summary.remapped.append("users")
    _reset_sequence(users)
    _reset_sequence(tenants)

    # Audit events go last: they name objects of every other table by id.
    order = sorted(_tables(), key=lambda t: t.name == "audit_events")
    with tenant_scope(new_tenant_id):
        for table in order:
            rows = data.get(table.name, [])
            keep = not _ids_taken(table, [r["id"] for r in rows])
            if rows and not keep:
                summary.remapped.append(table.name)
            for row in rows:
                values = _rewire(table, row, ids, files, storage, new_tenant_id)
                ids[table.name][row["id"]] = _insert(table, values, keep)
            _reset_sequence(table)
            summary.rows[table.name] = len(rows)
        db.session.flush()
        index_restored(db.session, new_tenant_id, detector_settings())
        audit.record("tenant.imported", None, actor=None, tenant_id=new_tenant_id,
                     exported_at=manifest.get("exported_at"), remapped=summary.remapped,
                     files=len(files))
        db.session.flush()
    summary.rows["tenants"], summary.rows["users"] = 1, len(data["users"])
    summary.files = len(files)
    return summary


def _rewire(table: Table, row: dict[str, Any], ids: dict[str, dict[int, int]],
            files: dict[str, bytes], storage: Storage, tenant_id: int) -> dict[str, Any]:
    """The row with foreign keys pointing at the new ids and its stored file written back."""
    values = dict(row)
    values["tenant_id"] = tenant_id
    # One entry per column: a composite key names tenant_id too, and a SET NULL column has
    # two keys on the same parent (see `center.core.db.tenant_fk`).
    parents = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    for column, parent in parents.items():
        if column == "tenant_id" or values.get(column) is None:
            continue
        mapping = ids.get(parent)
        if mapping is None:
            raise BackupError(f"{table.name}.{column} refers to {parent}, "
                              "which the backup does not hold")
        try:
            values[column] = mapping[values[column]]
        except KeyError:
            raise BackupError(f"{table.name} {row['id']}: {column} = {values[column]} names "
                              "a row the backup does not hold") from None
    for (table_name, column), kinds in KEY_COLUMNS.items():
        if table.name == table_name and values.get(column):
            values[column] = _named_key(values[column], kinds, ids)
    if table.name == "audit_events":
        _audit_object(values, ids)
    if table.name == "document_fingerprints":  # derived from the blob (older backups lack it)
        values["signature"] = signature_bytes(values["blob"])
    if table.name in FILE_COLUMNS:
        key_column = FILE_COLUMNS[table.name][0]
        values[key_column] = _restore_file(values[key_column], files, storage, tenant_id,
                                           _content_type(table.name, values))
    return values


def _restore_file(key: str, files: dict[str, bytes], storage: Storage, tenant_id: int,
                  content_type: str) -> str:
    """Write a backed-up file to storage and return its key: the old one when it is free,
    else a fresh one under the tenant (a key in use belongs to a row already there)."""
    try:
        data = files[key]
    except KeyError:
        raise BackupError(f"stored file {key!r} is referred to but not in the backup") from None
    candidate, attempt = key, 0
    while storage.exists(candidate):
        attempt += 1
        candidate = f"t{tenant_id}/restored/{attempt}/{key}"
    storage.put(candidate, data, content_type)
    return candidate


def _named_key(key: str, kinds: dict[str, str], ids: dict[str, dict[int, int]]) -> str:
    """``<kind>:<id>`` with the id of the row as restored (kept when the backup does not
    hold it: the key then names nothing here, as it would have after a deletion)."""
    kind, sep, number = key.partition(":")
    mapping = ids.get(kinds.get(kind, ""), {})
    if not sep or not number.isdigit() or int(number) not in mapping:
        return key
    return f"{kind}:{mapping[int(number)]}"


def _audit_object(values: dict[str, Any], ids: dict[str, dict[int, int]]) -> None:
    """An audit event names its object by class and id (no foreign key): follow the id."""
    if values.get("object_type") is None or values.get("object_id") is None:
        return
    table = _table_of_class().get(values["object_type"])
    mapping = ids.get(table or "", {})
    if values["object_id"] in mapping:
        values["object_id"] = mapping[values["object_id"]]


def _table_of_class() -> dict[str, str]:
    return {m.class_.__name__: m.local_table.name for m in Base.registry.mappers}
