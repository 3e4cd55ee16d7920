"""``flask --app wsgi concurrence-deadlines``: reminders and silence-as-consent, for cron."""

from __future__ import annotations

import click
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.core.jobs import enqueue
from center.proposals import workflow
from center.screening import bp, services
from center.tenants.models import Tenant


@bp.cli.command("concurrence-deadlines")
@click.option("--queue", "use_queue", is_flag=True,
              help="Queue one background job per center instead of working here.")
def concurrence_deadlines(use_queue: bool) -> None:
    """Send due concurrence reminders and apply silence-as-consent after deadlines.

    Run it daily (cron). Each center is handled in its own transaction; a center where
    someone acted at the same moment is reported and picked up by the next run.
    """
    tenants = db.session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.id)).all()
    for tenant_id, slug in tenants:
        with tenant_scope(tenant_id):
            if use_queue:
                job = enqueue("screening.concurrence_deadlines", by=None)
                db.session.commit()
                click.echo(f"{slug}: job {job.id} queued")
                continue
            try:
                run = services.apply_deadlines()
                db.session.commit()
            except (services.StaleAction, workflow.TransitionError) as exc:
                db.session.rollback()
                click.echo(f"{slug}: skipped, {exc}", err=True)
                continue
        figures = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in run.as_dict().items())
        click.echo(f"{slug}: {figures}")
