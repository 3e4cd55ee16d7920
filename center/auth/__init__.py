"""Users, sign-in, registration and password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from center.auth import views  # noqa: E402,F401  (routes attach to bp)
