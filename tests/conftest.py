"""Fixtures shared by every test: the app on SQLite or PostgreSQL, clients, a two-tenant world.

The database comes from ``DATABASE_URL`` (``make test`` runs the suite once on SQLite and
once on PostgreSQL). The schema is created once per run; every test starts from empty
tables.
"""

from __future__ import annotations

import os
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
from sqlalchemy import text
from werkzeug.serving import make_server

from center import create_app
from center.core.db import db, tenant_scope
from center.dedup import services as dedup
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.world import World, build_world


def _database_url(tmp_root: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root / 'test.db'}"


def _test_settings(tmp_root: Path, **extra: object) -> dict[str, object]:
    return {
        "CENTER_ENV": "test",
        "DATABASE_URL": _database_url(tmp_root),
        "STORAGE_URL": str(tmp_root / "files"),
        "JOBS_EAGER": True,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def _reset_schema(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()


def _empty_tables(app: Flask) -> None:
    """Delete every row. DELETE in dependency order beats TRUNCATE on small tables: on
    PostgreSQL a TRUNCATE of every table costs a lock and a file swap per table per test."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("center")


@pytest.fixture(scope="session")
def app(tmp_root: Path) -> Iterator[Flask]:
    app = create_app(_test_settings(tmp_root))
    _reset_schema(app)
    yield app


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" in request.fixturenames:
        _empty_tables(request.getfixturevalue("app"))
        dedup.forget_indexes()


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
    page = context.new_page()
    yield page
    context.close()


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
