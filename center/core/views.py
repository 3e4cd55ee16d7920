"""Platform endpoints: health, readiness and metrics, the development outbox, job progress."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, render_template
from sqlalchemy import func, select, text

from center.core import health, metrics
from center.core.db import db
from center.core.jobs import Job
from center.core.notifications import MailStatus, OutboxMessage
from center.core.pagination import paginate
from center.tenants.models import Role
from center.tenants.permissions import platform_admin, public, roles

bp = Blueprint("core", __name__)
# Every request of the app is counted and timed for /metrics.
bp.before_app_request(metrics.start_timer)
bp.after_app_request(metrics.count_response)


@bp.route("/healthz")
@public
def healthz():
    """Alive: answer 200 when this process serves requests and its database answers, 503
    otherwise (a container whose database is gone is restarted)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        current_app.logger.error("health check failed: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/readyz")
@public
def readyz():
    """Ready for traffic: 200 when the database, Redis and the file storage all answer;
    503 naming each one that does not."""
    ready, states = health.readiness(current_app._get_current_object())
    return jsonify(status="ok" if ready else "unavailable", **states), 200 if ready else 503


@bp.route("/metrics", endpoint="metrics")
@public
def metrics_page():
    """The Prometheus figures; only with METRICS_TOKEN's bearer token, or from loopback
    when no token is set (center/core/metrics.py). Anyone else gets 404."""
    if not metrics.may_read_metrics():
        abort(404)
    return Response(metrics.render(current_app._get_current_object()),
                    content_type=metrics.CONTENT_TYPE)


@bp.route("/platform/outbox")
@platform_admin
def outbox():
    """Every message with its body in development (OUTBOX_VISIBLE); otherwise only the ones
    that could not be delivered, without their bodies (which may hold sign-in links)."""
    full = current_app.config["OUTBOX_VISIBLE"]
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if not full:
        query = query.where(OutboxMessage.status == MailStatus.failed)
    failed = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == MailStatus.failed))
    return render_template("core/outbox.html", page=paginate(query, per_page=30), full=full,
                           failed=failed)


@bp.route("/<tenant>/jobs/<int:job_id>")
@roles(Role.officer, Role.admin)
def job_status(job_id: int):
    """Report a job's progress as JSON, for the progress bar that polls it."""
    job = db.get_or_404(Job, job_id)
    return jsonify(id=job.id, status=job.status, done=job.done, total=job.total,
                   percent=job.percent, message=job.message_label, error=job.error,
                   result=job.result, finished=job.finished, attempts=job.attempts,
                   max_attempts=job.max_attempts)


@bp.route("/<tenant>/jobs/<int:job_id>/progress")
@roles(Role.officer, Role.admin)
def job_page(job_id: int):
    """Show a job's progress bar, refreshed by static/js/jobs.js."""
    job = db.get_or_404(Job, job_id)
    return render_template("core/job.html", job=job)
