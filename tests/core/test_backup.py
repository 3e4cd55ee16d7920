"""A tenant's backup restores into an empty database, row by row and file by file."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from center import create_app
from center.agreements import services as agreements
from center.auth import services as accounts
from center.auth.models import User
from center.core.db import _tenant_tables, db, tenant_scope
from center.core.storage import LocalStorage
from center.dedup import services as dedup
from center.dedup.store import DERIVED_TABLES
from center.tenants.models import Role, Tenant
from tests.agreements.world_part import approved_proposal
from tests.conftest import _test_settings, admin_engine, app_role_url, create_schema
from tests.world import PASSWORD, World, build_side


def app_root(app: Flask) -> Path:
    return Path(app.config["STORAGE_URL"]).parent


@pytest.fixture()
def source(app: Flask, world: World) -> World:
    """The world plus, in tenant A, an approved proposal with its agreement PDF and letter."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = approved_proposal(world.a, title="Genomic surveillance",
                                     pi_name="Айгерим Нурлановна", korean_partner=True)
        tenant = db.session.get(Tenant, world.a.tenant_id)
        admin = db.session.get(User, world.a.user_ids[Role.admin])
        agreements.generate_agreement(proposal, by=admin, tenant=tenant)
        dedup.check_proposal(proposal, by=admin)  # its fingerprint, bands and n-gram counts
        db.session.commit()
        db.session.remove()
    return world


@pytest.fixture()
def empty_target(tmp_path: Path) -> Iterator[tuple[Flask, Engine]]:
    """A portal on an empty database (a scratch PostgreSQL database on PostgreSQL runs) and
    an empty file store; yields the app and the owner's engine."""
    url = os.environ.get("DATABASE_URL") or ""
    if url.startswith("postgresql"):
        name = f"{make_url(url).database}_restore"
        server = create_engine(url, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        target_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        server, name = None, None
        target_url = f"sqlite:///{tmp_path / 'restored.db'}"
    owner = create_engine(target_url)
    create_schema(owner)
    target = create_app(_test_settings(tmp_path, DATABASE_URL=app_role_url(target_url),
                                       STORAGE_URL=str(tmp_path / "restored-files")))
    yield target, owner
    with target.app_context():
        db.engine.dispose()
    owner.dispose()
    if server is not None:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


def _cli(app: Flask, *args: str):  # noqa: ANN202
    """Run a ``flask`` command as the ``flask`` script does: in an app context of its own."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def _tenant_rows(engine: Engine, tenant_id: int) -> dict[str, list[dict]]:
    """Every tenant-owned row of ``tenant_id`` read as the owner, ordered by id, audit
    events of the backup itself left out."""
    rows = {}
    with engine.connect() as conn:
        for name in sorted(_tenant_tables()):
            table = db.metadata.tables[name]
            query = select(table).where(table.c.tenant_id == tenant_id).order_by(
                *table.primary_key.columns)
            if name == "audit_events":
                query = query.where(table.c.action.not_in(["tenant.exported",
                                                           "tenant.imported"]))
            rows[name] = [dict(r) for r in conn.execute(query).mappings()]
    return rows


def _start_ids_where_the_backup_starts(owner: Engine, backup: Path) -> None:
    """Make the target's next ids those of the backup's first rows, so that they collide.

    An emptied SQLite table starts again at 1 as the suite's does; PostgreSQL's sequences
    run on across the suite's tests."""
    if owner.dialect.name != "postgresql":
        return
    with zipfile.ZipFile(backup) as archive, owner.begin() as conn:
        for name in ["tenants", "users", *sorted(_tenant_tables() - set(DERIVED_TABLES))]:
            ids = [json.loads(line)["id"] for line in
                   archive.read(f"tables/{name}.jsonl").decode().splitlines()]
            if ids:
                conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n, false)"),
                             {"t": name, "n": min(ids)})


#: Every column naming a stored file, written out (not read from `backup.FILE_COLUMNS`), so
#: that a kind of file the backup forgets fails the round trip.
STORED_FILES = (("attachments", "storage_key"), ("agreements", "pdf_key"),
                ("invitation_letters", "pdf_key"), ("report_attachments", "storage_key"),
                ("amendments", "pdf_key"))


