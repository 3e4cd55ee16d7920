"""Browse a tenant's calls; officers and administrators create and edit them."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from center.calls import bp, services
from center.calls.forms import CallForm
from center.calls.models import ATTACHMENT_KINDS, CALL_STATES, Call
from center.core import clock
from center.core.db import db
from center.core.pagination import paginate
from center.tenants import services as tenants
from center.tenants.models import Role
from center.tenants.permissions import has_role, public, roles

#: Who writes calls.
MANAGERS = (Role.officer, Role.admin)
PER_PAGE = 20


def get_call_or_404(call_id: int) -> Call:
    """Load a call of the current tenant (the lookup is tenant-scoped) or answer 404."""
    return db.get_or_404(Call, call_id)


def _call_form(call: Call | None = None) -> CallForm:
    return CallForm.build(g.tenant, donors=tenants.donors(),
                          countries=tenants.partner_countries(), call=call)


def _apply_url(call: Call) -> str | None:
    """Where to start a proposal to ``call`` while it is open, once proposals are served."""
    if not call.is_open(clock.now()):
        return None
    try:
        return url_for("proposals.start", call_id=call.id)
    except BuildError:
        return None


@bp.app_template_global()
def calls_open_now() -> list[Call]:
    """The current tenant's open calls, for its home page."""
    return services.open_calls(clock.now())


@bp.app_template_global()
def calls_latest() -> list[Call]:
    """The current tenant's most recent calls, for the officer's dashboard."""
    return services.latest_calls()




@bp.route("/<tenant>/calls/")
@public
def index():
    """List the tenant's calls, filtered by state and searched by title."""
    state = request.args.get("state", "")
    state = state if state in CALL_STATES else ""
    search = request.args.get("q", "").strip()
    page = paginate(services.calls_for_listing(state, search), per_page=PER_PAGE)
    return render_template("calls/index.html", page=page, state=state, search=search,
                           states=CALL_STATES, can_manage=has_role(*MANAGERS))


@bp.route("/<tenant>/calls/<int:call_id>")
@public
def detail(call_id: int):
    """Show a call: what it funds, who may apply, the donors' offers and the rubric."""
    call = get_call_or_404(call_id)
    return render_template("calls/detail.html", call=call, apply_url=_apply_url(call),
                           attachment_kinds=ATTACHMENT_KINDS, can_manage=has_role(*MANAGERS))


@bp.route("/<tenant>/calls/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def create():
    """Write a new call."""
    form = _call_form()
    if form.validate_on_submit():
        call = services.create_call(by=current_user, offers=form.offers(), **form.call_fields())
        db.session.commit()
        flash(_("Call “%(title)s” created.", title=call.title), "success")
        return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=None)


@bp.route("/<tenant>/calls/<int:call_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def edit(call_id: int):
    """Change a call; an edit made on an older version than the saved one is refused."""
    call = get_call_or_404(call_id)
    form = _call_form(call)
    if form.validate_on_submit():
        try:
            services.update_call(call, by=current_user, expected_version=form.loaded_version(),
                                 offers=form.offers(), **form.call_fields())
        except services.StaleEdit as conflict:
            form.show_current_version(conflict.current_version)
            return render_template("calls/form.html", form=form, call=call, conflict=True), 409
        db.session.commit()
        flash(_("Call “%(title)s” saved.", title=call.title), "success")
        return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=call)
