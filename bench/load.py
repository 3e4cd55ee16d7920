"""Load the portal as a center does, and print what one machine holds.

Run from the project root (PostgreSQL at ``--pg``, Redis at ``--redis``, both on 127.0.0.1)::

    .venv/bin/python bench/load.py [--proposals 2000] [--users 300] [--vus 50]
                                   [--duration 60] [--workers 4] [--threads 4]

1. **A center of realistic size.** It creates a database of its own (``bench_load``, dropped
   at the end unless ``--keep``), migrates it as the PostgreSQL superuser of ``--pg`` (the
   tables' owner, as `flask db upgrade` does in production), seeds the demo centers
   (``center/demo.py``) and grows the ISTC demo to ``--users`` people and ``--proposals``
   proposals with ``bench/grow.py`` (whole proposals copied by bulk inserts, every state the
   demo has; deterministic). Each virtual applicant gets a complete draft of its own,
   written through the services; each reviewer account gets accepted assignments on
   proposals under review.
2. **The portal under gunicorn.** ``gunicorn wsgi:app`` on 127.0.0.1, connecting as the
   row-level-security role ``center_app`` (no owner, no superuser: the policies bind it as
   in production), CSRF on, jobs queued on Redis (no worker: the web only enqueues, so no
   job runs inside a request), rate limits off (every virtual user comes from 127.0.0.1,
   and the limits are per client address). A bare Flask endpoint (``bare_app`` below) is
   served by the same gunicorn settings on another port.
3. **Virtual users, from another process.** ``--vus`` users with their own cookie sessions
   (``requests``), one thread each, a think time of 0.25-0.75 s between requests (seeded):
   60 % applicants (list their proposals, open the overview, save it, submit their draft
   after a few saves and go on reading it), 20 % reviewers (list assignments, open one,
   save scores and comments), 20 % officers (list submitted proposals page by page, search
   titles, screening queue, duplicate matches, agreements, open a proposal). Then the
   *throughput* phase: the same number of users without think time, on the officers' list
   pages only, then on the bare endpoint; the ratio of the two is printed.
4. **Every acknowledged write is there exactly once.** The client records each write the
   portal acknowledged (a redirect to the saved page); the script then reads the database:
   each draft's overview revision went up by exactly the acknowledged saves and holds the
   last title saved, each acknowledged submission made exactly one submitted version, each
   review's version counts exactly its acknowledged saves and holds the last comment.

Figures (requests per second, p50/p95/p99 ms, errors) are printed per phase and per kind of
request, with the machine's load average (``os.getloadavg``) before and after: the machine
is shared, so figures without it mean little.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

TENANT = "istc-demo"
APP_ROLE = "center_app"
PASSWORD = "demo-password-2026"  # noqa: S105 - the published demo credential


def bare_app():  # noqa: ANN201 - gunicorn's factory
    """A Flask app with one endpoint answering a small HTML page: what gunicorn and Flask
    cost without the portal (no database, no session, no templates)."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/")
    def index() -> str:
        return "<!doctype html><title>bare</title><p>ok</p>"

    return app


# --- the database ----------------------------------------------------------------------

def _url(base: str, database: str, user: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base).set(database=database)
    if user:
        url = url.set(username=user, password=None)
    return url.render_as_string(hide_password=False)


