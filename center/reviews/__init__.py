"""Donor review: assignment, conflicts of interest, scores, panel ranking, funding."""

from flask import Blueprint

bp = Blueprint("reviews", __name__)
