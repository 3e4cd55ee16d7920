"""Long work behind one interface: queue a named task, watch its progress, read its result.

A task is a function registered with `@task("name")` taking the `Job` and keyword
parameters. `enqueue` adds a `Job` row to the current transaction; once that transaction
commits, the job is dispatched: to a Redis-backed queue (RQ) when ``REDIS_URL`` is set and a
``flask --app wsgi worker`` runs, or to a thread of this process otherwise (the embedded
defaults of ``make run``; ``JOBS_EAGER`` runs it at once, for tests and ``seed-demo``). The
task reports progress with `Job.advance`, which commits, so a page can poll ``/jobs/<id>``.

The row, not the Redis message, is the truth, so nothing is lost:

- a worker *claims* a job with one conditional UPDATE (``queued`` → ``running``, one more
  attempt); a second delivery of the same message finds it claimed and does nothing;
- while it runs, the worker refreshes ``heartbeat_at`` (`Job.advance` and a heartbeat
  thread); `center.core.sweeper` puts back a job whose heartbeat is older than
  ``JOB_LEASE_SECONDS`` (its worker died) and re-dispatches jobs left queued (Redis was down
  at dispatch, or lost the message), so that another worker finishes them;
- a task that raises is retried with exponential backoff (``run_after``) up to its
  ``retries``, except for the exceptions it declares ``permanent``.

A job can therefore run more than once: every task is idempotent or guarded (it checks what
an earlier attempt already committed), see `center.agreements.services` for an example.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import JSON, ForeignKey, String, Text, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from center.core import clock
from center.core.db import (
    ALL_TENANTS,
    TenantScoped,
    UTCDateTime,
    all_tenants,
    apply_database_scope,
    db,
    tenant_scope,
)
from center.core.labels import humanize

log = logging.getLogger(__name__)

#: The RQ queue a job goes to unless its task names another.
QUEUE_NAME = "center"
#: The queue of duplicate-effort checks: its worker owns the vector index
#: (`center.dedup.store`), so web processes and the other workers hold none.
DEDUP_QUEUE = "dedup"


@dataclass(frozen=True)
class TaskSpec:
    func: Callable[..., Any]
    label: Any
    retries: int
    permanent: tuple[type[BaseException], ...]
    queue: str = QUEUE_NAME


_TASKS: dict[str, TaskSpec] = {}


class PermanentJobError(Exception):
    """Raised by a task for a failure that another attempt cannot fix: no retry."""


def N_(message: str) -> str:  # noqa: N802 - the name gettext's extractors know
    """Mark a progress message for translation where it is stored; `Job.message_label`
    translates it when it is read."""
    return message


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
    status: Mapped[JobStatus] = mapped_column(String(10), default=JobStatus.queued, index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Attempts started so far, and how many are allowed (1 + the task's retries).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    #: Not to be started before this moment (the backoff after a failed attempt).
    run_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Last time the job was handed to the queue; None: never (or to be handed again).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Last sign of life of the worker running it.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Which worker runs (or last ran) it: "host:pid".
    worker: Mapped[str | None] = mapped_column(String(120))

    @property
    def message_label(self) -> str:
        """The progress message in the reader's language (tasks store the English text,
        marked with `N_` where they write it)."""
        return gettext(self.message) if self.message else ""

    @property
    def task_label(self) -> str:
        spec = _TASKS.get(self.task)
        return str(spec.label if spec and spec.label is not None else humanize(self.task))

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
        self.heartbeat_at = clock.now()
        db.session.commit()


def task(name: str, label: Any = None, *, retries: int = 2,
         permanent: tuple[type[BaseException], ...] = (),
         queue: str = QUEUE_NAME) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(job, **params)`` as the task called ``name``; ``label`` (a lazy
    string) names it on its progress page. A failed attempt is retried ``retries`` times
    with backoff, unless it raised `PermanentJobError` or one of ``permanent``. With Redis,
    its jobs go to the RQ queue ``queue`` (``flask --app wsgi worker --queue NAME``)."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        _TASKS[name] = TaskSpec(func, label, retries, (PermanentJobError, *permanent), queue)
        return func

    return decorator


def job_named_in_request(task_name: str) -> Job | None:
    """The job of task ``task_name`` that the page's ``?job=`` names (a page that started
    one returns there to show its result), or None for no, another or an unknown job."""
    job_id = request.args.get("job", type=int)
    if job_id is None or not 0 < job_id < 2**31:
        return None
    job = db.session.get(Job, job_id)
    return job if job is not None and job.task == task_name else None


def enqueue(name: str, *, by: Any, **params: Any) -> Job:
    """Queue task ``name``; it starts once the current transaction commits."""
    if name not in _TASKS:
        raise KeyError(f"unknown task {name!r}")
    job = Job(task=name, params=params, created_by_id=getattr(by, "id", None),
              created_at=clock.now(), max_attempts=1 + _TASKS[name].retries)
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
            dispatch(app, job_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("jobs_to_dispatch", None)


_REDIS: dict[str, Redis] = {}


def queue(app: Flask, name: str = QUEUE_NAME) -> Queue:
    """The RQ queue ``name`` of ``app`` (needs ``REDIS_URL``); one connection pool per URL."""
    url = app.config["REDIS_URL"]
    if url not in _REDIS:
        _REDIS[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return Queue(name, connection=_REDIS[url])


def queue_of(job_id: int) -> str:
    """The RQ queue that job ``job_id``'s task runs on."""
    with db.engine.begin() as conn:
        name = _all_tenants_connection(conn).scalar(select(Job.task).where(Job.id == job_id))
    spec = _TASKS.get(name or "")
    return spec.queue if spec is not None else QUEUE_NAME


