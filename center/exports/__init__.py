"""A call's exports: its proposals, budgets, reviews, commitments, agreements and projects as
CSV and XLSX tables, for officers and (scoped to their donor) donors' funding delegates."""

from flask import Blueprint

bp = Blueprint("exports", __name__)

from center.exports import views  # noqa: E402,F401  (routes attach to bp)
