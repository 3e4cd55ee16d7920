"""/readyz names the dependency that does not answer; /metrics speaks the Prometheus text
format, counts requests by endpoint, reads jobs and the outbox from the database, and is
shown only to the token's bearer or, without a token, to loopback clients."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from center import create_app
from center.core import clock
from center.core.db import db, tenant_scope
from center.core.jobs import Job, JobStatus
from center.core.notifications import OutboxMessage
from tests.conftest import _test_settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def test_readyz_is_ok_when_every_dependency_answers(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok",
                             "redis": "not configured (jobs run in process)"}


def test_readyz_names_an_unreachable_redis(tmp_root, app: Flask) -> None:
    broken = create_app(_test_settings(tmp_root, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/6"))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["redis"].startswith("unreachable")
    assert response.json["database"] == "ok" and response.json["storage"] == "ok"
    # Alive all the same: a missing queue is no reason to restart the web process.
    assert broken.test_client().get("/healthz").status_code == 200


def test_readyz_names_a_missing_bucket(tmp_root, app: Flask, s3_endpoint: str) -> None:
    broken = create_app(_test_settings(tmp_root, STORAGE_URL="s3://no-such-bucket/files",
                                       S3_ENDPOINT_URL=s3_endpoint))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["storage"].startswith("unreachable")
    assert response.json["database"] == "ok"


def test_readyz_is_ok_on_an_existing_bucket(tmp_root, app: Flask, s3_endpoint: str,
                                            s3_bucket: str) -> None:
    ready = create_app(_test_settings(tmp_root, STORAGE_URL=f"s3://{s3_bucket}/files",
                                      S3_ENDPOINT_URL=s3_endpoint))
    response = ready.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["storage"] == "ok"


def test_metrics_count_requests_by_endpoint(client) -> None:
    before = _samples(client.get("/metrics").get_data(as_text=True))
    key = ("center_http_requests_total",
           (("endpoint", "core.healthz"), ("method", "GET"), ("status", "200")))
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no/such/page")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    after = _samples(response.get_data(as_text=True))
    assert after[key] - before.get(key, 0) == 3
    latency = ("center_http_request_duration_seconds_count", (("endpoint", "core.healthz"),))
    assert after[latency] - before.get(latency, 0) == 3
    # Unknown URLs share one label instead of growing a series per path.
    assert any(name == "center_http_requests_total" and ("endpoint", "unmatched") in labels
               for name, labels in after)
    assert not any("no/such" in str(labels) for _name, labels in after)


def test_metrics_read_jobs_and_the_outbox_from_the_database(app: Flask, client, world) -> None:
    queued_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    pending_before = _samples(client.get("/metrics").get_data(as_text=True))[
        ("center_outbox_pending", ())]
    with app.app_context():
        with tenant_scope(world.a.tenant_id):
            for seconds, status in ((4, JobStatus.done), (6, JobStatus.done),
                                    (1, JobStatus.failed)):
                db.session.add(Job(task="agreements.generate", params={}, status=status,
                                   created_at=queued_at,
                                   finished_at=queued_at + dt.timedelta(seconds=seconds)))
            db.session.add(Job(task="dedup.check", params={}, status=JobStatus.queued,
                               created_at=queued_at))
            db.session.flush()
        with tenant_scope(world.b.tenant_id):
            db.session.add(Job(task="dedup.check", params={}, status=JobStatus.running,
                               created_at=queued_at))
            db.session.flush()
        for number in range(2):
            db.session.add(OutboxMessage(recipient=f"r{number}@example.org", subject="s",
                                         body="b", created_at=clock.now()))
        db.session.add(OutboxMessage(recipient="sent@example.org", subject="s", body="b",
                                     created_at=clock.now(), sent_at=clock.now()))
        db.session.commit()

    samples = _samples(client.get("/metrics").get_data(as_text=True))
    jobs = {labels: value for (name, labels), value in samples.items() if name == "center_jobs"}
    # Every tenant's jobs, each state listed even when empty.
    assert jobs[(("state", "done"), ("task", "agreements.generate"))] == 2
    assert jobs[(("state", "failed"), ("task", "agreements.generate"))] == 1
    assert jobs[(("state", "queued"), ("task", "agreements.generate"))] == 0
    assert jobs[(("state", "queued"), ("task", "dedup.check"))] == 1
    assert jobs[(("state", "running"), ("task", "dedup.check"))] == 1
    done = (("state", "done"), ("task", "agreements.generate"))
    assert samples[("center_job_duration_seconds_count", done)] == 2
    assert samples[("center_job_duration_seconds_sum", done)] == pytest.approx(10.0, abs=0.01)
    assert samples[("center_outbox_pending", ())] - pending_before == 2
    assert samples[("center_outbox_oldest_pending_seconds", ())] >= 0


def test_metrics_are_refused_to_a_remote_client_without_a_token(client) -> None:
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 404
    assert b"center_http" not in response.data


def test_metrics_with_a_token_need_the_token_even_from_loopback(tmp_root, app: Flask) -> None:
    guarded = create_app(_test_settings(tmp_root, METRICS_TOKEN="s3cret-scrape-token"))
    client = guarded.test_client()
    assert client.get("/metrics").status_code == 404
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/metrics", headers=wrong).status_code == 404
    right = {"Authorization": "Bearer s3cret-scrape-token"}
    response = client.get("/metrics", headers=right,
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 200
    assert b"center_outbox_pending" in response.data
