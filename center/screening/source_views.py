"""The sanctions page's source panel: where the list is fetched from, and "fetch now"."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from center.core.db import db
from center.core.forms import Form
from center.extensions import limit
from center.screening import bp, list_sources
from center.screening.forms import ListSourceForm
from center.tenants.models import Role
from center.tenants.permissions import roles

MANAGERS = (Role.officer, Role.admin)


def source_panel(form: ListSourceForm | None = None) -> dict[str, Any]:
    """What the sanctions page shows of the source: its form, the last fetch, whether the
    deployment fetches at all."""
    configured = list_sources.source(g.tenant) or {}
    if form is None:
        form = ListSourceForm(formdata=None, data={
            "urls": "\n".join(configured.get("urls", [])),
            "source_label": configured.get("label", "")})
    return {"source_form": form, "source": configured,
            "source_last": g.tenant.setting("sanctions_source_last"),
            "fetching_allowed": bool(list_sources.allowed_hosts()),
            "refresh_form": Form(formdata=None)}


@bp.route("/<tenant>/screening/sanctions/source", methods=["POST"])
@roles(*MANAGERS)
def save_list_source():
    """Save the addresses the list is fetched from (each checked against the deployment's
    hosts); the sanctions page shows them again with the error if one is refused."""
    from center.screening.views import sanctions_page  # noqa: PLC0415 - views imports this

    form = ListSourceForm()
    if form.validate_on_submit():
        try:
            list_sources.save_source(g.tenant, urls=form.url_list,
                                     label=form.source_label.data or "", by=current_user)
        except list_sources.SourceError as exc:
            db.session.rollback()
            form.urls.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The list's source is saved: it is fetched every day.") if form.url_list
                  else _("The list is no longer fetched."), "success")
            return redirect(url_for("screening.sanctions") + "#source-heading")
    return sanctions_page(source_form=form, status=422)


@bp.route("/<tenant>/screening/sanctions/source/fetch", methods=["POST"])
@limit("LIMIT_JOBS", methods=["POST"])
@roles(*MANAGERS)
def fetch_list_now():
    """Fetch the list from its source now, in a background job the page follows."""
    if not Form().validate_on_submit():
        abort(400)
    if not list_sources.source(g.tenant):
        flash(_("Save the addresses of the list's files first."), "error")
        return redirect(url_for("screening.sanctions") + "#source-heading")
    job = list_sources.start_refresh(by=current_user)
    db.session.commit()
    return redirect(url_for("core.job_page", job_id=job.id))
