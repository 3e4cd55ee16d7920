"""The tenant's home page for visitors and the dashboard for members."""

from __future__ import annotations

from flask import g, render_template
from flask_login import current_user

from center.dashboard import bp
from center.proposals import services as proposals
from center.tenants.models import Role
from center.tenants.permissions import current_memberships, current_roles, public, roles


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

