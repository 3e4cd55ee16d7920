"""A real RQ worker killed (SIGKILL) in the middle of a job; the sweeper hands the job to
another worker, which finishes it. PostgreSQL, Redis DB 5 on 127.0.0.1:6379."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from center.core import clock
from center.core.db import all_tenants, db
from center.core.jobs import Job, JobStatus, enqueue
from center.core.sweeper import sweep
from tests.core.jobs_worker import HOLD_TASK
from tests.world import World

REDIS_URL = "redis://127.0.0.1:6379/5"
ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.fixture()
def redis_queue(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Redis:
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    yield connection
    connection.flushdb()


def _start_worker(app: Flask, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CENTER_ENV": "test",
           "DATABASE_URL": app.config["DATABASE_URL"], "STORAGE_URL": app.config["STORAGE_URL"],
           "REDIS_URL": REDIS_URL, "LOG_LEVEL": "INFO"}
    return subprocess.Popen(
        [FLASK, "--app", "tests.core.jobs_worker:create_worker_app()", "worker", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _job(job_id: int) -> Job:
    db.session.expire_all()
    with all_tenants():
        job = db.session.get(Job, job_id)
        db.session.commit()
    return job


def _wait_until_running(job_id: int, worker: subprocess.Popen, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(job_id)
        if job.status == JobStatus.running and job.message.startswith("attempt 1"):
            return job
        if worker.poll() is not None:
            pytest.fail(f"the worker exited early:\n{worker.stdout.read()}")
        time.sleep(0.1)
    pytest.fail("the worker never started the job")


def test_a_job_killed_with_its_worker_is_finished_by_another(
        app: Flask, in_tenant: World, redis_queue: Redis, tmp_path: Path) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the multi-process test runs on PostgreSQL")
    job = enqueue(HOLD_TASK, by=None, gate=str(tmp_path / "never"))
    db.session.commit()  # dispatched to Redis
    job_id = job.id

    first = _start_worker(app, "--name", "first")
    try:
        running = _wait_until_running(job_id, first)
        assert running.attempts == 1 and running.worker.endswith(f":{first.pid}")
        first.send_signal(signal.SIGKILL)  # in the middle of the job
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert _job(job_id).status == JobStatus.running  # nobody knows yet

    lease = dt.timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
    with clock.frozen_at(clock.now() + lease + dt.timedelta(seconds=1)):
        found = sweep()
    assert job_id in found.requeued and job_id in found.dispatched

    second = _start_worker(app, "--burst", "--name", "second")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    job = _job(job_id)
    assert job.status == JobStatus.done, (job.error, output)
    assert job.attempts == 2
    assert job.result == {"attempt": 2, "pid": second.pid}
    assert job.worker.endswith(f":{second.pid}")
