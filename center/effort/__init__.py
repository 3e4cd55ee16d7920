"""Effort actually worked: time cards per team member, task and month, capped by the month's
working days across every active project of the center and accepted by the officer."""

from flask import Blueprint

bp = Blueprint("effort", __name__)

from center.effort import views  # noqa: E402,F401  (routes attach to bp)
