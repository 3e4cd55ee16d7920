"""Agreements: clause templates, PDF rendering, issuing, acknowledgements, visa letters."""

from flask import Blueprint

bp = Blueprint("agreements", __name__)
