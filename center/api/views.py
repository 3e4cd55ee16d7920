"""Pages around the API: each person's tokens, the OpenAPI document, the interactive page."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from center.api import tokens
from center.api.auth import URL_PREFIX
from center.api.forms import RevokeForm, TokenForm
from center.api.models import ApiToken
from center.core.db import db
from center.core.json_api import API_BLUEPRINTS, api_of
from center.core.links import external_url
from center.tenants.models import Role
from center.tenants.permissions import public, roles

bp = Blueprint("api", __name__)

#: Swagger UI's files, as the flask-swagger-ui package ships them (no CDN).
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
#: The interactive page runs Swagger UI, which sets styles inline.
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
               "base-uri 'self'; form-action 'self'")


# --- personal tokens ------------------------------------------------------------------------

def _tokens_page(form: TokenForm, *, secret: str | None = None, issued: ApiToken | None = None,
                 status: int = 200) -> tuple[str, int]:
    return render_template(
        "api/tokens.html", form=form, tokens=tokens.live_tokens(current_user),
        revoke_form=RevokeForm(formdata=None), secret=secret, issued=issued,
        docs_url=url_for("api.docs"), base_url=external_url("api.docs").rsplit("/", 1)[0],
        max_live=tokens.MAX_LIVE), status


@bp.route("/<tenant>/account/tokens", methods=["GET", "POST"])
@roles(*Role)
def tokens_page():
    """The person's API tokens in this center: issue one (its secret shown once), revoke."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, secret = tokens.issue(current_user, g.tenant, name=form.name.data,
                                         scope=form.scope.data, days=form.days)
        except tokens.TokenError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            return _tokens_page(form, status=422)
        db.session.commit()
        # The secret is shown on this answer only (never stored, never in a redirect).
        return _tokens_page(TokenForm(formdata=None), secret=secret, issued=token, status=201)
    return _tokens_page(form, status=422 if form.errors else 200)


@bp.route("/<tenant>/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles(*Role)
def revoke_token(token_id: int):
    """Revoke one of the person's own tokens; anyone else's is 404."""
    token = db.get_or_404(ApiToken, token_id)
    if token.user_id != current_user.id:
        abort(404)
    if not RevokeForm().validate_on_submit():
        abort(400)
    tokens.revoke(token, by=current_user)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked: programs using it are refused from now on.",
            name=token.name), "success")
    return redirect(url_for("api.tokens_page"))


# --- the OpenAPI document -----------------------------------------------------------------

def _document() -> dict[str, Any]:
    """The API's OpenAPI document with paths relative to a center's API (built once)."""
    ext = current_app.extensions
    if "center.openapi" not in ext:
        spec = copy.deepcopy(api_of().spec.to_dict())
        prefix = URL_PREFIX.replace("<tenant>", "{tenant}")
        paths = {}
        for path, item in spec.get("paths", {}).items():
            item = {key: _without_tenant(value) for key, value in item.items()}
            paths[path.removeprefix(prefix) or "/"] = item
        spec["paths"] = _titled(paths, spec)
        spec["security"] = [{"token": []}]
        ext["center.openapi"] = spec
    return copy.deepcopy(ext["center.openapi"])


def _titled(paths: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Name each part of the document (tag) by its blueprint's title, not its code name."""
    titles = {name: blp.title for name, blp in current_app.blueprints.items()
              if name in API_BLUEPRINTS}
    for tag in spec.get("tags", []):
        tag["name"] = titles.get(tag["name"], tag["name"])
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [titles.get(t, t) for t in operation["tags"]]
    return paths


def _without_tenant(value: Any) -> Any:
    """A path item's part without the ``tenant`` parameter, which the server URL holds."""
    if isinstance(value, list):  # the path item's parameters
        return [p for p in value if not (p.get("in") == "path" and p.get("name") == "tenant")]
    if isinstance(value, dict) and "parameters" in value:
        return {**value, "parameters": _without_tenant(value["parameters"])}
    return value


@bp.route("/openapi.json")
@public
def openapi():
    """The document for every center: its server URL names the center as a variable."""
    document = _document()
    base = external_url("api.openapi").removesuffix("/openapi.json")
    document["servers"] = [{"url": base + "/{center}/api/v1", "variables": {"center": {
        "default": "center", "description": "The center's short name in its addresses."}}}]
    return jsonify(document)


@bp.route("/<tenant>/api/v1/openapi.json")
@public
def center_openapi():
    """The document of this center's API, its server URL filled in."""
    document = _document()
    document["servers"] = [{"url": external_url("api.center_openapi").removesuffix(
        "/openapi.json"), "description": g.tenant.name}]
    return jsonify(document)


@bp.route("/<tenant>/api/v1/docs")
@public
def docs():
    """The interactive page: every endpoint, tried with one's own token."""
    response = current_app.make_response(render_template(
        "api/docs.html", spec_url=url_for("api.center_openapi")))
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@bp.route("/api/docs/assets/<path:filename>")
@public
def docs_asset(filename: str):
    """Swagger UI's scripts and styles."""
    if filename not in {"swagger-ui.css", "swagger-ui-bundle.js"}:
        abort(404)
    return send_from_directory(SWAGGER_UI, filename, max_age=86400)
