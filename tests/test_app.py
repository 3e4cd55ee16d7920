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


def test_production_cookies_are_secure() -> None:
    settings = load_settings({"CENTER_ENV": "production", "SECRET_KEY": "x" * 40})
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
