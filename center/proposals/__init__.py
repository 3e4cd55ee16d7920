"""Proposals: the applicant's editor, submission and the proposal state machine."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from center.tenants.models import Role

bp = Blueprint("proposals", __name__)

NAV = [
    ("proposals.mine", _l("My proposals"), (Role.applicant,)),
    ("proposals.all", _l("Proposals"), (Role.officer, Role.admin)),
]

from center.proposals import views  # noqa: E402,F401  (routes attach to bp)
