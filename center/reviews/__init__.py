"""Donor review: assignment, conflicts of interest, scores, panel ranking, multi-donor funding."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("reviews", __name__)

#: (endpoint, label, roles or None for every visitor), collected by create_app.
NAV = [
    ("reviews.mine", _l("My reviews"), (Role.reviewer,)),
    ("reviews.calls", _l("Reviews"), (Role.officer, Role.admin)),
    ("reviews.funding_index", _l("Funding"), (Role.reviewer, Role.officer, Role.admin)),
]
#: The review's outcome (applicants) or its reviews and funding (officers) on a proposal.
PROPOSAL_PANELS = ["reviews/_proposal_panel.html"]
#: Where each call's review stands, on the officer's dashboard.
DASHBOARD_PANELS = {Role.officer: ["reviews/_dashboard_officer.html"]}

from center.reviews import cli, views  # noqa: E402,F401  (routes and commands attach to bp)
