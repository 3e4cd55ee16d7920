"""Platform endpoints: the health check, the development outbox and job progress."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template
from sqlalchemy import select, text

from center.core.db import db
from center.core.jobs import Job
from center.core.notifications import OutboxMessage
from center.core.pagination import paginate
from center.tenants.models import Role
from center.tenants.permissions import platform_admin, public, roles

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public
def healthz():
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        current_app.logger.error("health check failed: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/platform/outbox")
@platform_admin
def outbox():
    if not current_app.config["OUTBOX_VISIBLE"]:
        abort(404)
    messages = paginate(select(OutboxMessage).order_by(OutboxMessage.id.desc()), per_page=30)
    return render_template("core/outbox.html", page=messages)


@bp.route("/<tenant>/jobs/<int:job_id>")
@roles(Role.officer, Role.admin)
def job_status(job_id: int):
    """Report a job's progress as JSON, for the progress bar that polls it."""
    job = db.get_or_404(Job, job_id)
    return jsonify(id=job.id, status=job.status, done=job.done, total=job.total,
                   percent=job.percent, message=job.message, error=job.error,
                   result=job.result, finished=job.finished)


@bp.route("/<tenant>/jobs/<int:job_id>/progress")
@roles(Role.officer, Role.admin)
def job_page(job_id: int):
    """Show a job's progress bar, refreshed by static/js/jobs.js."""
    job = db.get_or_404(Job, job_id)
    return render_template("core/job.html", job=job)
