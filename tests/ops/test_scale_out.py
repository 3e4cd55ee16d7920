"""The web is stateless: two gunicorn web processes and two RQ workers share one PostgreSQL
database, one Redis and one S3 endpoint, and it does not matter which process serves what.

A proposal submitted through web 1 is screened and checked for duplicates by a worker and
seen with its result through web 2, in the same browser session (cookies are per host, not
per port, so each request of one session may go to either web). The agreements of a call,
issued in a batch job by the *other* worker (the one that checked duplicates is stopped
first), download from both webs through the shared storage. Every wait polls with a
deadline.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis
from rq import Worker
from rq.job import Job as RQJob
from rq.registry import FinishedJobRegistry
from sqlalchemy import select

from center.agreements.models import Agreement
from center.auth.models import User
from center.core.db import all_tenants, db, tenant_scope
from center.core.jobs import DEDUP_QUEUE, QUEUE_NAME, Job, JobStatus
from center.dedup import services as dedup
from center.dedup.models import SimilarityMatch
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalStatus
from center.screening.models import ScreeningReport
from center.tenants.models import Institute, Role
from tests.conftest import FAKE_AWS_ENV, app_role_url
from tests.proposals.test_proposals import ABSTRACT, _complete
from tests.support.states import put_in_state
from tests.world import PASSWORD, World

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]
#: This test's own Redis database; emptied before and after.
REDIS_DB = 6
#: Seconds any one wait may take before the test fails naming what it waited for.
DEADLINE = 90.0
EARLIER_TITLE = "Tuberculosis genomics, the earlier proposal"


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the scale-out test runs on PostgreSQL (set DATABASE_URL)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], procs: Cluster) -> Any:
    """Call ``probe`` until it returns something truthy; fail after `DEADLINE` seconds, or at
    once when a process of the cluster died."""
    deadline = time.monotonic() + DEADLINE
    while True:
        procs.check_alive()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{procs.logs()}")
        time.sleep(0.05)


@dataclass
class Cluster:
    """Two webs and two workers as subprocesses, with their logs."""

    tmp: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)

    def start(self, name: str, argv: list[str], **extra_env: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **extra_env},
                                            stdout=log, stderr=subprocess.STDOUT)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if name not in self.stopped and proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}\n{self.logs()}")

    def stop(self, name: str) -> None:
        self.stopped.add(name)
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        running = [name for name, proc in self.procs.items() if proc.poll() is None]
        for name in running:  # all at once; gunicorn's quick shutdown (SIGQUIT) at the end
            self.procs[name].send_signal(signal.SIGQUIT if name.startswith("web")
                                         else signal.SIGTERM)
        for name in running:
            self.stop(name)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.tmp.glob("*.log")))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _login(session: requests.Session, base: str, email: str) -> None:
    form = session.get(f"{base}/login", timeout=30)
    response = session.post(f"{base}/login", timeout=30, allow_redirects=False,
                            data={"email": email, "password": PASSWORD,
                                  "csrf_token": _csrf(form.text)})
    assert response.status_code == 302, response.text[:500]


@pytest.fixture()
def redis_db() -> Iterator[Redis]:
    connection = Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture()
def cluster(app, tmp_path: Path, s3_endpoint: str, s3_bucket: str,
            redis_db: Redis) -> Iterator[tuple[Cluster, str, str]]:
    """Web 1 (two gunicorn workers), web 2 (one) and two RQ workers, all ready."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "PROMETHEUS_", "GUNICORN_"))}
    env.update(FAKE_AWS_ENV)
    env.update({
        "CENTER_ENV": "test",
        "SECRET_KEY": "one-secret-shared-by-every-process-of-the-test",
        "DATABASE_URL": app_role_url(os.environ["DATABASE_URL"]),
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "STORAGE_URL": f"s3://{s3_bucket}/center",
        "S3_ENDPOINT_URL": s3_endpoint,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    procs = Cluster(tmp_path, env)
    ports = [_free_port(), _free_port()]
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "wsgi:app"]
    for number, (port, workers) in enumerate(zip(ports, ("2", "1"), strict=True), start=1):
        procs.start(f"web{number}", gunicorn, GUNICORN_BIND=f"127.0.0.1:{port}",
                    GUNICORN_WORKERS=workers, GUNICORN_ACCESSLOG="",
                    PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics-web{number}"))
    for number in (1, 2):
        procs.start(f"worker{number}", [sys.executable, "-m", "flask", "--app", "wsgi",
                                        "worker", "--queue", "center", "--queue", "dedup"])
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in webs:
            wait_for(f"{base}/readyz", lambda base=base: _ready(base), procs)
        wait_for("two RQ workers", lambda: len(Worker.all(connection=redis_db)) == 2, procs)
        yield procs, webs[0], webs[1]
    finally:
        procs.stop_all()


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or its workers still booting
        return False


def _prepare(app, world: World) -> tuple[int, int]:
    """An earlier submitted proposal with its fingerprint stored, and the world's draft
    filled in with nearly the same abstract: the duplicate check must find the first."""
    side = world.a
    with app.app_context(), tenant_scope(side.tenant_id):
        applicant = db.session.get(User, side.user_ids[Role.applicant])
        officer = db.session.get(User, side.user_ids[Role.officer])
        draft = db.session.get(Proposal, side.ids["proposal_id"])
        earlier = proposals.start_proposal(draft.call, by=applicant)
        proposals.update_sections(earlier, "overview", by=applicant, expected_revision=None,
                                  title=EARLIER_TITLE,
                                  abstract=ABSTRACT.replace("region", "regions", 1))
        lead = db.session.get(Institute, side.institute_ids[1])
        proposals.add_partner(earlier, lead, lead=True, by=applicant)
        put_in_state(earlier, ProposalStatus.submitted, by=applicant)
        dedup.check_proposal(earlier, by=officer)
        _complete(draft, applicant, side)
        db.session.commit()
        return earlier.id, draft.id


def _rq_workers_of_finished_jobs(redis: Redis) -> dict[str, str]:
    """RQ job id -> name of the worker that finished it, on both queues the workers serve
    (the duplicate checks have a queue of their own)."""
    return {job_id: RQJob.fetch(job_id, connection=redis).worker_name
            for queue in (QUEUE_NAME, DEDUP_QUEUE)
            for job_id in FinishedJobRegistry(queue, connection=redis).get_job_ids()}


def _names_job(rq_job: RQJob, job_id: int) -> bool:
    """Whether the RQ job runs the portal's job ``job_id`` (its id among the arguments)."""
    return job_id in (*rq_job.args, *rq_job.kwargs.values())


def test_two_webs_and_two_workers_share_everything(app, world: World, cluster,
                                                   redis_db: Redis) -> None:
    procs, web1, web2 = cluster
    earlier_id, proposal_id = _prepare(app, world)
    slug = world.a.slug
    with app.app_context(), all_tenants():
        old_jobs = set(db.session.scalars(select(Job.id)).all())
        # The world's own agreements were stored by the suite's app, not in this S3 bucket.
        old_agreements = set(db.session.scalars(select(Agreement.id)).all())
        db.session.rollback()

    def new_jobs() -> list[Job]:
        return [j for j in db.session.scalars(select(Job)).all() if j.id not in old_jobs]

    # The applicant opens the preview on web 2 and submits it through web 1.
    applicant = requests.Session()
    _login(applicant, web1, world.a.emails[Role.applicant])
    preview = applicant.get(f"{web2}/{slug}/proposals/{proposal_id}/preview", timeout=30)
    assert preview.status_code == 200
    version = re.search(r'name="version"[^>]*value="(\d+)"', preview.text).group(1)
    submitted = applicant.post(
        f"{web1}/{slug}/proposals/{proposal_id}/do/submit", timeout=30, allow_redirects=False,
        data={"version": version, "declaration": "y", "csrf_token": _csrf(preview.text)})
    assert submitted.status_code == 302, submitted.text[:500]

    def screened_and_checked() -> bool:
        with app.app_context(), all_tenants():
            jobs = new_jobs()
            match = db.session.scalar(select(SimilarityMatch).where(
                SimilarityMatch.proposal_id == proposal_id,
                SimilarityMatch.other_proposal_id == earlier_id))
            report = db.session.scalar(select(ScreeningReport).where(
                ScreeningReport.proposal_id == proposal_id))
            db.session.rollback()
            return bool(jobs) and all(j.finished for j in jobs) and match is not None \
                and report is not None

    wait_for("the screening and the duplicate check of the submission", screened_and_checked,
             procs)
    with app.app_context(), all_tenants():
        jobs = new_jobs()
        assert {j.status for j in jobs} == {JobStatus.done}, [(j.task, j.error) for j in jobs]
        [dedup_job] = [j.id for j in jobs if j.task == "dedup.check_proposal"]
        db.session.rollback()

    # The jobs ran on the RQ workers, not in a web process.
    workers = {w.name: w.pid for w in Worker.all(connection=redis_db)}
    ran_on = _rq_workers_of_finished_jobs(redis_db)
    assert ran_on and set(ran_on.values()) <= set(workers), (ran_on, workers)

    # The officer, signed in on web 2, sees the submission and its duplicate on both webs.
    officer = requests.Session()
    _login(officer, web2, world.a.emails[Role.officer])
    for base in (web1, web2):
        page = officer.get(f"{base}/{slug}/proposals/{proposal_id}", timeout=30)
        assert page.status_code == 200
        assert "Genomic TB surveillance" in page.text and EARLIER_TITLE in page.text
        overlaps = officer.get(f"{base}/{slug}/overlaps/", timeout=30)
        assert EARLIER_TITLE in overlaps.text

    # Stop the worker that checked duplicates: the agreements must come from the other.
    [dedup_worker] = [name for rq_id, name in ran_on.items()
                      if _names_job(RQJob.fetch(rq_id, connection=redis_db), dedup_job)]
    [label] = [label for label, proc in procs.procs.items()
               if label.startswith("worker") and proc.pid == workers[dedup_worker]]
    procs.stop(label)
    [other_name] = set(workers) - {dedup_worker}
    before = set(ran_on)

    admin = requests.Session()
    _login(admin, web2, world.a.emails[Role.admin])
    call_id = world.a.ids["agreements_call_id"]
    confirm = admin.get(f"{web2}/{slug}/calls/{call_id}/agreements", timeout=30)
    expected = re.search(r'name="expected"[^>]*value="([^"]*)"', confirm.text).group(1)
    assert expected, "the world has an approved proposal waiting for its agreement"
    started = admin.post(f"{web2}/{slug}/calls/{call_id}/agreements", timeout=30,
                         allow_redirects=False,
                         data={"expected": expected, "csrf_token": _csrf(confirm.text)})
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    job_id = int(re.search(r"/jobs/(\d+)", started.headers["Location"]).group(1))

    def batch_finished() -> dict[str, Any] | None:
        state = admin.get(f"{web1}/{slug}/jobs/{job_id}", timeout=30).json()
        return state if state["finished"] else None

    state = wait_for("the agreements batch job", batch_finished, procs)
    assert state["status"] == "done" and state["result"]["failed"] == [], state
    new = {job: name for job, name in _rq_workers_of_finished_jobs(redis_db).items()
           if job not in before}
    assert set(new.values()) == {other_name}

    with app.app_context(), all_tenants():
        agreements = db.session.scalars(select(Agreement).where(
            Agreement.tenant_id == world.a.tenant_id)).all()
        issued = [(a.id, a.sha256) for a in agreements if a.id not in old_agreements]
        db.session.rollback()
    assert issued
    for agreement_id, sha256 in issued:
        for base in (web1, web2):
            response = admin.get(f"{base}/{slug}/agreements/{agreement_id}/pdf", timeout=30)
            assert response.status_code == 200, (base, response.status_code)
            assert response.content.startswith(b"%PDF-")
            assert hashlib.sha256(response.content).hexdigest() == sha256

    # Web 1's two gunicorn workers count into one /metrics page, whichever answers.
    for _ in range(5):
        for agreement_id, _sha256 in issued:
            assert admin.get(f"{web1}/{slug}/agreements/{agreement_id}/pdf",
                             timeout=30).status_code == 200
    figures = requests.get(f"{web1}/metrics", timeout=30).text
    served = sum(float(line.rsplit(" ", 1)[1]) for line in figures.splitlines()
                 if line.startswith('center_http_requests_total{endpoint="agreements.download"'))
    assert served == 6 * len(issued)
