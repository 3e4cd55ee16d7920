"""The exports page of a call and its downloads, in CSV and XLSX.

Officers and administrators read everything; a reviewer reads only as the funding delegate
of a donor that may fund the call (`center.exports.tables.Scope` narrows what they read).
"""

from __future__ import annotations

from flask import abort, g, render_template
from flask_login import current_user

from center.calls.models import Call
from center.core.db import db
from center.core.exports import csv_response, xlsx_response
from center.exports import bp
from center.exports.tables import Export, Scope, export_named, exports_for, filename
from center.reviews import funding
from center.reviews.permissions import can_fund_call
from center.tenants.models import Role
from center.tenants.permissions import has_role, roles

MANAGERS = (Role.officer, Role.admin)


def _scope(call_id: int) -> Scope:
    """The reader's scope of the call: 403 for a reviewer who is no donor's delegate, 404
    when their donor cannot fund the call."""
    call = db.get_or_404(Call, call_id)
    if has_role(*MANAGERS):
        return Scope(call, g.tenant)
    donor = funding.delegated_donor(current_user)
    if donor is None:
        abort(403)
    if not can_fund_call(donor, call):
        abort(404)
    return Scope(call, g.tenant, donor=donor, viewer=current_user)


def _export(scope: Scope, key: str) -> Export:
    export = export_named(scope, key)
    if export is None:
        abort(404)
    return export


@bp.route("/<tenant>/exports/calls/<int:call_id>")
@roles(Role.reviewer, *MANAGERS)
def call_exports(call_id: int):
    """The list of the call's exports the reader may download, each in CSV and XLSX."""
    scope = _scope(call_id)
    exports = exports_for(scope)
    return render_template("exports/call.html", call=scope.call, scope=scope,
                           exports=[(e, len(e.build(scope)[1])) for e in exports])


@bp.route("/<tenant>/exports/calls/<int:call_id>/<export>.csv")
@roles(Role.reviewer, *MANAGERS)
def call_csv(call_id: int, export: str):
    scope = _scope(call_id)
    chosen = _export(scope, export)
    return csv_response(filename(scope, chosen, "csv"), *chosen.build(scope))


@bp.route("/<tenant>/exports/calls/<int:call_id>/<export>.xlsx")
@roles(Role.reviewer, *MANAGERS)
def call_xlsx(call_id: int, export: str):
    scope = _scope(call_id)
    chosen = _export(scope, export)
    return xlsx_response(filename(scope, chosen, "xlsx"), *chosen.build(scope))
