"""Put lost jobs back to work: the sweeper, run every minute by ``flask --app wsgi scheduler``.

Two kinds of job need it, both seen in the ``jobs`` table alone (Redis may have lost them):

- *queued* and due, but not handed to the queue for ``JOB_REDISPATCH_SECONDS`` (Redis was
  down at dispatch, a retry's backoff has passed, or the queue lost the message): handed
  again. A job handed twice is claimed once (`center.core.jobs.claim`).
- *running* with a heartbeat older than ``JOB_LEASE_SECONDS``: its worker died (killed, out
  of memory, machine lost). It is queued again for another worker while attempts remain,
  otherwise marked failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import or_, select

from center.core import clock
from center.core.db import all_tenants, db
from center.core.jobs import Job, JobStatus, dispatch

log = logging.getLogger(__name__)


@dataclass
class Sweep:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dispatched: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)


def sweep(limit: int = 500) -> Sweep:
    """Requeue jobs whose worker died and hand every due, forgotten job to the queue."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    now = clock.now()
    lease = dt.timedelta(seconds=config["JOB_LEASE_SECONDS"])
    redispatch = dt.timedelta(seconds=config["JOB_REDISPATCH_SECONDS"])
    result = Sweep()
    with all_tenants():
        stale = db.session.scalars(
            select(Job).where(Job.status == JobStatus.running, Job.heartbeat_at < now - lease)
            .order_by(Job.id).limit(limit).with_for_update(skip_locked=True)).all()
        for job in stale:
            lost = f"The worker running it ({job.worker or 'unknown'}) stopped answering."
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.failed
                job.error = lost
                job.finished_at = now
                result.failed.append(job.id)
            else:
                job.status = JobStatus.queued
                job.error = lost
                job.run_after = None
                job.dispatched_at = None
                result.requeued.append(job.id)
            log.warning("job %s (%s): %s", job.id, job.task, lost)
        db.session.commit()
        due = db.session.scalars(
            select(Job.id).where(
                Job.status == JobStatus.queued,
                or_(Job.run_after.is_(None), Job.run_after <= now),
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < now - redispatch))
            .order_by(Job.id).limit(limit)).all()
        db.session.commit()
    for job_id in due:
        (result.dispatched if dispatch(app, job_id) else result.unreachable).append(job_id)
    return result


def sweep_in_worker() -> dict[str, list[int]]:
    """Entry point for the scheduler's periodic job."""
    found = sweep()
    return {"requeued": found.requeued, "failed": found.failed,
            "dispatched": found.dispatched, "unreachable": found.unreachable}
