"""Monitoring of active projects: equipment registers, monitoring visits with follow-up
actions, and double claims found in reported results (`center.monitoring.claims`)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("monitoring", __name__)

NAV = [("monitoring.claim_list", _l("Double claims"), (Role.admin, Role.officer))]
DASHBOARD_PANELS = {Role.officer: ["dashboard/_officer_post_award.html"],
                    Role.admin: ["dashboard/_officer_post_award.html"]}

from center.monitoring import closeout, reporting, views  # noqa: E402,F401  (routes, checks)
