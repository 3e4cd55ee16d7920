"""Review commands: ``flask --app wsgi reviews <command>``."""

from __future__ import annotations

import click
from sqlalchemy import select

from center.core.db import db, tenant_scope
from center.reviews import bp, services
from center.tenants.models import Tenant


@bp.cli.command("remind")
def remind() -> None:
    """E-mail reviewers the reminders their open reviews are due for (run it daily; running
    it twice sends nothing twice)."""
    total = 0
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with tenant_scope(tenant_id):
            total += services.send_reminders()
            db.session.commit()
    click.echo(f"Reminders sent: {total}.")
