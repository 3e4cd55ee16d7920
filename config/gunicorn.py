"""gunicorn settings for the portal: ``gunicorn -c config/gunicorn.py wsgi:app``.

Each value can be changed from the environment (``GUNICORN_BIND``, ``GUNICORN_WORKERS``,
``GUNICORN_THREADS``, ``GUNICORN_TIMEOUT``). The request figures of /metrics are kept per
worker process in ``PROMETHEUS_MULTIPROC_DIR`` (center/core/metrics.py): this file sets it
before any worker imports prometheus_client, empties it when gunicorn starts (figures of a
previous run would be added in), and drops a dead worker's live figures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# "-" logs each request to stdout; empty turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
# The web never waits on long work (jobs), so a request that holds a worker this long is
# stuck: gunicorn kills and replaces it.
graceful_timeout = 30

_METRICS_DIR = Path(os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"center-metrics-{os.getpid()}")))


def on_starting(server: Any) -> None:
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)


def on_exit(server: Any) -> None:
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_METRICS_DIR))
