"""Double claims caught at reporting time: a submitted report's results and deliverables go
to `center.monitoring.claims.check_reported_text`.

Fingerprinting and comparing against the center's index takes a while, so the report's
``submit`` transition only queues the check (`center.core.jobs`), as a proposal's submission
queues its duplicate-effort check; the job runs once the submission commits, on the
``dedup`` queue, whose worker owns the vector index (as for proposals). It is safe to run
twice: checking the same report (``report:<id>``) again replaces its text and open flags.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from center.auth.models import User
from center.core import jobs
from center.core.db import db
from center.monitoring import claims
from center.projects import reports
from center.projects.models import Report


def reported_results(report: Report) -> str:
    """What the report claims as achieved: the results section and the notes on the tasks
    it reports done (deliverables and milestones reached)."""
    parts = [(report.sections or {}).get("results", "").strip()]
    parts += [f"{row.get('title', '')}: {row['note'].strip()}" for row in report.progress or []
              if row.get("progress") == "done" and (row.get("note") or "").strip()]
    return "\n\n".join(p for p in parts if p)


def source_key(report: Report) -> str:
    return f"report:{report.id}"


def check_report(report: Report, *, by: User | None) -> list[Any]:
    """Check ``report``'s reported results against the other projects and the proposals."""
    text = reported_results(report)
    if not text:
        return []
    version = len(report.versions)
    label = f"{report.period.title}, v{version}" if version > 1 else report.period.title
    return claims.check_reported_text(report.project.proposal, source_key=source_key(report),
                                      label=label, text=text, by=by)


@jobs.task("monitoring.check_report", _l("Checking the report for double claims"),
           permanent=(claims.ClaimError,), queue=jobs.DEDUP_QUEUE)
def _check_report_job(job: jobs.Job, report_id: int) -> dict[str, Any]:
    report = db.session.get(Report, report_id)
    if report is None:  # the project was removed meanwhile
        return {"claims": 0}
    found = check_report(report, by=db.session.get(User, job.created_by_id))
    db.session.commit()
    return {"claims": len(found), "open": sum(1 for c in found if c.status == "open")}


@reports.machine.effect("submit")
def _check_after_submission(report: Report, by: Any, context: dict[str, Any]) -> None:
    jobs.enqueue("monitoring.check_report", by=by, report_id=report.id)
