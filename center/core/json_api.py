"""Which requests are the JSON API's, and how their errors are answered: known to the pages'
machinery (sessions, error pages) without importing the API package."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

#: The names of the API's blueprints (`center.api.auth.api_blueprint` adds each).
API_BLUEPRINTS: set[str] = set()


def is_api_request() -> bool:
    return request.blueprint in API_BLUEPRINTS


def api_of(app: Any = None) -> Any:
    """The app's flask-smorest Api (there is one)."""
    return (app or current_app).extensions["flask-smorest"]["apis"][""]["ext_obj"]


def error_response(error: HTTPException) -> Response:
    """An API error as JSON: code, status, message and, for invalid input, field errors."""
    return api_of().handle_http_exception(error)