def dispatch(app: Flask, job_id: int) -> bool:
    """Hand a committed job to a worker; return False when the queue cannot be reached (the
    row stays queued and the sweeper hands it again)."""
    if app.config.get("REDIS_URL"):
        try:
            queue(app, queue_of(job_id)).enqueue("center.core.jobs.run_job_in_worker", job_id,
                               job_timeout=app.config["JOB_TIMEOUT_SECONDS"],
                               result_ttl=3600, failure_ttl=7 * 24 * 3600)
        except (RedisError, OSError) as exc:
            log.warning("job %s stays queued: the queue is unreachable (%s)", job_id, exc)
            return False
        _mark_dispatched(job_id)
        return True
    thread = threading.Thread(target=run_job, args=(app, job_id), daemon=True,
                              name=f"job-{job_id}")
    thread.start()
    if app.config.get("JOBS_EAGER"):
        thread.join()
    return True


def _mark_dispatched(job_id: int) -> None:
    """Record the hand-over on its own connection: the caller's session may be mid-work."""
    with db.engine.begin() as conn:
        _all_tenants_connection(conn).execute(
            update(Job).where(Job.id == job_id).values(dispatched_at=clock.now()))


def _all_tenants_connection(conn: Any) -> Any:
    """Give a raw connection the database scope of all tenants (row-level security)."""
    apply_database_scope(conn, ALL_TENANTS)
    return conn


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"[:120]


def claim(job_id: int) -> tuple[int, int] | None:
    """Take a queued, due job for this process; return (tenant id, attempt) or None when
    another worker has it, it is finished, or it is not due yet."""
    now = clock.now()
    with all_tenants():
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued,
                   or_(Job.run_after.is_(None), Job.run_after <= now))
            .values(status=JobStatus.running, attempts=Job.attempts + 1, heartbeat_at=now,
                    worker=worker_name(), error=None)
            .returning(Job.tenant_id, Job.attempts)
            .execution_options(synchronize_session=False)
        ).first()
        db.session.commit()
    return (claimed[0], claimed[1]) if claimed else None


def backoff(app: Flask, attempt: int) -> dt.timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): base × 4^(attempt-1)."""
    return dt.timedelta(seconds=app.config["JOB_RETRY_BASE_SECONDS"] * 4 ** (attempt - 1))


class _Heartbeat:
    """Refresh a running job's heartbeat from a thread, on its own connection, so that a long
    step without `Job.advance` is not mistaken for a dead worker."""

    def __init__(self, app: Flask, job_id: int, attempt: int) -> None:
        self.app, self.job_id, self.attempt = app, job_id, attempt
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True,
                                       name=f"heartbeat-{job_id}")

    def __enter__(self) -> _Heartbeat:
        if self.app.config.get("REDIS_URL"):
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _beat(self) -> None:
        interval = max(1.0, self.app.config["JOB_LEASE_SECONDS"] / 4)
        while not self.stop.wait(interval):
            try:
                with self.app.app_context(), db.engine.begin() as conn:
                    _all_tenants_connection(conn).execute(update(Job).where(
                        Job.id == self.job_id, Job.attempts == self.attempt,
                        Job.status == JobStatus.running).values(heartbeat_at=clock.now()))
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried
                log.warning("heartbeat of job %s failed: %s", self.job_id, exc)


def run_job(app: Flask, job_id: int) -> None:
    """Run one job in its own application context and session, if it is due and nobody
    else runs it. Eager mode (tests) runs the retries at once."""
    with app.app_context():
        while True:
            claimed = claim(job_id)
            if claimed is None:
                return
            tenant_id, attempt = claimed
            with tenant_scope(tenant_id), _Heartbeat(app, job_id, attempt):
                retry_in = _attempt(app, job_id, attempt)
            if retry_in is None:
                return
            if app.config.get("JOBS_EAGER"):
                _make_due(job_id)
                continue
            if not app.config.get("REDIS_URL"):
                # Embedded defaults: no sweeper runs, so this process retries it.
                timer = threading.Timer(retry_in.total_seconds(), dispatch, (app, job_id))
                timer.daemon = True
                timer.start()
            return


def _make_due(job_id: int) -> None:
    with all_tenants():
        db.session.execute(update(Job).where(Job.id == job_id).values(run_after=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def _attempt(app: Flask, job_id: int, attempt: int) -> dt.timedelta | None:
    """Run attempt ``attempt``; return the backoff when it failed and may be retried."""
    job = db.session.get(Job, job_id)
    spec = _TASKS.get(job.task)
    retry_in = None
    try:
        if spec is None:
            raise PermanentJobError(f"unknown task {job.task!r}")
        result = spec.func(job, **job.params)
    except Exception as exc:
        log.exception("job %s (%s) attempt %s failed", job_id, job.task, attempt)
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.error = str(exc) or type(exc).__name__
        permanent = spec.permanent if spec else (PermanentJobError,)
        if attempt < job.max_attempts and not isinstance(exc, permanent):
            retry_in = backoff(app, attempt)
            job.status = JobStatus.queued
            job.run_after = clock.now() + retry_in
            job.dispatched_at = None  # the sweeper hands it again once due
        else:
            job.status = JobStatus.failed
            job.finished_at = clock.now()
    else:
        current = db.session.execute(select(Job.status, Job.attempts).where(
            Job.id == job_id).with_for_update()).one()
        if current != (JobStatus.running, attempt):
            # The sweeper gave the job to another worker meanwhile: that run records it.
            db.session.rollback()
            return None
        job.status = JobStatus.done
        job.result = result or {}
        job.finished_at = clock.now()
    db.session.commit()
    return retry_in


def run_job_in_worker(job_id: int) -> None:
    """Entry point for the RQ worker started by ``flask --app wsgi worker``."""
    run_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
