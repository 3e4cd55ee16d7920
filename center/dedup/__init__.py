"""Duplicate-effort detection: fingerprints, index, matching, the officer's comparison view."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("dedup", __name__)

NAV = [("dedup.matches", _l("Overlaps"), (Role.officer, Role.admin))]
PROPOSAL_PANELS = ["dedup/_proposal_panel.html"]

from center.dedup import views  # noqa: E402,F401  (routes attach to bp)
