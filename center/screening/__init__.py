"""Screening: eligibility, sanctions and export control, effort, host-government concurrence."""

from flask import Blueprint

bp = Blueprint("screening", __name__)
