"""The JSON API (`/<center>/api/v1/...`): personal tokens, an OpenAPI document, endpoints
for calls, proposals, reviews, the portfolio and agreements. See README, "JSON API"."""

from __future__ import annotations

from flask import Flask

from center.api.auth import register_api
from center.api.resources import BLUEPRINTS
from center.api.views import bp

__all__ = ["bp", "register"]


def register(app: Flask) -> None:
    """Register the API's endpoints (after the blueprints of the pages)."""
    register_api(app, BLUEPRINTS)
