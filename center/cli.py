"""Command-line tasks: ``flask --app wsgi <command>``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from center import demo
from center.auth import services as accounts
from center.core import audit, backup, jobs
from center.core import scheduler as schedule
from center.core.db import db, tenant_scope
from center.core.mail import deliver_pending
from center.dedup import evaluation, store
from center.dedup import services as dedup
from center.extensions import current_storage
from center.tenants import ror
from center.tenants import services as tenants_services
from center.tenants.forms import split_codes
from center.tenants.models import Tenant


def register_cli(app: Flask) -> None:
    for command in (seed_demo, create_admin, deliver_mail, worker, scheduler, dedup_eval,
                    dedup_fit, dedup_reindex, import_projects, import_ror, export_tenant,
                    import_tenant):
        app.cli.add_command(command)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has a tenant.")
def seed_demo(if_empty: bool) -> None:
    """Create two demo centers with members of every role, calls and proposals."""
    if current_app.config["CENTER_ENV"] == "production":
        raise click.ClickException("seed-demo does not run in production: its accounts share "
                                   "one published password.")
    if if_empty and db.session.scalar(select(Tenant.id).limit(1)) is not None:
        click.echo("The database already holds a center; demo data not added.")
        logins = demo.logins()
    else:
        # The duplicate checks queued by each submission run before the command exits.
        current_app.config["JOBS_EAGER"] = True
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
    sent = deliver_pending()
    click.echo(ngettext("%(num)d message sent.", "%(num)d messages sent.", sent))


def _redis_url(what: str) -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(f"REDIS_URL is not set; {what}.")
    return url


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: host and process id).")
@click.option("--queue", "queues", multiple=True, default=[jobs.QUEUE_NAME], show_default=True,
              help=f"Queue to take jobs from (repeatable); '{jobs.DEDUP_QUEUE}' runs the "
                   "duplicate checks and keeps their vector index.")
def worker(burst: bool, name: str | None, queues: tuple[str, ...]) -> None:
    """Run background jobs and mail delivery from the Redis queue (needs REDIS_URL).

    Start as many as the machine holds; each runs one job at a time, in this process
    (RQ's SimpleWorker: no fork, so the database pool is never shared across processes).
    A worker killed mid-job loses nothing: the scheduler's sweeper gives the job to another.
    Duplicate checks go to their own queue: run one worker with ``--queue dedup``.
    """
    url = _redis_url("jobs run inside the web process")
    SimpleWorker(list(queues), connection=Redis.from_url(url), name=name).work(
        burst=burst, logging_level=current_app.config["LOG_LEVEL"])


@click.command("scheduler")
@click.option("--wait/--no-wait", default=True,
              help="When another scheduler runs: wait to take over (default) or exit (1).")
@click.option("--once", is_flag=True,
              help="Queue every periodic job once, now, and exit (needs the lock too).")
def scheduler(wait: bool, once: bool) -> None:
    """Queue periodic work (mail, sweeper, reminders, deadlines) for the workers.

    One scheduler runs at a time: it holds a lock in Redis. Starting a second one is safe:
    it waits until the first is gone (or, with --no-wait, exits and says so).
    """
    url = _redis_url("there is no queue to schedule on")
    runner = schedule.CenterScheduler(current_app._get_current_object(), Redis.from_url(url))
    if not runner.acquire():
        holder = runner.holder() or "unknown"
        if not wait:
            raise click.ClickException(
                f"Another scheduler is running ({holder}); this one exits.")
        click.echo(f"Another scheduler is running ({holder}); waiting to take over.", err=True)
        runner.acquire(wait=True)
    try:
        if once:
            names = runner.run_all_now()
            click.echo("Queued once: " + ", ".join(names))
            return
        click.echo(f"Scheduler {runner.name} started: "
                   + ", ".join(job.name for job in runner.get_jobs()), err=True)
        runner.start()
    finally:
        runner.release()



@click.command("dedup-eval")
@click.argument("directories", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep and reuse the sets' fingerprints in this directory.")
def dedup_eval(directories: tuple[Path, ...], cache: Path | None) -> None:
    """Measure the duplicate detector on labelled sets (documents.jsonl + pairs.csv).

    Uses the production pipeline and settings; prints precision, recall and F1 of the
    calibrated decision, the best-F1 threshold on the score alone and the time to check
    one document.
    """
    settings = dedup.detector_settings()
    sets = evaluation.dataset_dirs(list(directories))
    if not sets:
        raise click.ClickException("No documents.jsonl found in the given directories.")
    reports = []
    for directory in sets:
        reports.append(evaluation.evaluate(directory, settings, cache=cache))
        click.echo(f"{directory.name}: done", err=True)
    click.echo(evaluation.format_report(reports))


@click.command("dedup-fit")
@click.argument("directories", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep and reuse the sets' fingerprints in this directory.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the decision (default: the one shipped with the code).")
def dedup_fit(directories: tuple[Path, ...], cache: Path | None, out: Path | None) -> None:
    """Fit the calibrated duplicate decision on labelled sets and write it to
    center/dedup/data/decision.json, printing its figures on unseen halves."""
    from center.dedup import fitting  # scipy, only for this command

    sets = evaluation.dataset_dirs(list(directories))
    if not sets:
        raise click.ClickException("No documents.jsonl found in the given directories.")
    _model, text = fitting.run(
        sets, dedup.detector_settings(), cache=cache, out=out or fitting.DECISION_FILE,
        command="flask --app wsgi dedup-fit " + " ".join(str(d) for d in directories),
        progress=lambda line: click.echo(line, err=True))
    click.echo(text)


def _tenant(slug: str) -> Tenant:
    """The center a command's ``--tenant`` names, or the command stops with an error."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"No center has the address name {slug!r}.")
    return tenant


@click.command("dedup-reindex")
@click.option("--tenant", "slug", required=True, help="Address name of the center.")
def dedup_reindex(slug: str) -> None:
    """Write a center's LSH bands and n-gram counts again from its stored fingerprints."""
    tenant = _tenant(slug)
    with tenant_scope(tenant.id):
        count = store.reindex(db.session, tenant.id, dedup.detector_settings())
        audit.record("dedup.reindexed", None, actor=None, tenant_id=tenant.id,
                     fingerprints=count)
        db.session.commit()
    click.echo(f"Center {slug}: bands and n-gram counts written again for {count} "
               "stored fingerprints.")


@click.command("import-projects")
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
@click.option("--tenant", "slug", required=True, help="Address name of the center.")
def import_projects(csv_file, slug: str) -> None:  # noqa: ANN001
    """Import funded projects from CSV and check proposals against them (columns: README)."""
    tenant = _tenant(slug)
    with tenant_scope(tenant.id):
        result = dedup.import_projects(csv_file.read(), by=None)
        db.session.commit()
    for error in result.errors:
        click.echo(error, err=True)
    click.echo(ngettext("%(num)d project added", "%(num)d projects added", result.created)
               + _(", %(n)d updated", n=result.updated)
               + ngettext(", %(num)d overlap with proposals recorded.",
                          ", %(num)d overlaps with proposals recorded.", result.matches))
    if result.errors and not (result.created or result.updated):
        raise SystemExit(1)


@click.command("import-ror")
@click.argument("dump", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="Address name of the center.")
@click.option("--countries", default=None,
              help="ISO codes separated by spaces (default: the center's partner countries; "
                   "'all' for every country).")
def import_ror(dump: Path, slug: str, countries: str | None) -> None:
    """Import institutes from a ROR data dump (the zip, or its .json)."""
    tenant = _tenant(slug)
    with tenant_scope(tenant.id):
        if countries is None:
            wanted = {c.code for c in tenants_services.partner_countries()}
        else:
            wanted = set() if countries.strip().lower() == "all" else set(
                split_codes(countries))
        try:
            records = ror.read_dump(dump.read_bytes())
        except ror.DumpError as exc:
            raise click.ClickException(str(exc)) from exc
        result = ror.import_records(records, countries=wanted, by=None)
        db.session.commit()
    for problem in result.problems:
        click.echo(problem, err=True)
    click.echo(_("%(created)d added, %(linked)d given their ROR id, %(completed)d completed, "
                 "%(unchanged)d unchanged, %(skipped)d skipped.", created=result.created,
                 linked=result.linked, completed=result.completed,
                 unchanged=result.unchanged, skipped=result.skipped))


@click.command("export-tenant")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_tenant(slug: str, file: Path) -> None:
    """Back one center up to FILE: its rows as JSON lines and its stored files (a zip)."""
    if file.exists():
        raise click.ClickException(f"{file} exists; give a new file name.")
    try:
        summary = backup.export_tenant(slug, file, storage=current_storage())
    except backup.BackupError as error:
        db.session.rollback()
        file.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from None
    db.session.commit()  # the audit event of the export
    click.echo(f"Center {slug}: {sum(summary.rows.values())} rows in {len(summary.rows)} "
               f"tables and {summary.files} files written to {file}.")


@click.command("import-tenant")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_tenant(file: Path) -> None:
    """Restore a center from a backup written by export-tenant (the slug must be free)."""
    try:
        summary = backup.import_tenant(file, storage=current_storage())
    except (backup.BackupError, zipfile.BadZipFile) as error:
        db.session.rollback()
        raise click.ClickException(f"{error}; nothing imported.") from None
    except IntegrityError as error:
        db.session.rollback()
        raise click.ClickException(
            f"the backup collides with data already here ({error.orig}); nothing imported. "
            "Is this center restored already under another slug?") from None
    db.session.commit()
    click.echo(f"Center {summary.tenant_slug} restored as tenant {summary.tenant_id}: "
               f"{sum(summary.rows.values())} rows, {summary.files} files, "
               f"{summary.users_matched} existing accounts matched by e-mail.")
    if summary.remapped:
        click.echo("New ids were given in: " + ", ".join(summary.remapped))
