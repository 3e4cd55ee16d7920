"""Durable jobs: claims, retries with backoff, the sweeper, and a guarded agreement job."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from center.agreements import services as agreements
from center.core import clock, jobs
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus, PermanentJobError, claim, enqueue, task
from center.core.sweeper import sweep
from tests.agreements.conftest import Stage, stage  # noqa: F401 - the fixture
from tests.world import World

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)

#: What the test tasks did, by job id: one entry per attempt.
RUNS: dict[int, list[int]] = {}


@task("test.flaky")
def _flaky(job: Job, *, failures: int) -> dict[str, Any]:
    RUNS.setdefault(job.id, []).append(job.attempts)
    if len(RUNS[job.id]) <= failures:
        raise RuntimeError(f"attempt {job.attempts} failed")
    return {"attempts": job.attempts}


@task("test.refused")
def _refused(job: Job) -> None:
    RUNS.setdefault(job.id, []).append(job.attempts)
    raise PermanentJobError("no point in trying again")


@pytest.fixture(autouse=True)
def _forget_runs() -> None:
    RUNS.clear()


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_a_failed_attempt_is_retried_and_the_job_finishes(in_tenant: World) -> None:
    job = enqueue("test.flaky", by=None, failures=1)
    db.session.commit()  # JOBS_EAGER: runs now, and its retry at once
    job = _job(job.id)
    assert (job.status, job.attempts, job.result) == (JobStatus.done, 2, {"attempts": 2})
    assert RUNS[job.id] == [1, 2]


def test_retries_end_in_failed_with_the_last_error(in_tenant: World) -> None:
    job = enqueue("test.flaky", by=None, failures=5)
    db.session.commit()
    job = _job(job.id)
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.failed, 3, 3)
    assert job.error == "attempt 3 failed" and job.finished_at is not None


def test_a_permanent_error_is_not_retried(in_tenant: World) -> None:
    job = enqueue("test.refused", by=None)
    db.session.commit()
    job = _job(job.id)
    assert (job.status, job.attempts, RUNS[job.id]) == (JobStatus.failed, 1, [1])


def _queue_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs go to a Redis nobody answers at: they stay queued until run by hand."""
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")