def _stored_keys(rows: dict[str, list[dict]]) -> list[str]:
    return [r[column] for table, column in STORED_FILES for r in rows[table]]


def _sha(root: Path, key: str) -> str:
    return hashlib.sha256(LocalStorage(root).get(key)).hexdigest()


def test_a_tenant_round_trips_into_an_empty_database(app, source, tmp_root, tmp_path,  # noqa: ANN001
                                                     empty_target) -> None:
    backup = tmp_path / "alpha.zip"
    result = _cli(app, "export-tenant", "alpha", str(backup))
    assert result.exit_code == 0, result.output
    target, owner = empty_target

    result = _cli(target, "import-tenant", str(backup))
    assert result.exit_code == 0, result.output

    a = source.a.tenant_id
    before, after = _tenant_rows(admin_engine(tmp_root), a), _tenant_rows(owner, a)
    for name in sorted(_tenant_tables()):
        assert after[name] == before[name], name
    assert all(before[table] for table, _ in STORED_FILES), "the world stores each kind"
    assert len(before["proposals"]) >= 2  # the world's draft and the approved one
    # The duplicate index's rows are not in the file: the restore wrote them again, equal.
    assert before["document_fingerprints"] and before["dedup_lsh_buckets"], "the world checks"
    keys = _stored_keys(before)
    assert keys and all(_sha(tmp_root / "files", k) == _sha(tmp_path / "restored-files", k)
                        for k in keys)
    with owner.connect() as conn:
        emails = set(conn.execute(text("SELECT email FROM users")).scalars())
        slugs = conn.execute(text("SELECT slug FROM tenants")).scalars().all()
        imported = conn.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'tenant.imported'")).scalar_one()
    assert slugs == ["alpha"] and imported == 1
    assert set(source.a.emails.values()) <= emails
    assert not any(e.endswith("@beta.example") for e in emails)


def test_the_backup_holds_nothing_of_the_other_tenant(app, source, tmp_path) -> None:  # noqa: ANN001
    backup = tmp_path / "alpha.zip"
    assert _cli(app, "export-tenant", "alpha", str(backup)).exit_code == 0
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for member in archive.namelist():
            data = archive.read(member)
            assert b"beta" not in data.lower(), member
            if member.startswith("tables/") and member != "tables/users.jsonl":
                for line in data.decode().splitlines():
                    row = json.loads(line)
                    assert row.get("tenant_id", row.get("id")) == source.a.tenant_id, member
    assert [e["name"] for e in manifest["tables"]][:2] == ["tenants", "users"]
    assert {f["key"] for f in manifest["files"]} and all(
        f["key"].startswith(f"t{source.a.tenant_id}/") for f in manifest["files"])


def test_import_refuses_a_slug_that_exists(app, source, tmp_path) -> None:  # noqa: ANN001
    backup = tmp_path / "alpha.zip"
    assert _cli(app, "export-tenant", "alpha", str(backup)).exit_code == 0
    result = _cli(app, "import-tenant", str(backup))
    assert result.exit_code != 0
    assert "exists already" in result.output
    with app.app_context():
        assert db.session.scalar(select(Tenant.id).where(Tenant.slug == "alpha")) == \
            source.a.tenant_id


def test_import_refuses_a_file_that_does_not_match_its_hash(app, source, tmp_path,  # noqa: ANN001
                                                            empty_target) -> None:
    backup, damaged = tmp_path / "alpha.zip", tmp_path / "damaged.zip"
    assert _cli(app, "export-tenant", "alpha", str(backup)).exit_code == 0
    with zipfile.ZipFile(backup) as original, zipfile.ZipFile(damaged, "w") as copy:
        for member in original.namelist():
            data = original.read(member)
            if member.endswith(".pdf"):
                data = data.replace(b"%PDF-", b"%PDX-", 1)
            copy.writestr(member, data)
    target, owner = empty_target
    result = _cli(target, "import-tenant", str(damaged))
    assert result.exit_code != 0 and "sha256" in result.output
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 0
    assert not (tmp_path / "restored-files").exists() or not any(
        (tmp_path / "restored-files").rglob("*.pdf"))


