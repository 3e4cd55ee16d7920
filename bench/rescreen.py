"""Time the re-screening job of a whole center against a refreshed 20,000-entry list.

Run from the project root::

    .venv/bin/python -m bench.rescreen [--proposals 600] [--size 20000] [--seed 7]

It seeds the demo centers in a temporary SQLite database and copies the demo center's
proposals (with their teams and institutes, ``bench/grow.py``) to about ``--proposals``. It
imports a synthetic list of ``--size`` entries (``bench/sanctions.py``'s generator) as the
portal's CSV, the way an officer's upload or the scheduled refresh does. Then it runs the
job that follows a new list, ``screening.rescreen``, which re-screens every pending and
active proposal. It prints:

* how long the list's import took;
* the job's time, the proposals re-screened and the names (people and institutes) screened;
* names screened per second, and the job's progress as the page shows it.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


def list_csv(size: int, seed: int) -> bytes:
    """A synthetic list in the portal's CSV columns."""
    from bench.sanctions import synthetic_entries

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "aliases", "country", "type", "list", "reference"])
    for e in synthetic_entries(size, seed):
        writer.writerow([e.name, ";".join(e.aliases), e.country or "", e.type, e.list_name,
                         e.reference])
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=600)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from bench import grow
    from center import create_app, demo
    from center.auth.models import User
    from center.core.db import db, tenant_scope
    from center.core.jobs import Job, JobStatus
    from center.proposals.models import Proposal, ProposalInstitute, TeamMember
    from center.screening import services
    from center.tenants.models import Tenant

    work = Path(tempfile.mkdtemp(prefix="bench-rescreen-"))
    app = create_app({"CENTER_ENV": "development", "DATABASE_URL": f"sqlite:///{work}/c.db",
                      "SECRET_KEY": "bench-rescreen-secret-key-not-for-production",
                      "STORAGE_URL": str(work / "files"), "JOBS_EAGER": True,
                      "DEDUP_EMBEDDINGS": "off", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.metadata.create_all(db.engine)
        demo.seed()
        db.session.commit()
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "istc-demo"))
        with tenant_scope(tenant.id):
            have = db.session.scalar(select(func.count(Proposal.id)))
        copies = max(args.proposals // have - 1, 0)
        grow.clone_proposals(db.session.connection(), tenant.id, copies)
        db.session.commit()
        officer = db.session.scalar(select(User).where(User.email == "officer@istc-demo.example"))
        with tenant_scope(tenant.id):
            waiting = select(Proposal.id).where(Proposal.status.in_(services.RESCREEN_STATES))
            n_proposals = db.session.scalar(select(func.count()).select_from(waiting.subquery()))
            n_people = db.session.scalar(select(func.count(TeamMember.id)).where(
                TeamMember.proposal_id.in_(waiting)))
            n_institutes = db.session.scalar(select(func.count(ProposalInstitute.id)).where(
                ProposalInstitute.proposal_id.in_(waiting)))
            data = list_csv(args.size, args.seed)
            started = time.perf_counter()
            new = services.import_sanctions_list(filename="list.csv", data=data,
                                                 label="Benchmark", by=officer)
            db.session.commit()
            import_seconds = time.perf_counter() - started
            started = time.perf_counter()
            job = services.start_rescreen(new, by=officer)
            db.session.commit()  # JOBS_EAGER: the job runs once this commits
            job_seconds = time.perf_counter() - started
            db.session.expire_all()
            job = db.session.get(Job, job.id)
    if job.status != JobStatus.done:
        raise SystemExit(f"the job ended {job.status}: {job.error}")
    names = n_people + n_institutes
    print(f"list: {args.size:,} entries imported in {import_seconds:.1f} s")
    print(f"job screening.rescreen: {job.result['proposals']:,} proposals "
          f"({n_proposals:,} pending or active), {n_people:,} people and {n_institutes:,} "
          f"institutes, in {job_seconds:.1f} s: {names / job_seconds:,.0f} names/s, "
          f"{job.result['proposals'] / job_seconds:.1f} proposals/s")
    print(f"progress as shown: {job.done}/{job.total} {job.message!r}; "
          f"uncleared hits {job.result['uncleared_hits']}")


if __name__ == "__main__":
    main()
