"""Fixtures shared by every test: the app on SQLite or PostgreSQL, clients, a two-tenant world.

The database comes from ``DATABASE_URL`` (``make test`` runs the suite once on SQLite and
once on PostgreSQL). The schema is created once per run; every test starts from empty
tables.

On PostgreSQL the schema is created as the ``DATABASE_URL`` user (a superuser), with the
row-level security policies and the audit trigger the migrations write, and the portal
under test connects as `APP_ROLE`, which neither owns the tables nor bypasses row-level
security: the whole suite runs under the policies, as production does.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto.server import ThreadedMotoServer
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.serving import make_server

from center import create_app
from center.core.audit import APPEND_ONLY_SQL
from center.core.db import _tenant_tables, db, rls_policy_sql, tenant_scope
from center.dedup import services as dedup
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, AxeWatch
from tests.world import World, build_world

#: The PostgreSQL role the portal under test connects as: no owner, no superuser, no BYPASSRLS.
APP_ROLE = "center_app"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist on PostgreSQL, give each worker a database of its own (``test_gw0``
    ... beside ``test``, created once), since every test empties the tables of its database;
    a plain run uses ``DATABASE_URL``'s database. Either way its commits do not wait for the
    disk (``synchronous_commit = off``, a setting of that database only)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("DATABASE_URL", "")
    if not _is_postgres(url):
        return
    base = make_url(url)
    name = f"{base.database}_{worker}" if worker else base.database
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                       {"name": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash: commits need not wait for the disk.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    engine.dispose()
    os.environ["DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)


def _admin_url(tmp_root: Path) -> str:
    """The URL that creates and empties the schema (on PostgreSQL, a superuser's)."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root / 'test.db'}"


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def app_role_url(url: str) -> str:
    """``url`` as the portal connects to it: on PostgreSQL as `APP_ROLE`."""
    if not _is_postgres(url):
        return url
    return make_url(url).set(username=APP_ROLE, password=None).render_as_string(
        hide_password=False)


def _database_url(tmp_root: Path) -> str:
    """The URL the portal under test connects with (on PostgreSQL, as `APP_ROLE`)."""
    return app_role_url(_admin_url(tmp_root))


_admin_engines: dict[str, Engine] = {}


def admin_engine(tmp_root: Path) -> Engine:
    """An engine as the schema's owner (superuser on PostgreSQL), which RLS does not bind."""
    url = _admin_url(tmp_root)
    if url not in _admin_engines:
        _admin_engines[url] = create_engine(url)
    return _admin_engines[url]


def _test_settings(tmp_root: Path, **extra: object) -> dict[str, object]:
    return {
        "CENTER_ENV": "test",
        "DATABASE_URL": _database_url(tmp_root),
        "STORAGE_URL": str(tmp_root / "files"),
        "DEDUP_INDEX_DIR": str(tmp_root / "dedup-index"),
        "JOBS_EAGER": True,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def _create_app_role(conn: object, database: str) -> None:
    """Create `APP_ROLE` (once per cluster) and grant it plain data access, nothing more."""
    conn.execute(text(f"""
        DO $$ BEGIN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$"""))
    conn.execute(text(f"ALTER ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
    conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {APP_ROLE}'))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                      f"TO {APP_ROLE}"))
    # The audit trail is append-only: the portal may add and read events, nothing else.
    conn.execute(text(f"REVOKE UPDATE, DELETE ON audit_events FROM {APP_ROLE}"))
    # UPDATE lets a restore (center/core/backup.py) move a sequence past the ids it kept.
    conn.execute(text(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public "
                      f"TO {APP_ROLE}"))


def _reset_schema(tmp_root: Path) -> None:
    create_schema(admin_engine(tmp_root))


def create_schema(engine: Engine) -> None:
    """Create the models' schema from scratch through ``engine`` (the owner's); on
    PostgreSQL with the migrations' policies and trigger, and access for `APP_ROLE`."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            db.metadata.create_all(conn)
            for table in sorted(_tenant_tables()):
                for statement in rls_policy_sql(table):
                    conn.execute(text(statement))
            for statement in APPEND_ONLY_SQL:
                conn.execute(text(statement))
            _create_app_role(conn, engine.url.database)
    else:
        db.metadata.drop_all(engine)
        db.metadata.create_all(engine)


def _empty_tables(app: Flask, tmp_root: Path) -> None:
    """Delete every row. DELETE in dependency order beats TRUNCATE on small tables: on
    PostgreSQL a TRUNCATE of every table costs a lock and a file swap per table per test.

    On PostgreSQL this runs as the superuser with ``session_replication_role = replica``,
    which deliberately skips the audit trail's append-only trigger (and row-level security
    does not bind a superuser); the portal's own role can do neither. It also restarts every
    sequence, so that each test's world has the same ids on PostgreSQL as on SQLite (which
    reuses them once the rows are gone): the world's agreement PDFs, memoised by their exact
    content (ids included), are then rendered once per run, not once per test."""
    with app.app_context():
        db.session.remove()
    engine = admin_engine(tmp_root)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                              "JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.relkind = 'S' AND n.nspname = 'public'"))


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("center")


@pytest.fixture(scope="session")
def app(tmp_root: Path) -> Iterator[Flask]:
    app = create_app(_test_settings(tmp_root))  # imports every model into the metadata
    _reset_schema(tmp_root)
    yield app


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" in request.fixturenames:
        _empty_tables(request.getfixturevalue("app"), request.getfixturevalue("tmp_root"))
        dedup.forget_indexes()
        shutil.rmtree(request.getfixturevalue("tmp_root") / "dedup-index", ignore_errors=True)


@pytest.fixture()
def ctx(app: Flask) -> Iterator[None]:
    """Run the test inside an application context (for services and queries)."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def world(app: Flask) -> World:
    """Two tenants, A and B, each with donors, institutes and a user in every role."""
    with app.app_context():
        built = build_world()
        db.session.commit()
        db.session.remove()
    return built


@pytest.fixture()
def in_tenant(app: Flask, world: World) -> Iterator[World]:
    """An application context scoped to tenant A of the world."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        yield world
        db.session.remove()


class Browser:
    """Log a test client in as one of the world's users."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = "correct horse battery") -> FlaskClient:
        response = self.client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return self.client


@pytest.fixture()
def login(client: FlaskClient, world: World):  # noqa: ANN201
    """Return a function that signs the test client in as an e-mail address."""
    return Browser(client).login


# --- a live portal and headless Debian Chromium, for tests that use the `page` fixture ----

@pytest.fixture(scope="session")
def live_app(tmp_root: Path, app: Flask) -> Flask:
    """The same database as the suite's app, with CSRF on as in production."""
    return create_app(_test_settings(tmp_root, WTF_CSRF_ENABLED=True))


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(chromium, live_server: str):  # noqa: ANN001, ANN201
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    axe = AxeWatch(context)  # every page the test visits is checked with axe-core
    page = context.new_page()
    yield page
    axe.settle(page)
    context.close()
    assert not axe.failures(), "axe-core found:\n" + "\n".join(axe.failures())


# --- a real S3 endpoint served by moto over HTTP -----------------------------------------

#: Dummy credentials: moto accepts any, and real ones must never be picked up by tests.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Serve the S3 API on 127.0.0.1 for the session and yield its endpoint URL."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_AWS_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """Create an empty bucket of its own for one test and return its name."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name
