"""Error pages, and keeping a user's input when their session or form expired."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from center.core.db import db
from center.core.forms import park_submitted_input
from center.core.json_api import error_response, is_api_request
from center.extensions import login_manager


def register_errorhandlers(app: Flask) -> None:
    """Render friendly pages for HTTP errors; park input on expiry; 409 on stale writes."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (301, 302, 303, 307, 308) or error.response is not None:
            return error.get_response() if error.response is None else error.response
        if is_api_request():
            return error_response(error)
        if request_ctx.url_adapter is None:
            # The request never reached routing (an untrusted Host header): no page links
            # can be built, and none should be, for that host.
            return error.get_response()
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if park_submitted_input():
            flash(_("This form had expired, so nothing was saved. What you typed is back in "
                    "the form: check it and send it again."), "warning")
        else:
            flash(_("This form had expired, so nothing was saved. Fill it in again."),
                  "warning")
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return redirect(request.path)

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError):
        db.session.rollback()
        return render_template("errors/conflict.html"), 409

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.method == "POST" and park_submitted_input():
            flash(_("Your session had expired. Sign in again: what you typed is kept."),
                  "warning")
        elif request.method == "POST":
            flash(_("Your session had expired. Sign in again."), "warning")
        else:
            flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("auth.login", next=request.path))
