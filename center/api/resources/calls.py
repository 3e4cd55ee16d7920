"""Calls for proposals: what is open, when, for how much, from which donors."""

from __future__ import annotations

from typing import Any

from center.api.auth import api_blueprint, token_roles
from center.api.resources.common import money, page_of_query, with_items
from center.api.schemas import CallListArgs, CallSchema, paged
from center.calls import services
from center.calls.models import Call
from center.core import clock
from center.core.db import db
from center.core.links import external_url
from center.tenants.models import Role

blp = api_blueprint("api_calls", "Calls", "Calls for proposals.")


def present_call(call: Call) -> dict[str, Any]:
    return {
        "id": call.id, "title": call.title, "description": call.description,
        "state": call.state(clock.now()), "opens_at": call.opens_at, "closes_at": call.closes_at,
        "topics": list(call.topics or []),
        "eligible_countries": list(call.eligible_countries or []),
        "max_duration_months": call.max_duration_months,
        "budget_ceiling": money(call.budget_ceiling), "review_mode": call.review_mode,
        "donors": [{"donor_id": cd.donor_id, "donor": cd.donor.short_name,
                    "offered": money(cd.offered)} for cd in call.donors],
        "url": external_url("calls.detail", call_id=call.id),
    }


@blp.route("/calls", endpoint="list")
@token_roles(*Role)
@blp.arguments(CallListArgs, location="query", as_kwargs=True)
@blp.response(200, paged(CallSchema, "CallPage"))
def list_calls(**args: Any) -> dict[str, Any]:
    """The center's calls: open ones first by closing date, then the others."""
    rows, page = page_of_query(services.calls_for_listing(args.get("state"), args.get("q", "")),
                               args)
    return with_items(page, [present_call(c) for c in rows])


def load_call(call_id: int) -> Call:
    return db.get_or_404(Call, call_id)


@blp.route("/calls/<int:call_id>", endpoint="show")
@token_roles(*Role, loads=load_call)
@blp.response(200, CallSchema)
def show_call(call_id: int) -> dict[str, Any]:
    """One call."""
    return present_call(load_call(call_id))