def _queue_back(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatch works again (here: eager, in this process)."""
    monkeypatch.setitem(app.config, "JOBS_EAGER", True)
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def test_the_backoff_waits_and_the_sweeper_hands_the_retry_out(
        app: Flask, in_tenant: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _queue_down(app, monkeypatch)
    with clock.frozen_at(T0):
        job = enqueue("test.flaky", by=None, failures=1)
        db.session.commit()
        jobs.run_job(app, job.id)  # a worker runs attempt 1, which fails
        job = _job(job.id)
        assert (job.status, job.attempts) == (JobStatus.queued, 1)
        assert job.run_after == T0 + dt.timedelta(seconds=30)
        assert job.error == "attempt 1 failed"
        _queue_back(app, monkeypatch)
        clock.advance(dt.timedelta(seconds=29))
        assert job.id not in sweep().dispatched  # not due yet
        assert claim(job.id) is None
        clock.advance(dt.timedelta(seconds=1))
        assert job.id in sweep().dispatched
    assert _job(job.id).status == JobStatus.done and RUNS[job.id] == [1, 2]


def test_a_job_queued_while_redis_is_down_stays_queued_until_the_sweeper(
        app: Flask, in_tenant: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _queue_down(app, monkeypatch)
    job = enqueue("test.flaky", by=None, failures=0)
    db.session.commit()  # the commit succeeds; the dispatch does not
    job = _job(job.id)
    assert (job.status, job.attempts, job.dispatched_at) == (JobStatus.queued, 0, None)
    assert job.id in sweep().unreachable
    _queue_back(app, monkeypatch)
    assert job.id in sweep().dispatched
    assert _job(job.id).status == JobStatus.done


def test_the_sweeper_gives_a_dead_workers_job_to_another(app: Flask, in_tenant: World) -> None:
    lease = dt.timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
    with clock.frozen_at(T0):
        alive = Job(task="test.flaky", params={"failures": 0}, created_at=T0, max_attempts=3,
                    status=JobStatus.running, attempts=1, heartbeat_at=T0 - lease / 2)
        dead = Job(task="test.flaky", params={"failures": 0}, created_at=T0, max_attempts=3,
                   status=JobStatus.running, attempts=1, heartbeat_at=T0 - lease * 2,
                   worker="host:4242")
        spent = Job(task="test.flaky", params={"failures": 0}, created_at=T0, max_attempts=1,
                    status=JobStatus.running, attempts=1, heartbeat_at=T0 - lease * 2,
                    worker="host:4242")
        db.session.add_all([alive, dead, spent])
        db.session.commit()
        found = sweep()
    assert found.requeued == [dead.id] and found.failed == [spent.id]
    assert dead.id in found.dispatched and alive.id not in found.dispatched
    assert _job(dead.id).status == JobStatus.done and _job(dead.id).attempts == 2
    assert _job(alive.id).status == JobStatus.running
    assert "host:4242" in _job(spent.id).error


def test_a_job_is_claimed_once(in_tenant: World, app: Flask,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    _queue_down(app, monkeypatch)
    job = enqueue("test.flaky", by=None, failures=0)
    db.session.commit()
    assert claim(job.id) == (in_tenant.a.tenant_id, 1)
    assert claim(job.id) is None  # a second delivery of the message does nothing
    jobs.run_job(app, job.id)  # nor does a second worker
    assert job.id not in RUNS


def test_generating_an_agreement_answers_with_the_jobs_page(stage: Stage, login) -> None:  # noqa: ANN001, F811
    with stage.scene() as scene:
        version = scene.proposal.version
    response = login(stage.world.a.emails["admin"]).post(
        f"/alpha/proposals/{stage.proposal_id}/agreement", data={"version": version})
    assert response.status_code == 302 and "/alpha/jobs/" in response.location
    job_id = int(response.location.split("/jobs/")[1].split("/")[0])
    with stage.scene() as scene:
        job = db.session.get(Job, job_id)
        [agreement] = agreements.versions_of(scene.proposal)
        assert job.status == JobStatus.done and job.task == agreements.GENERATE_TASK
        assert job.result["agreement_id"] == agreement.id
        assert job.result["redirect"] == f"/alpha/agreements/{agreement.id}"


def test_a_second_run_of_the_agreement_job_does_not_render_a_second_version(
        stage: Stage, login) -> None:  # noqa: ANN001, F811
    with stage.scene() as scene:
        version = scene.proposal.version
    response = login(stage.world.a.emails["admin"]).post(
        f"/alpha/proposals/{stage.proposal_id}/agreement", data={"version": version})
    job_id = int(response.location.split("/jobs/")[1].split("/")[0])
    with stage.scene():
        job = db.session.get(Job, job_id)
        job.status = JobStatus.queued  # as if the queue delivered it again after a crash
        db.session.commit()
    jobs.run_job(stage.app, job_id)
    with stage.scene() as scene:
        assert len(agreements.versions_of(scene.proposal)) == 1
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.done and job.attempts == 2


def test_an_agreement_job_refuses_a_proposal_changed_since_the_click(
        stage: Stage, app: Flask) -> None:  # noqa: F811
    with stage.scene() as scene:
        admin_id = db.session.scalar(select(agreements.User.id).where(
            agreements.User.email == stage.world.a.emails["admin"]))
        job = enqueue(agreements.GENERATE_TASK, by=None, proposal_id=scene.proposal.id,
                      user_id=admin_id, proposal_version=scene.proposal.version - 1)
        db.session.flush()
        job_id = job.id
    with stage.scene() as scene:
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.failed and job.attempts == 1  # no retry
        assert "changed since you opened it" in job.error
        assert agreements.versions_of(scene.proposal) == []


def test_the_duplicate_recheck_button_answers_with_the_jobs_page(stage: Stage, login) -> None:  # noqa: ANN001, F811
    officer = login(stage.world.a.emails["officer"])
    response = officer.post(f"/alpha/overlaps/proposals/{stage.proposal_id}/check")
    assert response.status_code == 302 and "/alpha/jobs/" in response.location
    job_id = int(response.location.split("/jobs/")[1].split("/")[0])
    with stage.scene():
        job = db.session.get(Job, job_id)
        assert (job.task, job.status) == ("dedup.check_proposal", JobStatus.done)
        assert job.result["redirect"] == f"/alpha/proposals/{stage.proposal_id}"
    draft = stage.world.a.ids["proposal_id"]
    refused = officer.post(f"/alpha/overlaps/proposals/{draft}/check", follow_redirects=True)
    assert "not checked until they are submitted" in refused.get_data(as_text=True)
    with stage.scene():
        assert db.session.scalar(select(func.count()).select_from(Job).where(
            Job.task == "dedup.check_proposal", Job.params["proposal_id"].as_integer() == draft)
        ) == 0


def test_the_progress_page_says_a_failed_attempt_is_tried_again(app: Flask, world: World,
                                                                login) -> None:  # noqa: ANN001
    with app.app_context(), tenant_scope(world.a.tenant_id):
        job = Job(task="test.flaky", params={"failures": 9}, created_at=T0, max_attempts=3,
                  status=JobStatus.queued, attempts=1, error="attempt 1 failed",
                  run_after=T0 + dt.timedelta(seconds=30))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    officer = login(world.a.emails["officer"])
    page = officer.get(f"/alpha/jobs/{job_id}/progress").get_data(as_text=True)
    assert "attempt 1 failed" in page
    assert "Attempt 1 of 3 failed; it is tried again automatically." in page
    status = officer.get(f"/alpha/jobs/{job_id}").get_json()
    assert (status["status"], status["attempts"], status["max_attempts"]) == ("queued", 1, 3)
    assert status["finished"] is False


def test_a_job_of_an_unknown_task_fails_without_retry(in_tenant: World) -> None:
    job = Job(task="gone.task", params={}, created_at=T0, max_attempts=3)
    db.session.add(job)
    db.session.commit()
    assert job.id in sweep().dispatched
    job = _job(job.id)
    assert (job.status, job.attempts) == (JobStatus.failed, 1)
    assert job.error == "unknown task 'gone.task'"


def test_a_jobs_progress_message_is_read_in_the_readers_language(app: Flask, world: World,
                                                                 login) -> None:  # noqa: ANN001
    """A task stores its English progress message; the page and its JSON translate it."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        job = Job(task="test.flaky", params={}, created_at=T0, max_attempts=1, done=3,
                  total=10, status=JobStatus.running, message="proposals checked")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    officer = login(world.a.emails["officer"])
    assert officer.get(f"/alpha/jobs/{job_id}").get_json()["message"] == "proposals checked"
    officer.post("/language", data={"locale": "ru", "next": "/"})
    assert officer.get(f"/alpha/jobs/{job_id}").get_json()["message"] == "заявок проверено"
    page = officer.get(f"/alpha/jobs/{job_id}/progress").get_data(as_text=True)
    assert "3 / 10 заявок проверено" in page
