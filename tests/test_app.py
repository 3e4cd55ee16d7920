"""The application as a whole: factory, settings, health, headers, declared permissions."""

from __future__ import annotations

import pytest

from center import create_app
from config import load_settings


def test_production_refuses_to_start_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings({"CENTER_ENV": "production"})


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "1234")
    monkeypatch.setenv("JOBS_EAGER", "yes")
    settings = load_settings({"CENTER_ENV": "test"})
    assert settings["UPLOAD_MAX_BYTES"] == 1234
    assert settings["JOBS_EAGER"] is True


#: What production needs at the least: a key, PostgreSQL, S3 and Redis.
PRODUCTION = {"CENTER_ENV": "production", "SECRET_KEY": "x" * 40,
              "DATABASE_URL": "postgresql+psycopg://center@db/center",
              "STORAGE_URL": "s3://center-files/prod", "REDIS_URL": "redis://redis:6379/0"}


@pytest.mark.parametrize("missing, said", [
    ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ({"DATABASE_URL": "sqlite:///instance/center.db"}, "DATABASE_URL must be a PostgreSQL"),
    ({"STORAGE_URL": "instance/files"}, "STORAGE_URL must be an s3://"),
    ({"REDIS_URL": None}, "REDIS_URL is not set"),
])
def test_production_refuses_the_embedded_defaults_and_says_which(monkeypatch, missing,
                                                                said) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "STORAGE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=said):
        load_settings({**PRODUCTION, **missing})


def test_production_names_every_missing_setting_at_once(monkeypatch) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "STORAGE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError) as refused:
        load_settings({"CENTER_ENV": "production"})
    assert all(n in str(refused.value) for n in ("SECRET_KEY", "DATABASE_URL", "STORAGE_URL",
                                                   "REDIS_URL"))


@pytest.mark.parametrize("raw, value", [("false", False), ("0", False), ("no", False),
                                        ("off", False), ("true", True), ("1", True)])
def test_boolean_settings_read_false_as_false(monkeypatch, raw: str, value: bool) -> None:
    monkeypatch.setenv("MAIL_USE_TLS", raw)
    assert load_settings({"CENTER_ENV": "test"})["MAIL_USE_TLS"] is value


def test_seed_demo_refuses_production(app) -> None:
    app.config["CENTER_ENV"] = "production"
    try:
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["seed-demo"])
    finally:
        app.config["CENTER_ENV"] = "test"
    assert result.exit_code != 0 and "does not run in production" in result.output


def test_production_cookies_are_secure() -> None:
    settings = load_settings(PRODUCTION)
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"]
    assert settings["OUTBOX_VISIBLE"] is False


def test_healthz_checks_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path) -> None:
    broken = create_app({"CENTER_ENV": "test",
                         "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503


def test_every_response_carries_security_headers(client) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_view_declares_who_may_call_it(app) -> None:
    undeclared = [
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not getattr(view, "access", None)
    ]
    assert undeclared == []