def create_database(pg: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_url(pg, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(pg: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_url(pg, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def migrate(owner_url: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                   cwd=ROOT, env={**env, "DATABASE_URL": owner_url}, check=True,
                   capture_output=True)
    from sqlalchemy import create_engine

    from tests.conftest import _create_app_role  # the suite's grants, the same role

    engine = create_engine(owner_url)
    with engine.begin() as conn:
        _create_app_role(conn, engine.url.database)
    engine.dispose()


def _settings(database_url: str, storage: Path) -> dict[str, Any]:
    return {"CENTER_ENV": "development", "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-load-secret-key-not-for-production",
            "STORAGE_URL": str(storage), "JOBS_EAGER": True, "DEDUP_EMBEDDINGS": "off",
            "RATE_LIMITS": False, "LOG_LEVEL": "WARNING", "SERVER_NAME": None}


def seed_and_grow(owner_url: str, storage: Path, *, proposals: int, users: int,
                  applicants: int, reviewers_per: int, seed: int) -> dict[str, Any]:
    """Seed the demo, grow it, and prepare the virtual users' objects; return the plan."""
    from sqlalchemy import func, select

    from bench import grow
    from center import create_app, demo
    from center.auth.models import User
    from center.calls.models import Call
    from center.core import clock
    from center.core.db import db, tenant_scope
    from center.proposals import services as proposals_services
    from center.proposals.models import Proposal, ProposalStatus
    from center.reviews.models import Assignment, AssignmentStatus, ReviewRound
    from center.tenants.models import Institute, Membership, Role, Tenant

    rng = random.Random(seed)
    app = create_app(_settings(owner_url, storage))
    with app.app_context():
        demo.seed()
        db.session.commit()
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        template = db.session.scalar(select(User).where(
            User.email == "aigerim.nurlanovna@ncpt.example"))
        existing_users = db.session.scalar(select(func.count(User.id)))
        conn = db.session.connection()
        new_applicants = grow.add_applicants(conn, tenant.id, template.id,
                                             max(users - existing_users, applicants))
        with tenant_scope(tenant.id):
            have = db.session.scalar(select(func.count(Proposal.id)))
        # Every VU's draft is written below: grow to the size less those.
        copies = max((proposals - applicants) // have - 1, 0)
        grow.clone_proposals(conn, tenant.id, copies, owners=new_applicants)
        db.session.commit()
        plan: dict[str, Any] = {"tenant": TENANT, "applicants": [], "reviewers": [],
                                "officers": []}
        with tenant_scope(tenant.id):
            call = db.session.scalar(select(Call).order_by(Call.id))
            donors = list(call.donors)
            from center.tenants.models import Donor
            donor_rows = [db.session.get(Donor, d.donor_id) for d in donors]
            institutes = list(db.session.scalars(select(Institute).order_by(Institute.id)))
            for n, user_id in enumerate(new_applicants[:applicants]):
                user = db.session.get(User, user_id)
                lead, partner = institutes[n % len(institutes)], institutes[(n + 3) % len(
                    institutes)]
                p = demo._write_proposal(
                    call, (user.email, user.name), f"Draft of {user.name}",
                    demo.ABSTRACTS[next(iter(demo.ABSTRACTS))], lead, partner,
                    "bench, load", donor_rows, submit=False)
                for kind in call.required_attachments:
                    proposals_services.upload_attachment(
                        p, by=user, kind=kind, filename=f"{kind}.pdf",
                        data=demo._demo_pdf(p.title))
                db.session.commit()
                plan["applicants"].append({"email": user.email, "proposal_id": p.id,
                                           "overview_rev": proposals_services.section_revision(
                                               p, "overview")})
            if db.session.scalar(select(ReviewRound).where(ReviewRound.call_id == call.id)) \
                    is None:
                db.session.add(ReviewRound(call_id=call.id, **ReviewRound.DEFAULTS))
            reviewable = list(db.session.scalars(
                select(Proposal).where(Proposal.call_id == call.id,
                                       Proposal.status != ProposalStatus.draft)
                .order_by(Proposal.id)))
            rng.shuffle(reviewable)
            members = list(db.session.scalars(select(Membership).where(
                Membership.role == Role.reviewer).order_by(Membership.id)))
            for m in members:
                mine = []
                for _ in range(reviewers_per):
                    p = reviewable.pop()
                    p.status = ProposalStatus.under_review
                    a = Assignment(proposal_id=p.id, reviewer_id=m.user_id,
                                   donor_id=m.donor_id, status=AssignmentStatus.accepted,
                                   assigned_at=clock.now(), declared_at=clock.now(),
                                   conflict_reason="")
                    db.session.add(a)
                    db.session.flush()
                    mine.append(a.id)
                plan["reviewers"].append({"email": m.user.email, "assignments": mine})
            officers = [m.user.email for m in db.session.scalars(select(Membership).where(
                Membership.role.in_([Role.officer, Role.admin])).order_by(Membership.id))]
            plan["officers"] = officers
            plan["words"] = ["tuberculosis", "seismic", "forest", "radiation", "hepatitis",
                             "glacial", "landslide", "biodiversity"]
            plan["proposal_ids"] = [p.id for p in reviewable[:200]]
            db.session.commit()
            plan["counts"] = {
                "users": db.session.scalar(select(func.count(User.id))),
                "proposals": db.session.scalar(select(func.count(Proposal.id))),
            }
        db.session.remove()
    return plan


# --- the servers -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, port: int, env: dict[str, str], args: argparse.Namespace,
                   log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.workers), "--threads", str(args.threads),
               "--worker-class", "gthread", "--keep-alive", "5", "--log-level", "warning",
               target]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    import requests

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {target} exited: see {log}")
        with contextlib.suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            return process
        time.sleep(0.3)
    raise SystemExit(f"gunicorn {target} did not answer in 60 s: see {log}")


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(master: int) -> float:
    """CPU seconds (user + system) used so far by a gunicorn master and its workers."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- the client (its own process) ------------------------------------------------------



def _field(html: str, name: str) -> str:
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag:
            value = re.search(r'value="([^"]*)"', tag)
            return value.group(1) if value else ""
    return ""


class Recorder:
    """Latencies and errors by phase and kind of request, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.errors: dict[tuple[str, str], int] = defaultdict(int)
        self.error_examples: list[str] = []
        self.acks: list[dict[str, Any]] = []
        self.phase = "setup"

    def add(self, kind: str, seconds: float, ok: bool, what: str = "") -> None:
        with self.lock:
            self.samples[(self.phase, kind)].append(seconds)
            if not ok:
                self.errors[(self.phase, kind)] += 1
                if len(self.error_examples) < 20:
                    self.error_examples.append(f"{self.phase} {kind}: {what}")


class VirtualUser:
    def __init__(self, base: str, email: str, rec: Recorder, rng: random.Random) -> None:
        import requests

        self.base, self.email, self.rec, self.rng = base, email, rec, rng
        self.http = requests.Session()

    def request(self, kind: str, method: str, path: str, *, expect: int = 200,
                data: dict[str, Any] | None = None, to: str | None = None) -> Any:
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, data=data,
                                         allow_redirects=False, timeout=60)
        except Exception as exc:  # noqa: BLE001 - a failed request is an error, counted
            self.rec.add(kind, time.perf_counter() - started, False, repr(exc))
            return None
        elapsed = time.perf_counter() - started
        ok = response.status_code == expect and (
            to is None or to in response.headers.get("Location", ""))
        self.rec.add(kind, elapsed, ok, f"{method} {path} -> {response.status_code} "
                                        f"{response.headers.get('Location', '')}")
        return response if ok else None

    def login(self) -> bool:
        page = self.request("login_form", "GET", "/login")
        if page is None:
            return False
        token = _field(page.text, "csrf_token")
        return self.request("login", "POST", "/login", expect=302, data={
            "csrf_token": token, "email": self.email, "password": PASSWORD}) is not None


def run_applicant(vu: VirtualUser, me: dict[str, Any], stop_at: float, t: str) -> None:
    pid, saves, submitted = me["proposal_id"], 0, False
    while time.monotonic() < stop_at:
        vu.request("applicant_list", "GET", f"/{t}/proposals/")
        vu.think()
        if submitted:
            vu.request("proposal_show", "GET", f"/{t}/proposals/{pid}")
            vu.think()
            continue
        if saves >= 4 + vu.rng.randrange(4):
            page = vu.request("preview", "GET", f"/{t}/proposals/{pid}/preview")
            vu.think()
            if page is not None:
                done = vu.request("submit", "POST", f"/{t}/proposals/{pid}/do/submit",
                                  expect=302, to=f"/proposals/{pid}", data={
                                      "csrf_token": _field(page.text, "csrf_token"),
                                      "version": _field(page.text, "version"),
                                      "declaration": "y"})
                if done is not None and "/preview" not in done.headers["Location"]:
                    submitted = True
                    vu.ack({"kind": "submit", "proposal_id": pid})
            vu.think()
            continue
        page = vu.request("overview_form", "GET", f"/{t}/proposals/{pid}/edit/overview")
        vu.think()
        if page is None:
            continue
        title = f"Bench draft {vu.email} save {saves + 1}"
        data = {"csrf_token": _field(page.text, "csrf_token"),
                "revision": _field(page.text, "revision"), "title": title,
                "acronym": "", "topic": "Biodiversity",
                "abstract": "Bench abstract of the draft " * 15, "objectives": "Objectives.",
                "keywords": "bench, load", "duration_months": "24"}
        if vu.request("overview_save", "POST", f"/{t}/proposals/{pid}/edit/overview",
                      expect=302, data=data, to=f"/proposals/{pid}") is not None:
            saves += 1
            vu.ack({"kind": "overview", "proposal_id": pid, "title": title})
        vu.think()


def run_reviewer(vu: VirtualUser, me: dict[str, Any], stop_at: float, t: str) -> None:
    n = 0
    while time.monotonic() < stop_at:
        vu.request("reviewer_list", "GET", f"/{t}/reviews/")
        vu.think()
        assignment = me["assignments"][n % len(me["assignments"])]
        page = vu.request("review_form", "GET", f"/{t}/reviews/assignments/{assignment}")
        vu.think()
        n += 1
        if page is None:
            continue
        comment = f"Bench review by {vu.email}, save {n}"
        data = {"csrf_token": _field(page.text, "csrf_token"),
                "version": _field(page.text, "version"), "action": "save",
                "comments_to_applicants": comment, "confidential_comments": ""}
        for i in range(3):
            data[f"score_{i}"] = str(1 + vu.rng.randrange(5))
        if vu.request("review_save", "POST", f"/{t}/reviews/assignments/{assignment}",
                      expect=302, data=data) is not None:
            vu.ack({"kind": "review", "assignment_id": assignment, "comment": comment})
        vu.think()


def officer_pages(t: str, rng: random.Random, plan: dict[str, Any]) -> list[tuple[str, str]]:
    word = rng.choice(plan["words"])
    return [("proposals_all", f"/{t}/proposals/all?page={1 + rng.randrange(20)}"),
            ("proposals_search", f"/{t}/proposals/all?q={word}"),
            ("screening_index", f"/{t}/screening/"),
            ("dedup_matches", f"/{t}/overlaps/"),
            ("agreements_index", f"/{t}/agreements/"),
            ("calls", f"/{t}/calls/")]


def run_officer(vu: VirtualUser, plan: dict[str, Any], stop_at: float, t: str,
                think: bool = True) -> None:
    while time.monotonic() < stop_at:
        for kind, path in officer_pages(t, vu.rng, plan):
            vu.request(kind, "GET", path)
            if think:
                vu.think()
        if think:
            pid = vu.rng.choice(plan["proposal_ids"])
            vu.request("proposal_show", "GET", f"/{t}/proposals/{pid}")
            vu.think()


def client(args: argparse.Namespace) -> None:
    plan = json.loads(Path(args.plan).read_text())
    rec, t, seed = Recorder(), plan["tenant"], args.seed
    vus = []
    n_app = round(args.vus * 0.6)
    n_rev = round(args.vus * 0.2)
    for n in range(args.vus):
        rng = random.Random(seed * 1000 + n)
        if n < n_app:
            role, me = "applicant", plan["applicants"][n]
        elif n < n_app + n_rev:
            role, me = "reviewer", plan["reviewers"][(n - n_app) % len(plan["reviewers"])]
        else:
            role, me = "officer", plan["officers"][(n - n_app - n_rev) % len(plan["officers"])]
        email = me if isinstance(me, str) else me["email"]
        vu = VirtualUser(args.url, email, rec, rng)
        vu.think = lambda rng=rng: time.sleep(0.25 + rng.random() * 0.5)
        vu.ack = lambda record: rec.acks.append(record)
        vus.append((role, me, vu))
    # A reviewer account used by two VUs would save the same review from two sessions:
    # each then sees the other's version as a conflict (409), which is right but is not a
    # lost write. One VU per reviewer account keeps the figures clean.
    for _role, _me, vu in vus:
        if not vu.login():
            raise SystemExit(f"could not sign in as {vu.email}: {rec.error_examples}")
    masters = {"portal": args.portal_pid, "bare": args.bare_pid}
    cpu: dict[str, float] = {}
    # Phase 1: the mixed day at a realistic pace.
    rec.phase = "mixed"
    stop_at = time.monotonic() + args.duration
    phase_started = time.monotonic()
    cpu_started = cpu_seconds(masters["portal"])
    threads = []
    for role, me, vu in vus:
        target = {"applicant": run_applicant, "reviewer": run_reviewer}.get(role)
        threads.append(threading.Thread(
            target=(lambda vu=vu, me=me, target=target: target(vu, me, stop_at, t))
            if target else (lambda vu=vu: run_officer(vu, plan, stop_at, t))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durations = {"mixed": time.monotonic() - phase_started}
    cpu["mixed"] = cpu_seconds(masters["portal"]) - cpu_started
    # Phase 2: list pages flat out, every VU signed in as an officer.
    officers = [vu for role, _me, vu in vus if role == "officer"]
    readers = [officers[n % len(officers)] for n in range(args.vus)]
    for phase, runner in (("lists", lambda vu, stop_at: run_officer(vu, plan, stop_at, t,
                                                                    think=False)),
                          ("bare", lambda vu, stop_at: bare_loop(vu, args.bare, stop_at))):
        rec.phase = phase
        server = masters["bare" if phase == "bare" else "portal"]
        stop_at = time.monotonic() + args.throughput_seconds
        phase_started = time.monotonic()
        cpu_started = cpu_seconds(server)
        sessions = []
        for n in range(args.vus):
            one = VirtualUser(args.url, readers[n].email, rec, random.Random(seed + n))
            one.http.cookies.update(readers[n].http.cookies)
            sessions.append(one)
        threads = [threading.Thread(target=runner, args=(vu, stop_at)) for vu in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        durations[phase] = time.monotonic() - phase_started
        cpu[phase] = cpu_seconds(server) - cpu_started
    Path(args.out).write_text(json.dumps({
        "durations": durations, "cpu": cpu, "acks": rec.acks, "error_examples": rec.error_examples,
        "samples": [[p, k, v] for (p, k), v in rec.samples.items()],
        "errors": [[p, k, v] for (p, k), v in rec.errors.items()]}))


def bare_loop(vu: VirtualUser, url: str, stop_at: float) -> None:
    vu.base = url
    while time.monotonic() < stop_at:
        vu.request("bare", "GET", "/")


def profile_pages(app_url: str, storage: Path, plan: dict[str, Any], out: Path) -> None:
    """Time each list page in this process (no gunicorn, no other request) and write a
    pyinstrument profile of one request of each to ``out``."""
    from pyinstrument import Profiler

    from center import create_app

    app = create_app({**_settings(app_url, storage), "WTF_CSRF_ENABLED": False})
    t = plan["tenant"]
    readers = [(plan["officers"][0], officer_pages(t, random.Random(0), plan)),
               (plan["applicants"][0]["email"], [("applicant_list", f"/{t}/proposals/")]),
               (plan["reviewers"][0]["email"], [("reviewer_list", f"/{t}/reviews/")])]
    out.mkdir(exist_ok=True)
    for email, pages in readers:
        http = app.test_client()
        http.post("/login", data={"email": email, "password": PASSWORD})
        for kind, path in pages:
            http.get(path)
            started = time.perf_counter()
            for _ in range(5):
                status = http.get(path).status_code
            ms = (time.perf_counter() - started) / 5 * 1000
            profiler = Profiler(interval=0.0005)
            with profiler:
                http.get(path)
            (out / f"{kind}.txt").write_text(profiler.output_text(unicode=False, color=False))
            print(f"in process: {kind:<18} {ms:7.1f} ms  ({status}, profile in "
                  f"{out / (kind + '.txt')})")


# --- figures and the write check --------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def figures(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    by_phase: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    table = []
    for phase, kind, values in result["samples"]:
        by_phase[phase] += values
        table.append((phase, kind, values))
    for phase, _kind, count in result["errors"]:
        errors[phase] += count
    out = {}
    print(f"{'phase':<8} {'request':<18} {'count':>7} {'rps':>8} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    kind_errors = {(p, k): c for p, k, c in result["errors"]}
    for phase, kind, values in sorted(table):
        if phase not in result["durations"]:  # signing in, before the clock starts
            continue
        seconds = result["durations"][phase]
        print(f"{phase:<8} {kind:<18} {len(values):>7} {len(values) / seconds:>8.1f} "
              f"{1000 * percentile(values, 50):>8.1f} {1000 * percentile(values, 95):>8.1f} "
              f"{1000 * percentile(values, 99):>8.1f} {kind_errors.get((phase, kind), 0):>6}")
    for phase, values in by_phase.items():
        if phase not in result["durations"]:
            continue
        seconds = result["durations"][phase]
        out[phase] = {"requests": len(values), "rps": len(values) / seconds,
                      "p50": 1000 * percentile(values, 50), "p95": 1000 * percentile(values, 95),
                      "p99": 1000 * percentile(values, 99), "mean": 1000 * statistics.fmean(
                          values), "errors": errors[phase],
                      "cpu_ms": 1000 * result["cpu"][phase] / max(len(values), 1)}
    cores = os.cpu_count() or 1
    print(f"\n{'phase':<8} {'requests':>8} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'server CPU ms/request':>22} {'rps if the cores were ours':>27}")
    for phase, f in out.items():
        print(f"{phase:<8} {f['requests']:>8} {f['rps']:>7.1f} {f['p50']:>8.1f} {f['p95']:>8.1f} "
              f"{f['p99']:>8.1f} {f['errors']:>6} {f['cpu_ms']:>22.1f} "
              f"{1000 * cores / max(f['cpu_ms'], 0.001):>27.0f}")
    return out


def check_writes(owner_url: str, plan: dict[str, Any], acks: list[dict[str, Any]]) -> list[str]:
    """Compare the acknowledged writes with the database; return what does not match."""
    from sqlalchemy import create_engine, text

    problems = []
    engine = create_engine(owner_url)
    overview = defaultdict(list)
    reviews = defaultdict(list)
    submitted = set()
    for ack in acks:
        if ack["kind"] == "overview":
            overview[ack["proposal_id"]].append(ack["title"])
        elif ack["kind"] == "review":
            reviews[ack["assignment_id"]].append(ack["comment"])
        else:
            submitted.add(ack["proposal_id"])
    with engine.connect() as conn:
        for me in plan["applicants"]:
            pid = me["proposal_id"]
            row = conn.execute(text("SELECT title, section_edits, status FROM proposals "
                                    "WHERE id = :id"), {"id": pid}).one()
            rev = int((row.section_edits or {}).get("overview", {}).get("rev", 0))
            saves = overview.get(pid, [])
            if rev != me["overview_rev"] + len(saves):
                problems.append(f"proposal {pid}: overview revision {rev}, expected "
                                f"{me['overview_rev']} + {len(saves)} acknowledged saves")
            if saves and row.title != saves[-1]:
                problems.append(f"proposal {pid}: title {row.title!r}, last saved "
                                f"{saves[-1]!r}")
            versions = conn.scalar(text("SELECT count(*) FROM proposal_versions WHERE "
                                        "proposal_id = :id"), {"id": pid})
            if versions != (1 if pid in submitted else 0):
                problems.append(f"proposal {pid}: {versions} submitted versions, "
                                f"{int(pid in submitted)} acknowledged")
        for assignment, comments in reviews.items():
            rows = conn.execute(text("SELECT version, comments_to_applicants FROM reviews "
                                     "WHERE assignment_id = :id"), {"id": assignment}).all()
            if len(rows) != 1:
                problems.append(f"assignment {assignment}: {len(rows)} review rows")
                continue
            if rows[0].version != len(comments):
                problems.append(f"assignment {assignment}: review version {rows[0].version}, "
                                f"{len(comments)} acknowledged saves")
            if rows[0].comments_to_applicants != comments[-1]:
                problems.append(f"assignment {assignment}: last comment not the last saved")
    engine.dispose()
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--database", default="bench_load")
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--throughput-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, time each list page in process and profile it "
                             "with pyinstrument")
    # The client half, started by the script in another process.
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--portal-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(args)
        return
    n_app, n_rev = round(args.vus * 0.6), round(args.vus * 0.2)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    owner_url = _url(args.pg, args.database)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"load average before: {os.getloadavg()}")
    started = time.monotonic()
    create_database(args.pg, args.database)
    servers = []
    try:
        migrate(owner_url, env)
        plan = seed_and_grow(owner_url, work / "files", proposals=args.proposals,
                             users=args.users, applicants=n_app,
                             reviewers_per=max(3, n_rev and 6), seed=args.seed)
        print(f"data: {plan['counts']} in {time.monotonic() - started:.0f} s")
        (work / "plan.json").write_text(json.dumps(plan))
        settings = _settings(_url(args.pg, args.database, APP_ROLE), work / "files")
        server_env = {**env, **{k: str(v) for k, v in settings.items() if v is not None},
                      "JOBS_EAGER": "false", "RATE_LIMITS": "false",
                      "REDIS_URL": args.redis}
        portal_port, bare_port = free_port(), free_port()
        servers.append(start_gunicorn("wsgi:app", portal_port, server_env, args,
                                      work / "portal.log"))
        servers.append(start_gunicorn("bench.load:bare_app()", bare_port, server_env, args,
                                      work / "bare.log"))
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); "
              f"{args.vus} virtual users; load average {os.getloadavg()}")
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--client",
                        "--url", f"http://127.0.0.1:{portal_port}",
                        "--bare", f"http://127.0.0.1:{bare_port}",
                        "--plan", str(work / "plan.json"), "--out", str(work / "out.json"),
                        "--vus", str(args.vus), "--duration", str(args.duration),
                        "--throughput-seconds", str(args.throughput_seconds),
                        "--seed", str(args.seed), "--portal-pid", str(servers[0].pid),
                        "--bare-pid", str(servers[1].pid)], check=True, env=env)
        print(f"load average after: {os.getloadavg()}")
        result = json.loads((work / "out.json").read_text())
        summary = figures(result)
        if "lists" in summary and "bare" in summary:
            lists, bare = summary["lists"], summary["bare"]
            print(f"list pages / bare endpoint requests per second: {lists['rps']:.1f} / "
                  f"{bare['rps']:.1f} = {lists['rps'] / bare['rps']:.0%}; in server CPU per "
                  f"request: {bare['cpu_ms']:.1f} / {lists['cpu_ms']:.1f} ms = "
                  f"{bare['cpu_ms'] / lists['cpu_ms']:.0%}")
        for example in result["error_examples"]:
            print(f"error: {example}")
        problems = check_writes(owner_url, plan, result["acks"])
        kinds = defaultdict(int)
        for ack in result["acks"]:
            kinds[ack["kind"]] += 1
        print(f"acknowledged writes: {dict(kinds)}; lost or duplicated: {len(problems)}")
        for problem in problems[:20]:
            print(f"  {problem}")
        if args.profile:
            profile_pages(settings["DATABASE_URL"], work / "files", plan, work / "profiles")
    finally:
        for server in servers:
            stop(server)
        if not args.keep:
            drop_database(args.pg, args.database)
    print(f"done in {time.monotonic() - started:.0f} s; logs in {work}")


if __name__ == "__main__":
    main()
