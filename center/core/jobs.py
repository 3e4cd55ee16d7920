"""Long work behind one interface: queue a named task, watch its progress, read its result.

A task is a function registered with `@task("name")` taking the `Job` and keyword
parameters. `enqueue` adds a `Job` row to the current transaction; once that transaction
commits, the job is dispatched: to a Redis-backed queue (RQ) when ``REDIS_URL`` is set and a
``flask --app wsgi worker`` runs, or to a thread of this process otherwise. The task reports
progress with `Job.advance`, which commits, so a page can poll ``/jobs/<id>``.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from sqlalchemy import JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from center.core import clock
from center.core.db import TenantScoped, UTCDateTime, all_tenants, db, tenant_scope
from center.core.labels import humanize

log = logging.getLogger(__name__)

_TASKS: dict[str, Callable[..., Any]] = {}
_TASK_LABELS: dict[str, Any] = {}


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(TenantScoped, db.Model):
    """One run of a task, with its progress and outcome."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(String(10), default=JobStatus.queued)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def task_label(self) -> str:
        return str(_TASK_LABELS.get(self.task) or humanize(self.task))

    @property
    def percent(self) -> int:
        if self.status == JobStatus.done:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.done, JobStatus.failed)

    def advance(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress and commit it, so that watchers see it at once."""
        self.done = done
        if total is not None:
            self.total = total
        if message:
            self.message = message
        db.session.commit()


def task(name: str, label: Any = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(job, **params)`` as the task called ``name``; ``label`` (a lazy
    string) names it on its progress page."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        _TASKS[name] = func
        if label is not None:
            _TASK_LABELS[name] = label
        return func

    return decorator


def enqueue(name: str, *, by: Any, **params: Any) -> Job:
    """Queue task ``name``; it starts once the current transaction commits."""
    if name not in _TASKS:
        raise KeyError(f"unknown task {name!r}")
    job = Job(task=name, params=params, created_by_id=getattr(by, "id", None),
              created_at=clock.now())
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault("jobs_to_dispatch", []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    job_ids = session.info.pop("jobs_to_dispatch", [])
    if job_ids:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for job_id in job_ids:
            _dispatch(app, job_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("jobs_to_dispatch", None)


def _dispatch(app: Flask, job_id: int) -> None:
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        Queue("center", connection=Redis.from_url(redis_url)).enqueue(
            "center.core.jobs.run_job_in_worker", job_id, job_timeout=3600
        )
        return
    thread = threading.Thread(target=run_job, args=(app, job_id), daemon=True,
                              name=f"job-{job_id}")
    thread.start()
    if app.config.get("JOBS_EAGER"):
        thread.join()


def run_job(app: Flask, job_id: int) -> None:
    """Run one job to the end in its own application context and session."""
    with app.app_context():
        with all_tenants():
            job = db.session.get(Job, job_id)
            if job is None or job.status != JobStatus.queued:
                return
            tenant_id = job.tenant_id
        with tenant_scope(tenant_id):
            job = db.session.get(Job, job_id)
            job.status = JobStatus.running
            db.session.commit()
            try:
                result = _TASKS[job.task](job, **job.params)
            except Exception as exc:
                log.exception("job %s (%s) failed", job_id, job.task)
                db.session.rollback()
                job = db.session.get(Job, job_id)
                job.status = JobStatus.failed
                job.error = str(exc) or type(exc).__name__
            else:
                job.status = JobStatus.done
                job.result = result or {}
            job.finished_at = clock.now()
            db.session.commit()


def run_job_in_worker(job_id: int) -> None:
    """Entry point for the RQ worker started by ``flask --app wsgi worker``."""
    run_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
