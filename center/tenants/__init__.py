"""Tenants (science centers), memberships and roles, countries, institutes and donors."""

from flask import Blueprint

bp = Blueprint("tenants", __name__)

from center.tenants import views  # noqa: E402,F401  (routes attach to bp)
