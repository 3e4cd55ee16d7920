"""Screening: eligibility, sanctions and export control, effort, host-government concurrence."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

#: ``cli_group=None``: the blueprint's commands are top-level (``flask concurrence-deadlines``).
bp = Blueprint("screening", __name__, cli_group=None)

NAV = [
    ("screening.index", _l("Screening"), (Role.officer, Role.admin)),
    ("screening.concurrence_index", _l("Concurrence"), (Role.concurrence,)),
]
#: The screening summary (officers) and concurrence progress (everyone) on a proposal's page.
PROPOSAL_PANELS = ["screening/_proposal_panel.html"]
DASHBOARD_PANELS = {
    Role.officer: ["screening/_dashboard_officer.html"],
    Role.admin: ["screening/_dashboard_admin.html"],
}

from center.screening import cli, source_views, views  # noqa: E402,F401  (routes, commands)
