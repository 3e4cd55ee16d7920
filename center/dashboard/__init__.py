"""Each role's start page in a tenant, composed from the domain modules' services."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from center.dashboard import views  # noqa: E402,F401  (routes attach to bp)
