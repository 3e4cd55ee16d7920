"""Command-line tasks: ``flask --app wsgi <command>``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from center import demo
from center.auth import services as accounts
from center.core.db import db
from center.core.notifications import deliver_pending
from center.tenants.models import Tenant


def register_cli(app: Flask) -> None:
    for command in (seed_demo, create_admin, deliver_mail, worker):
        app.cli.add_command(command)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has a tenant.")
def seed_demo(if_empty: bool) -> None:
    """Create two demo centers with members of every role, calls and proposals."""
    if if_empty and db.session.scalar(select(Tenant.id).limit(1)) is not None:
        click.echo("The database already holds a center; demo data not added.")
        logins = demo.logins()
    else:
        logins = demo.seed()
        db.session.commit()
    click.echo("Demo centers are ready. Sign in at /login with any of these "
               f"(password: {demo.DEMO_PASSWORD}):")
    for email, what in logins:
        click.echo(f"  {email:<34} {what}")


@click.command("create-admin")
@click.argument("email")
@click.argument("name")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform administrator, who can create centers."""
    accounts.create_user(email, name, password, platform_admin=True)
    db.session.commit()
    click.echo(f"Platform administrator {email} created.")


@click.command("deliver-mail")
def deliver_mail() -> None:
    """Send queued e-mail over SMTP (needs MAIL_SERVER)."""
    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException("MAIL_SERVER is not set; mail stays in the outbox.")
    click.echo(f"{deliver_pending()} message(s) sent.")


@click.command("worker")
def worker() -> None:
    """Run background jobs from the Redis queue (needs REDIS_URL)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set; jobs run inside the web process.")
    SimpleWorker(["center"], connection=Redis.from_url(url)).work()

