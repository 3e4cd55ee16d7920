"""Figures for Prometheus at ``/metrics``: requests of this deployment, jobs and the outbox.

Two sources, one page:

- **Requests** (counts by endpoint, method and status; latency histograms by endpoint) are
  counted by each process in `prometheus_client` metrics. Under gunicorn several worker
  processes serve requests; with ``PROMETHEUS_MULTIPROC_DIR`` set (config/gunicorn.py sets
  it before any worker starts) each process writes its figures to files there and a scrape,
  served by whichever worker, adds them all up. Without it (``flask run``, tests) the
  figures are this process's own.
- **Jobs and the outbox** are read from the database at each scrape (`DatabaseCollector`),
  so every web process answers the same, whichever one is asked: jobs by task and state,
  the seconds finished jobs took from being queued to their end, and the mail waiting.

Who may read it: with ``METRICS_TOKEN`` set, a request carrying
``Authorization: Bearer <token>``; without it, only a client on the loopback address (the
machine itself, e.g. a Prometheus agent beside the portal). Everyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from center.core import clock
from center.core.db import all_tenants, db
from center.core.jobs import Job, JobStatus
from center.core.notifications import OutboxMessage

#: The Prometheus text format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Latency buckets in seconds: page views take milliseconds, a slow page a second or more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)

#: This process's request figures (written to PROMETHEUS_MULTIPROC_DIR when it is set).
_REQUESTS_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "center_http_requests", "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"], registry=_REQUESTS_REGISTRY)
LATENCY = Histogram(
    "center_http_request_duration_seconds", "Seconds to answer a request, by endpoint.",
    ["endpoint"], buckets=LATENCY_BUCKETS, registry=_REQUESTS_REGISTRY)

#: Job states, listed even while no job is in them (a rate needs the series to exist).
JOB_STATES = tuple(state.value for state in JobStatus)
_FINISHED = (JobStatus.done.value, JobStatus.failed.value)


def _endpoint() -> str:
    # Unmatched URLs (404s, probes for /wp-admin ...) share one label: a label per path
    # would let anyone grow the series without bound.
    return request.endpoint or "unmatched"


def start_timer() -> None:
    g.metrics_started = time.perf_counter()


def count_response(response: Any) -> Any:
    # A request refused by an earlier before_request hook (a NUL byte, an unknown center)
    # was never timed: it is counted all the same.
    started = g.pop("metrics_started", None)
    endpoint = _endpoint()
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


class DatabaseCollector(Collector):
    """Jobs and the outbox as the database holds them, read at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        with self.app.app_context(), all_tenants():
            try:
                yield from self._jobs()
                yield from self._outbox()
            finally:
                db.session.rollback()

    def _jobs(self) -> Iterator[Metric]:
        counts = GaugeMetricFamily(
            "center_jobs", "Jobs in the jobs table, by task and state.", labels=["task", "state"])
        seen: dict[str, dict[str, int]] = {}
        for task, state, number in db.session.execute(
                select(Job.task, Job.status, func.count()).group_by(Job.task, Job.status)):
            seen.setdefault(task, {})[str(state)] = number
        for task in sorted(seen):
            for state in JOB_STATES:
                counts.add_metric([task, state], seen[task].get(state, 0))
        yield counts

        # Durations from being queued to the end, added up by the database: one row per
        # task and state, however many jobs the table holds.
        duration = SummaryMetricFamily(
            "center_job_duration_seconds",
            "Seconds finished jobs took from being queued to their end, by task and state.",
            labels=["task", "state"])
        rows = db.session.execute(
            select(Job.task, Job.status, func.count(), func.sum(_seconds_between(
                Job.created_at, Job.finished_at)))
            .where(Job.status.in_(_FINISHED), Job.finished_at.is_not(None))
            .group_by(Job.task, Job.status).order_by(Job.task, Job.status))
        for task, state, number, seconds in rows:
            duration.add_metric([task, str(state)], count_value=number,
                                sum_value=float(seconds or 0.0))
        yield duration

    def _outbox(self) -> Iterator[Metric]:
        pending = OutboxMessage.sent_at.is_(None)
        number, oldest = db.session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(pending)).one()
        yield GaugeMetricFamily(
            "center_outbox_pending", "E-mails in the outbox not sent yet.", value=number)
        age = (clock.now() - _as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "center_outbox_oldest_pending_seconds",
            "Age of the oldest e-mail not sent yet (0 when none waits).", value=max(age, 0.0))


def _seconds_between(start: Any, end: Any) -> Any:
    """SQL for the seconds from ``start`` to ``end`` (both naive UTC timestamps)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def may_read_metrics() -> bool:
    """Whether this request may read ``/metrics`` (see the module's docstring)."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.remote_addr in {"127.0.0.1", "::1"}


def render(app: Flask) -> bytes:
    """The whole page in the Prometheus text format."""
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        requests_registry = CollectorRegistry()
        MultiProcessCollector(requests_registry, path=multiproc_dir)
    else:
        requests_registry = _REQUESTS_REGISTRY
    database_registry = CollectorRegistry(auto_describe=False)
    database_registry.register(DatabaseCollector(app))
    return generate_latest(requests_registry) + generate_latest(database_registry)