def test_a_restore_beside_another_center_gets_new_ids_that_point_inside_it(  # noqa: ANN001
        app, source, tmp_path, empty_target) -> None:
    backup = tmp_path / "alpha.zip"
    assert _cli(app, "export-tenant", "alpha", str(backup)).exit_code == 0
    target, owner = empty_target
    _start_ids_where_the_backup_starts(owner, backup)
    with target.app_context():
        # Another center, built first, takes the ids alpha's rows had; its platform
        # administrator has the same e-mail as the one in the backup.
        platform = accounts.create_user(source.platform_admin, "Platform Root", PASSWORD,
                                        platform_admin=True)
        build_side("gamma", ["KZ", "AM"], platform)
        db.session.commit()
        db.session.remove()
    with owner.connect() as conn:
        users_before = conn.execute(text("SELECT count(*) FROM users")).scalar_one()

    result = _cli(target, "import-tenant", str(backup))
    assert result.exit_code == 0, result.output
    assert "New ids were given in: tenants, users" in result.output
    assert "1 existing accounts matched by e-mail" in result.output

    before = _tenant_rows(admin_engine(app_root(app)), source.a.tenant_id)
    with owner.connect() as conn:
        gamma, alpha = conn.execute(text("SELECT id FROM tenants ORDER BY id")).scalars()
        after = _tenant_rows(owner, alpha)
        for name in sorted(_tenant_tables()):
            assert len(after[name]) == len(before[name]), name
        # every foreign key of the restored center lands in the restored center
        for table in db.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column.table
                if table.name not in _tenant_tables() or parent.name not in _tenant_tables():
                    continue
                strays = conn.execute(text(
                    f"SELECT count(*) FROM {table.name} c JOIN {parent.name} p "  # noqa: S608
                    f"ON p.{fk.column.name} = c.{fk.parent.name} "
                    f"WHERE c.tenant_id = :t AND p.tenant_id <> :t"), {"t": alpha}
                ).scalar_one()
                assert strays == 0, f"{table.name}.{fk.parent.name}"
        # a double claim names the other text by "<kind>:<id>": it follows the new ids
        claims = conn.execute(text(
            "SELECT other_key FROM double_claims WHERE tenant_id = :t"), {"t": alpha}
        ).scalars().all()
        named = {int(k.removeprefix("p:")) for k in claims if k.startswith("p:")}
        proposals_here = set(conn.execute(text(
            "SELECT id FROM proposals WHERE tenant_id = :t"), {"t": alpha}).scalars())
        # audit events still name their own objects
        events = set(conn.execute(text(
            "SELECT object_id FROM audit_events WHERE tenant_id = :t "
            "AND action = 'agreement.generated'"), {"t": alpha}).scalars())
        agreements_here = set(conn.execute(text(
            "SELECT id FROM agreements WHERE tenant_id = :t"), {"t": alpha}).scalars())
        users_after = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
    assert events == agreements_here
    assert named and named <= proposals_here, claims
    assert agreements_here != {r["id"] for r in before["agreements"]}  # they were renumbered
    with zipfile.ZipFile(backup) as archive:
        rows = {t["name"]: t["rows"] for t in json.loads(archive.read("manifest.json"))["tables"]}
    assert users_after == users_before + rows["users"] - 1
    keys_before, keys_after = _stored_keys(before), _stored_keys(after)
    assert [_sha(app_root(app) / "files", k) for k in keys_before] == [
        _sha(tmp_path / "restored-files", k) for k in keys_after]


def test_restoring_a_center_twice_is_refused_and_leaves_no_files(app, source, tmp_path,  # noqa: ANN001
                                                                empty_target) -> None:
    backup = tmp_path / "alpha.zip"
    assert _cli(app, "export-tenant", "alpha", str(backup)).exit_code == 0
    target, owner = empty_target
    assert _cli(target, "import-tenant", str(backup)).exit_code == 0
    files = sorted(p for p in (tmp_path / "restored-files").rglob("*") if p.is_file())
    with owner.begin() as conn:
        conn.execute(text("UPDATE tenants SET slug = 'alpha-first'"))
    result = _cli(target, "import-tenant", str(backup))
    # invitation tokens, storage keys and the like are unique across the database
    assert result.exit_code != 0 and "collides with data already here" in result.output
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 1
    assert sorted(p for p in (tmp_path / "restored-files").rglob("*") if p.is_file()) == files
