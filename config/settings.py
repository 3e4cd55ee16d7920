"""Read every setting from the environment, over one dict of defaults.

`CENTER_ENV` picks the environment: ``development`` (the default, what `make run` uses),
``production`` or ``test``. Every key below can be overridden by an environment variable of
the same name; tests pass a mapping straight into ``create_app``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("CENTER_INSTANCE_PATH", ROOT / "instance"))

#: Defaults that are safe in every environment. Anything secret has no default.
DEFAULTS: dict[str, Any] = {
    "CENTER_ENV": "development",
    "DATABASE_URL": f"sqlite:///{INSTANCE / 'center.db'}",
    #: The role that owns the tables and runs `flask db upgrade` (PostgreSQL); DATABASE_URL
    #: is then the portal's own role, bound by row-level security. Unset: DATABASE_URL.
    "DATABASE_OWNER_URL": None,
    "STORAGE_URL": str(INSTANCE / "files"),
    "S3_ENDPOINT_URL": None,
    "REDIS_URL": None,
    "MAIL_SERVER": None,
    "MAIL_PORT": 587,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": True,
    "MAIL_FROM": "Center portal <no-reply@center.invalid>",
    "PUBLIC_URL": "http://127.0.0.1:5000",
    #: Host names the portal answers to, comma-separated, besides PUBLIC_URL's own host (which
    #: is always trusted); a request with any other ``Host`` header gets 400.
    "TRUSTED_HOSTS": "",
    #: How many reverse proxies in front of the portal set X-Forwarded-For/-Proto/-Host;
    #: 0 trusts none of those headers.
    "PROXY_COUNT": 0,
    #: Show the e-mail outbox to the platform administrator (development only by default).
    "OUTBOX_VISIBLE": None,
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    #: Failed sign-ins from one client address (any account) that block it for the window.
    "LOGIN_IP_MAX_FAILURES": 20,
    #: A session ends after this long without a request ...
    "SESSION_IDLE_SECONDS": 2 * 60 * 60,
    #: ... and this long after sign-in, however busy.
    "SESSION_MAX_SECONDS": 12 * 60 * 60,
    #: "Keep me signed in": the session and its cookie end this long after sign-in.
    "REMEMBER_SECONDS": 30 * 24 * 60 * 60,
    #: Parked input (center/core/forms.py): largest parked form and most kept per user.
    "PENDING_INPUT_MAX_BYTES": 64 * 1024,
    "PENDING_INPUT_MAX_PER_USER": 5,
    #: A co-applicant invitation can be accepted this many days after it was sent.
    "COLLABORATOR_INVITATION_DAYS": 14,
    #: Request rate limits (Flask-Limiter syntax) per client address; off in tests unless
    #: RATE_LIMITS is set. Counted in memory, or in Redis when REDIS_URL is set.
    "RATE_LIMITS": None,
    "LIMIT_SIGN_IN": "10 per minute; 100 per hour",
    "LIMIT_PASSWORD_RESET": "5 per minute; 30 per hour",
    "LIMIT_REGISTRATION": "5 per minute; 30 per hour",
    "LIMIT_INVITATIONS": "20 per hour",
    "LIMIT_UPLOADS": "30 per minute",
    "LIMIT_JOBS": "10 per minute",
    #: Requests to the JSON API per token (per client address without one).
    "LIMIT_API": "120 per minute; 3000 per hour",
    "PASSWORD_RESET_MAX_AGE": 60 * 60,
    #: How long an invitation to a role in a center stays valid.
    "INVITATION_MAX_AGE_DAYS": 14,
    #: Run background jobs synchronously right after the commit that queued them.
    "JOBS_EAGER": False,
    #: Background jobs (center/core/jobs.py): an RQ job is stopped after this long; a running
    #: job whose worker has not shown a sign of life for JOB_LEASE_SECONDS is given to
    #: another worker; a queued job not picked up within JOB_REDISPATCH_SECONDS is handed to
    #: the queue again; a failed attempt waits JOB_RETRY_BASE_SECONDS × 4^(attempt-1).
    "JOB_TIMEOUT_SECONDS": 3600,
    "JOB_LEASE_SECONDS": 300,
    "JOB_REDISPATCH_SECONDS": 300,
    "JOB_RETRY_BASE_SECONDS": 30,
    #: Mail delivery (center/core/mail.py): attempts per message for temporary SMTP errors,
    #: waiting MAIL_RETRY_BASE_SECONDS × 4^(attempt-1) between them; SMTP socket timeout.
    "MAIL_MAX_ATTEMPTS": 5,
    "MAIL_RETRY_BASE_SECONDS": 60,
    "MAIL_TIMEOUT_SECONDS": 30,
    #: The scheduler (flask --app wsgi scheduler): how often it delivers mail and sweeps
    #: lost jobs, when the daily work (reminders, deadlines) runs (cron syntax, the
    #: scheduler's local time), and how long its lock outlives a scheduler that died.
    "SCHEDULE_MAIL_SECONDS": 60,
    "SCHEDULE_SWEEP_SECONDS": 60,
    "SCHEDULE_DAILY_CRON": "15 5 * * *",
    "SCHEDULER_LOCK_SECONDS": 180,
    #: Semantic duplicate stage: "auto" uses the embedding model where it is installed.
    "DEDUP_EMBEDDINGS": "auto",
    #: Where the process that runs duplicate checks (the `dedup` queue's worker) keeps its
    #: vector index files; they are caught up from the database, never needed for recovery.
    "DEDUP_INDEX_DIR": str(INSTANCE / "dedup-index"),
    #: Hosts (host or host:port, comma-separated) the centers' sanctions lists may be fetched
    #: from on a schedule; empty: lists are only uploaded. And how long one fetch may take.
    "SANCTIONS_SOURCE_HOSTS": "",
    "SANCTIONS_FETCH_TIMEOUT_SECONDS": 60,
    #: Bearer token that may read /metrics; unset, only loopback clients may.
    "METRICS_TOKEN": None,
    "LOG_LEVEL": "INFO",
    "LOG_JSON": None,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}


#: Booleans whose default (None) is decided by the environment.
_TRISTATE = {"OUTBOX_VISIBLE", "LOG_JSON", "RATE_LIMITS"}


def _coerce(key: str, raw: str) -> Any:
    default = DEFAULTS.get(key)
    if isinstance(default, bool) or key in _TRISTATE:
        try:
            return _BOOL[raw.strip().lower()]
        except KeyError:
            raise ValueError(f"{key} must be a boolean, got {raw!r}") from None
    if isinstance(default, int):
        return int(raw)
    return raw


def _development_secret_key() -> str:
    """Return this machine's development key, made once and kept under instance/."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _trusted_hosts(settings: dict[str, Any]) -> list[str] | None:
    """Return Flask's ``TRUSTED_HOSTS``: PUBLIC_URL's host and the configured extra hosts; in
    development and tests also the loopback names the test client and browser use."""
    raw = settings["TRUSTED_HOSTS"]
    if isinstance(raw, list | tuple):
        return list(raw)
    hosts = [h.strip() for h in str(raw).split(",") if h.strip()]
    public_host = urlsplit(settings["PUBLIC_URL"]).hostname
    if public_host:
        hosts.append(public_host)
    if settings["CENTER_ENV"] != "production":
        hosts += ["localhost", "127.0.0.1", "::1"]
    return sorted(set(hosts))


