"""Structured logging: one JSON object per line in production, readable text elsewhere."""

from __future__ import annotations

import json
import logging
import time
import uuid

from flask import Flask, g, has_request_context, request


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line with the request's id, path and tenant."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["path"] = request.path
            tenant = g.get("tenant")
            entry["tenant"] = tenant.slug if tenant is not None else None
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """Set the root handler's format and level, and log one line per request."""
    handler = logging.StreamHandler()
    if app.config["LOG_JSON"]:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    # WeasyPrint narrates every rendering step at INFO; only its warnings matter here.
    for noisy in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    access = logging.getLogger("center.access")

    @app.before_request
    def start_timer() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):  # type: ignore[no-untyped-def]
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        access.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response
