"""Periodic work without hand-written cron: one ``flask --app wsgi scheduler`` process.

The scheduler is RQ's own `rq.cron.CronScheduler`: it puts each registered periodic job on
the ``center`` queue when due, and a worker runs it. Built in:

- ``mail.deliver``: deliver the outbox (every ``SCHEDULE_MAIL_SECONDS``);
- ``jobs.sweep``: re-dispatch lost jobs (every ``SCHEDULE_SWEEP_SECONDS``,
  `center.core.sweeper`);
- daily (``SCHEDULE_DAILY_CRON``), one job per center: concurrence reminders and deadlines
  (``screening.concurrence_deadlines``) and review reminders (``reviews.reminders``).

Other packages register their own with `register_periodic` (a function run on the worker)
or `register_tenant_task` (a `center.core.jobs` task queued once per center, e.g. report
deadlines); the registration must run at import time of a module the app imports.

Only one scheduler may run: it holds a lock in Redis (``center:scheduler:lock``), renewed
at every loop and lapsing ``SCHEDULER_LOCK_SECONDS`` after the holder died; a second
scheduler waits to take over (or, with ``--no-wait``, exits), and says so.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from redis import Redis
from redis.exceptions import LockError
from redis.lock import Lock
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.core.jobs import QUEUE_NAME, Job, JobStatus, enqueue, task

log = logging.getLogger(__name__)

LOCK_NAME = "center:scheduler:lock"


@dataclass(frozen=True)
class Periodic:
    """A function run on the worker every ``interval`` seconds or on a ``cron`` schedule;
    either may name a setting (``"SCHEDULE_DAILY_CRON"``)."""

    name: str
    func: Callable[..., Any]
    interval: int | str | None = None
    cron: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


_PERIODIC: dict[str, Periodic] = {}


def register_periodic(name: str, func: Callable[..., Any], *, interval: int | str | None = None,
                      cron: str | None = None, **kwargs: Any) -> None:
    """Run ``func(**kwargs)`` on the worker on a schedule (``interval`` xor ``cron``)."""
    if (interval is None) == (cron is None):
        raise ValueError("give an interval or a cron schedule")
    if name in _PERIODIC:
        raise ValueError(f"periodic job {name!r} is registered twice")
    _PERIODIC[name] = Periodic(name, func, interval, cron, kwargs)


def register_tenant_task(task_name: str, *, cron: str = "SCHEDULE_DAILY_CRON",
                         interval: int | str | None = None) -> None:
    """Queue the `center.core.jobs` task ``task_name`` for every center on a schedule (daily
    by default). The task runs in that center's scope and must be safe to run twice."""
    register_periodic(task_name, enqueue_for_each_tenant, cron=None if interval else cron,
                      interval=interval, task_name=task_name)


def unregister(name: str) -> None:
    _PERIODIC.pop(name, None)


def periodic_jobs() -> list[Periodic]:
    return list(_PERIODIC.values())


def enqueue_for_each_tenant(task_name: str) -> int:
    """Queue ``task_name`` once per center (runs on the worker); a center where the task is
    still queued or running is skipped, so that slow runs do not pile up."""
    from center.tenants.models import Tenant  # noqa: PLC0415 - tenants imports core

    queued = 0
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with tenant_scope(tenant_id):
            pending = db.session.scalar(select(Job.id).where(
                Job.task == task_name,
                Job.status.in_([JobStatus.queued, JobStatus.running])).limit(1))
            if pending is None:
                enqueue(task_name, by=None)
                queued += 1
            db.session.commit()
    return queued


def _setting(app: Flask, value: int | str | None) -> Any:
    return app.config[value] if isinstance(value, str) and value in app.config else value


class CenterScheduler(CronScheduler):
    """RQ's cron scheduler, run by the holder of the scheduler lock only."""

    def __init__(self, app: Flask, connection: Redis) -> None:
        super().__init__(connection=connection, logging_level=app.config["LOG_LEVEL"])
        self.lock = Lock(connection, LOCK_NAME, timeout=app.config["SCHEDULER_LOCK_SECONDS"],
                         thread_local=False)
        for item in periodic_jobs():
            self.register(item.func, QUEUE_NAME, kwargs=item.kwargs, name=item.name,
                          interval=_setting(app, item.interval), cron=_setting(app, item.cron),
                          job_timeout=app.config["JOB_TIMEOUT_SECONDS"], result_ttl=3600)

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the scheduler lock; with ``wait``, block until the other scheduler is gone."""
        return bool(self.lock.acquire(blocking=wait, blocking_timeout=None))

    def holder(self) -> str | None:
        """Name of the scheduler that holds the lock, if any."""
        value = self.connection.get(f"{LOCK_NAME}:holder")
        return value.decode() if value else None

    def register_birth(self) -> None:
        super().register_birth()
        self.connection.set(f"{LOCK_NAME}:holder", self.name,
                            ex=int(self.lock.timeout or 0) or None)

    def heartbeat(self) -> None:
        """Renew the lock at every loop; a scheduler that lost it stops at once."""
        super().heartbeat()
        try:
            self.lock.reacquire()
        except LockError:
            log.error("scheduler %s lost its lock; stopping", self.name)
            raise StopRequested() from None
        self.connection.expire(f"{LOCK_NAME}:holder", int(self.lock.timeout or 0) or 1)

    def run_all_now(self) -> list[str]:
        """Queue every registered job once, now (``flask --app wsgi scheduler --once``)."""
        for job in self.get_jobs():
            job.enqueue(self.connection)
        return [job.name for job in self.get_jobs()]

    def release(self) -> None:
        with contextlib.suppress(LockError):
            self.lock.release()
        self.connection.delete(f"{LOCK_NAME}:holder")


@task("reviews.reminders", _l("Sending review reminders"))
def _review_reminders(job: Job) -> dict[str, Any]:
    """E-mail reviewers the reminders their open reviews are due for (sent once each)."""
    from center.reviews import services as reviews  # noqa: PLC0415 - reviews imports core

    return {"sent": reviews.send_reminders()}


def _register_builtins() -> None:
    from center.core.mail import deliver_in_worker  # noqa: PLC0415
    from center.core.sweeper import sweep_in_worker  # noqa: PLC0415

    register_periodic("mail.deliver", deliver_in_worker, interval="SCHEDULE_MAIL_SECONDS")
    register_periodic("jobs.sweep", sweep_in_worker, interval="SCHEDULE_SWEEP_SECONDS")
    register_tenant_task("screening.concurrence_deadlines")
    register_tenant_task("reviews.reminders")
    register_tenant_task("screening.refresh_sanctions")


_register_builtins()
