"""Changes during a project: change requests (redirection of funds, no-cost extension, change
of team or partner), their review by the officer and the funding donors, and the numbered
amendments to the agreement that approved requests produce."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("amendments", __name__)

NAV = [("amendments.index", _l("Change requests"), (Role.admin, Role.officer))]

from center.amendments import closeout, views  # noqa: E402,F401  (routes, close-out check)
