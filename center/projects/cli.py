"""Project commands: ``flask --app wsgi projects <command>``."""

from __future__ import annotations

import click
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.projects import bp, services
from center.tenants.models import Tenant


@bp.cli.command("remind")
def remind() -> None:
    """Remind teams of reports coming due and announce overdue ones (run it daily; running
    it twice sends nothing twice)."""
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with tenant_scope(tenant_id):
            tenant = db.session.get(Tenant, tenant_id)
            run = services.send_reminders(tenant)
            db.session.commit()
            click.echo(f"{tenant.slug}: {run.reminders} reminders, "
                       f"{run.overdue_notices} overdue notices")
