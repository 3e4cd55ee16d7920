"""Refreshing the sanctions list from where its publisher publishes it, on a schedule.

A center names the addresses of its list's files (the UN's XML; OFAC's sdn.csv, alt.csv and
add.csv; the EU's CSV; OpenSanctions' CSV) and the deployment names the hosts it may fetch
from (``SANCTIONS_SOURCE_HOSTS``): without that setting nothing is fetched, and no address
outside those hosts is ever requested, redirects included, so the setting cannot be turned
into a way into the deployment's own network. The scheduler queues `refresh` for every
center daily; a center with no source is left alone. A file unchanged since the version in
force (the same sha256) makes no new version; a changed one is imported like an upload (a
new version, every pending and active proposal screened again) and the outcome is kept for
the sanctions page.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.jobs import N_, Job, enqueue, task
from center.proposals.models import Proposal
from center.screening import services
from center.screening.published_lists import ListFile
from center.tenants.models import Tenant

#: Files one source may name (OFAC publishes three).
MAX_URLS = 4


class SourceError(Exception):
    """A source cannot be saved or fetched (the message says why)."""


def allowed_hosts() -> set[str]:
    """The hosts (``host`` or ``host:port``) this deployment may fetch lists from."""
    raw = current_app.config.get("SANCTIONS_SOURCE_HOSTS") or ""
    return {h.strip().lower() for h in raw.split(",") if h.strip()}


def _host(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc.rsplit("@", 1)[-1]).lower()


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be fetched here, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return _("Give a whole address beginning with https://.")
    if parts.username or parts.password:
        return _("An address with a user name or password is not fetched.")
    hosts = allowed_hosts()
    if _host(url) not in hosts and (parts.hostname or "").lower() not in hosts:
        return _("This deployment does not fetch from %(host)s (SANCTIONS_SOURCE_HOSTS).",
                 host=parts.hostname)
    return None


def source(tenant: Tenant) -> dict[str, Any] | None:
    return tenant.setting("sanctions_source") or None


def save_source(tenant: Tenant, *, urls: list[str], label: str, by: User) -> None:
    """Set (or, with no address, remove) where the center's list is fetched from."""
    urls = [u.strip() for u in urls if u.strip()]
    if len(urls) > MAX_URLS:
        raise SourceError(_("At most %(n)d addresses.", n=MAX_URLS))
    for url in urls:
        problem = url_problem(url)
        if problem:
            raise SourceError(f"{url}: {problem}")
    value = {"urls": urls, "label": label.strip()} if urls else None
    tenant.settings = {**(tenant.settings or {}), "sanctions_source": value}
    audit.record("sanctions.source_saved" if value else "sanctions.source_removed", tenant,
                 actor=by, tenant_id=tenant.id, urls=urls, label=label.strip())
    db.session.flush()


class _SameHostsOnly(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a host the deployment allows."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        problem = url_problem(newurl)
        if problem:
            raise SourceError(f"{newurl}: {problem}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str) -> ListFile:
    """Download one file of the list (at most the import's size limit)."""
    problem = url_problem(url)
    if problem:
        raise SourceError(problem)
    opener = urllib.request.build_opener(_SameHostsOnly())
    request = urllib.request.Request(  # noqa: S310 (the scheme and host are checked above)
        url, headers={"User-Agent": "Center sanctions refresh"})
    timeout = current_app.config["SANCTIONS_FETCH_TIMEOUT_SECONDS"]
    try:
        with opener.open(request, timeout=timeout) as response:  # noqa: S310 (checked above)
            data = response.read(services.MAX_LIST_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SourceError(_("%(url)s answered %(code)d.", url=url, code=exc.code)) from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(_("%(url)s could not be reached: %(reason)s", url=url,
                            reason=getattr(exc, "reason", exc))) from None
    if len(data) > services.MAX_LIST_BYTES:
        raise SourceError(_("%(url)s is larger than %(mb)d MB.", url=url,
                            mb=services.MAX_LIST_BYTES // 1048576))
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "list"
    return ListFile(name, data)


def _remember(tenant: Tenant, outcome: str, message: str, **extra: Any) -> dict[str, Any]:
    last = {"at": clock.now().isoformat(timespec="seconds"), "outcome": outcome,
            "message": message, **extra}
    tenant.settings = {**(tenant.settings or {}), "sanctions_source_last": last}
    return last


def start_refresh(*, by: User | None) -> Job:
    """Queue a refresh of the center in scope's list from its source."""
    return enqueue("screening.refresh_sanctions", by=by)


@task("screening.refresh_sanctions", _l("Fetching the sanctions list"), retries=0)
def refresh(job: Job) -> dict[str, Any]:
    """Fetch the center's list; import it as a new version if it changed, and re-screen."""
    tenant = db.session.get(Tenant, job.tenant_id)
    configured = source(tenant)
    if not configured:
        return {"outcome": "no source"}
    job.advance(0, total=len(configured["urls"]) + 1, message=N_("fetching the list"))
    try:
        files = []
        for n, url in enumerate(configured["urls"], start=1):
            files.append(fetch(url))
            job.advance(n)
        digest = hashlib.sha256(b"".join(f.data for f in files)).hexdigest()
        current = services.active_list()
        if current is not None and current.sha256 == digest:
            last = _remember(tenant, "unchanged", "", list_number=current.number)
            db.session.commit()
            return last
        label = configured.get("label") or _("Published list")
        new = services.import_sanctions_list(
            files=files, label=f"{label}, {clock.now():%Y-%m-%d}", by=None,
            skip_bad_rows=True)
    except (SourceError, services.ImportRejected) as exc:
        db.session.rollback()
        tenant = db.session.get(Tenant, job.tenant_id)
        last = _remember(tenant, "failed", str(exc))
        audit.record("sanctions.refresh_failed", tenant, actor=None, tenant_id=tenant.id,
                     error=str(exc))
        db.session.commit()
        return last
    waiting = db.session.scalar(select(Proposal.id).where(
        Proposal.status.in_(services.RESCREEN_STATES)).limit(1))
    rescreen = services.start_rescreen(new, by=None) if waiting else None
    last = _remember(tenant, "imported", "", list_number=new.number, entries=new.entry_count,
                     skipped_rows=new.skipped_rows,
                     rescreen_job=rescreen.id if rescreen is not None else None)
    db.session.commit()
    return last