class UnsafeProductionSettings(RuntimeError):
    """Production was asked for with the embedded, single-machine defaults."""


def _refuse_toy_production(settings: dict[str, Any]) -> None:
    """Refuse to start production on the embedded defaults, naming every missing setting."""
    problems = []
    if not settings.get("SECRET_KEY"):
        problems.append("SECRET_KEY is not set")
    if not str(settings.get("DATABASE_URL") or "").startswith("postgresql"):
        problems.append("DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg://...)")
    if not str(settings.get("STORAGE_URL") or "").startswith("s3://"):
        problems.append("STORAGE_URL must be an s3://bucket/prefix URL")
    if not settings.get("REDIS_URL"):
        problems.append("REDIS_URL is not set (background jobs need a queue)")
    if problems:
        raise UnsafeProductionSettings(
            "CENTER_ENV=production refuses to start: " + "; ".join(problems) + ".")


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the settings: defaults, then the environment, then ``overrides``."""
    settings = dict(DEFAULTS)
    for key in list(DEFAULTS) + ["SECRET_KEY"]:
        if key in os.environ:
            settings[key] = _coerce(key, os.environ[key])
    settings.update(overrides or {})

    env = settings["CENTER_ENV"]
    if env not in {"development", "production", "test"}:
        raise ValueError(f"CENTER_ENV must be development, production or test, not {env!r}")
    if env == "production":
        _refuse_toy_production(settings)
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = (
            secrets.token_urlsafe(32) if env == "test" else _development_secret_key()
        )

    production = env == "production"
    if settings["OUTBOX_VISIBLE"] is None:
        settings["OUTBOX_VISIBLE"] = not production
    if settings["LOG_JSON"] is None:
        settings["LOG_JSON"] = production

    # Flask and extension keys derived from ours.
    settings["TRUSTED_HOSTS"] = _trusted_hosts(settings)
    settings["SQLALCHEMY_DATABASE_URI"] = settings["DATABASE_URL"]
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    settings["MAX_CONTENT_LENGTH"] = settings["UPLOAD_MAX_BYTES"] + 1024 * 1024
    settings["SESSION_COOKIE_HTTPONLY"] = True
    settings["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings["SESSION_COOKIE_SECURE"] = production
    settings["REMEMBER_COOKIE_SECURE"] = production
    settings["REMEMBER_COOKIE_HTTPONLY"] = True
    settings["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    settings["REMEMBER_COOKIE_DURATION"] = dt.timedelta(seconds=settings["REMEMBER_SECONDS"])
    if production:
        # __Host-: the browser keeps the cookie only if Secure, for "/", with no Domain.
        settings["SESSION_COOKIE_NAME"] = "__Host-session"
        settings["REMEMBER_COOKIE_NAME"] = "__Host-remember"
        settings["SESSION_COOKIE_PATH"] = settings["REMEMBER_COOKIE_PATH"] = "/"
    if settings["RATE_LIMITS"] is None:
        settings["RATE_LIMITS"] = env != "test"
    # Flask-Limiter's own switch is global to the process; RATE_LIMITS is per app.
    settings["RATELIMIT_ENABLED"] = True
    settings["RATELIMIT_STORAGE_URI"] = settings["REDIS_URL"] or "memory://"
    settings["RATELIMIT_HEADERS_ENABLED"] = True
    settings["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session, not a clock: no lost forms
    settings["TESTING"] = env == "test"
    settings["PASSWORD_HASH_FAST"] = env == "test"
    return settings
