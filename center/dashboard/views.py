"""The tenant's home page for visitors and the dashboard for members."""

from __future__ import annotations

from flask import g, render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from center.dashboard import bp, charts, figures
from center.proposals import services as proposals
from center.proposals.models import Proposal
from center.tenants.models import Role
from center.tenants.permissions import (
    current_memberships,
    current_roles,
    membership_for,
    public,
    roles,
)


@bp.route("/<tenant>/")
@public
def home():
    """Show the center: what it funds and how to apply."""
    return render_template("dashboard/home.html", is_member=bool(
        current_user.is_authenticated and current_memberships()))


@bp.route("/<tenant>/dashboard")
@roles(*Role)
def index():
    """Show what each of the member's roles has to do here."""
    held = current_roles()
    panels = [role for role in Role if role in held]
    mine = proposals.my_proposals(current_user) if Role.applicant in held else []
    return render_template("dashboard/index.html", panels=panels, tenant=g.tenant,
                           proposals=mine,
                           problems={p.id: proposals.checklist(p) for p in mine
                                     if p.is_editable})



# --- template helpers ---------------------------------------------------------------------

@bp.app_template_global()
def dashboard_figures(role: str) -> list[figures.Figure]:
    """The figures of one role's dashboard panel: the whole center for officers and
    administrators, one donor's for a reviewer who stands for a donor, none otherwise."""
    if role == Role.officer:
        return figures.officer_figures()
    if role == Role.admin:
        return figures.admin_figures()
    if role == Role.reviewer:
        membership = membership_for(Role.reviewer)
        if membership is not None and membership.donor_id is not None:
            return figures.donor_figures(membership.donor_id)
    return []


@bp.app_template_global()
def figure_svg(figure: figures.Figure) -> Markup:
    return charts.svg(figure, currency=g.tenant.currency, no_data=_("Nothing to count yet."))


@bp.app_template_global()
def figure_cell(figure: figures.Figure, value: float) -> str:
    return charts.cell(figure, value, g.tenant.currency)


@bp.app_template_global()
def proposal_progress(proposal: Proposal) -> list[figures.Step]:
    return figures.progress(proposal)
