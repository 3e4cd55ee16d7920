"""Funding calls: officers write them, anyone browses a tenant's calls."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("calls", __name__)

#: (endpoint, label, roles or None for every visitor), collected by create_app.
NAV = [("calls.index", _l("Calls"), None)]
#: The open calls on the tenant's public home page.
HOME_BLOCKS = ["calls/_home_block.html"]

from center.calls import views  # noqa: E402,F401  (routes attach to bp)
