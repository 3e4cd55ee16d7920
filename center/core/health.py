"""Readiness: can this process reach the database, the job queue and the file storage?

`readiness` runs one cheap probe per dependency and says, for each, ``ok`` or what is
wrong. ``/readyz`` answers 503 while any probe fails, so a load balancer sends no traffic
to a web process that would only fail; ``/healthz`` (alive) asks the database alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from redis import Redis
from sqlalchemy import text

from center.core.db import db
from center.core.storage import LocalStorage, S3Storage
from center.extensions import current_storage

#: Seconds a probe may wait on Redis before the dependency counts as unreachable.
REDIS_TIMEOUT = 2.0


def check_database() -> str:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return "ok"


def check_redis(app: Flask) -> str:
    url = app.config.get("REDIS_URL")
    if not url:
        # Development on the embedded defaults: jobs run in threads of this process.
        return "not configured (jobs run in process)"
    client = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                            socket_connect_timeout=REDIS_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_storage() -> str:
    storage: Any = current_storage()
    if isinstance(storage, S3Storage):
        storage.client.head_bucket(Bucket=storage.bucket)
        return "ok"
    if isinstance(storage, LocalStorage):
        # The directory is made on the first write: its nearest existing parent must be
        # a writable directory.
        path: Path = storage.root
        while not path.exists():
            path = path.parent
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            raise OSError(f"{path} is not a writable directory")
        return "ok"
    raise TypeError(f"no readiness probe for {type(storage).__name__}")


def readiness(app: Flask) -> tuple[bool, dict[str, str]]:
    """Probe every dependency; return whether all answer and each one's state. Runs in an
    application context of its own, so that a worker's health check can call it too."""
    with app.app_context():
        return _probe_all(app)


def _probe_all(app: Flask) -> tuple[bool, dict[str, str]]:
    probes = {
        "database": check_database,
        "redis": lambda: check_redis(app),
        "storage": check_storage,
    }
    states: dict[str, str] = {}
    ready = True
    for name, probe in probes.items():
        try:
            states[name] = probe()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            if name == "database":
                db.session.rollback()
            app.logger.error("readiness: %s unreachable: %s", name, exc)
            states[name] = f"unreachable: {type(exc).__name__}"
            ready = False
    return ready, states
