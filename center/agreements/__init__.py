"""Agreements: clause templates, PDF rendering, issuing, acknowledgements, visa letters."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("agreements", __name__)

NAV = [("agreements.index", _l("Agreements"), (Role.admin, Role.officer))]
PROPOSAL_PANELS = ["agreements/_proposal_panel.html"]
DASHBOARD_PANELS = {
    Role.admin: ["dashboard/_admin_agreements.html"],
    Role.signatory: ["dashboard/_party_agreements.html"],
    Role.reviewer: ["dashboard/_party_agreements.html"],
}

from center.agreements import views  # noqa: E402,F401  (routes attach to bp)
