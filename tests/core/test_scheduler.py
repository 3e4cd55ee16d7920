"""The scheduler: RQ's cron scheduler under one lock, queuing periodic work for the workers
(Redis DB 5 on 127.0.0.1:6379; the worker runs in this process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job as RQJob
from sqlalchemy import select

from center.core import scheduler
from center.core.db import all_tenants, db
from center.core.jobs import QUEUE_NAME, Job, JobStatus, task
from center.core.scheduler import CenterScheduler
from tests.world import World

REDIS_URL = "redis://127.0.0.1:6379/5"
ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@task("test.report_deadlines")
def _report_deadlines(job: Job) -> dict[str, Any]:
    return {"tenant": job.tenant_id}


@pytest.fixture()
def redis(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    yield connection
    connection.flushdb()


@pytest.fixture()
def report_hook() -> Iterator[None]:
    """Another package registers its deadlines, as post-award reports will."""
    scheduler.register_tenant_task("test.report_deadlines")
    yield
    scheduler.unregister("test.report_deadlines")


def test_every_periodic_job_is_registered(app: Flask, redis: Redis, report_hook: None) -> None:
    runner = CenterScheduler(app, redis)
    jobs = {job.name: job for job in runner.get_jobs()}
    assert set(jobs) == {"mail.deliver", "jobs.sweep", "screening.concurrence_deadlines",
                         "reviews.reminders", "projects.reminders",
                         "screening.refresh_sanctions", "test.report_deadlines"}
    assert jobs["mail.deliver"].interval == app.config["SCHEDULE_MAIL_SECONDS"]
    assert jobs["jobs.sweep"].interval == app.config["SCHEDULE_SWEEP_SECONDS"]
    assert jobs["reviews.reminders"].cron == app.config["SCHEDULE_DAILY_CRON"]
    assert jobs["screening.refresh_sanctions"].cron == app.config["SCHEDULE_DAILY_CRON"]


def test_a_periodic_job_needs_one_schedule() -> None:
    with pytest.raises(ValueError, match="interval or a cron"):
        scheduler.register_periodic("test.none", print)
    with pytest.raises(ValueError, match="twice"):
        scheduler.register_tenant_task("reviews.reminders")


def test_a_second_scheduler_does_not_start_while_the_first_runs(
        app: Flask, redis: Redis) -> None:
    first, second = CenterScheduler(app, redis), CenterScheduler(app, redis)
    assert first.acquire()
    first.register_birth()
    assert not second.acquire()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["scheduler", "--no-wait"])
    assert result.exit_code == 1
    assert f"Another scheduler is running ({first.name}); this one exits." in result.output
    first.release()
    assert second.acquire()  # the lock is free once the first is gone
    second.release()


def test_a_scheduler_that_lost_its_lock_stops(app: Flask, redis: Redis) -> None:
    runner = CenterScheduler(app, redis)
    assert runner.acquire()
    runner.heartbeat()  # renews the lock
    assert redis.pttl(scheduler.LOCK_NAME) > 0
    redis.delete(scheduler.LOCK_NAME)  # it lapsed (the process stalled), another took it
    with pytest.raises(StopRequested):
        runner.heartbeat()


def test_the_scheduled_work_runs_on_a_worker_for_every_center(
        app: Flask, world: World, redis: Redis, report_hook: None) -> None:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
        assert result.exit_code == 0, result.output
        assert redis.get(scheduler.LOCK_NAME) is None  # released on exit
        SimpleWorker([QUEUE_NAME], connection=redis).work(burst=True)
        with all_tenants():
            ran = db.session.execute(select(Job.task, Job.tenant_id, Job.status).where(
                Job.task.in_(["screening.concurrence_deadlines", "reviews.reminders",
                              "test.report_deadlines"]))).all()
        db.session.remove()
    tenants = {world.a.tenant_id, world.b.tenant_id}
    for name in ("screening.concurrence_deadlines", "reviews.reminders",
                 "test.report_deadlines"):
        assert {(t, s) for n, t, s in ran if n == name} == {
            (tenant, JobStatus.done) for tenant in tenants}, name


def test_a_task_still_waiting_is_not_queued_again(app: Flask, world: World) -> None:
    with app.app_context():
        assert scheduler.enqueue_for_each_tenant("test.report_deadlines") == 2  # eager: done
        with all_tenants():
            job = db.session.scalars(select(Job).where(
                Job.task == "test.report_deadlines").order_by(Job.id)).first()
            job.status = JobStatus.queued  # as if the workers were behind
            db.session.commit()
        assert scheduler.enqueue_for_each_tenant("test.report_deadlines") == 1
        db.session.remove()


def test_a_scheduler_started_twice_runs_once(app: Flask, redis: Redis) -> None:
    """Two real scheduler processes: the second exits and says who runs; the first queues the
    interval jobs at once, and gives the lock back when stopped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CENTER_ENV": "test",
           "DATABASE_URL": app.config["DATABASE_URL"], "STORAGE_URL": app.config["STORAGE_URL"],
           "REDIS_URL": REDIS_URL, "LOG_LEVEL": "INFO"}
    command = [FLASK, "--app", "tests.core.jobs_worker:create_worker_app()", "scheduler"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while redis.get(f"{scheduler.LOCK_NAME}:holder") is None:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first scheduler never took the lock"
            time.sleep(0.1)
        holder = redis.get(f"{scheduler.LOCK_NAME}:holder").decode()
        second = subprocess.run([*command, "--no-wait"], cwd=ROOT, env=env, timeout=90,
                                capture_output=True, text=True)
        assert second.returncode == 1
        assert f"Another scheduler is running ({holder}); this one exits." in second.stderr
        queued = {RQJob.fetch(job_id, connection=redis).func_name
                  for job_id in Queue(QUEUE_NAME, connection=redis).job_ids}
        assert {"center.core.mail.deliver_in_worker",
                "center.core.sweeper.sweep_in_worker"} <= queued
    finally:
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, output
    assert redis.get(scheduler.LOCK_NAME) is None  # released: the next one starts at once
