"""What every endpoint of the API shares: amounts, pages, the page forms as validators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import Select
from werkzeug.datastructures import MultiDict

from center.core.db import db
from center.core.money import to_decimal


def money(minor: int | None, currency: str | None = None) -> dict[str, Any]:
    """An amount in minor units as the API states it: a decimal in units, and the currency."""
    currency = currency or g.tenant.currency
    return {"amount": to_decimal(minor or 0, currency), "currency": currency}


def _page(items: Sequence[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    return {"items": list(items), "page": page, "per_page": per_page, "total": total,
            "pages": max(1, -(-total // per_page))}


def page_of_query(query: Select[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``query``'s rows (``?page=``, ``?per_page=``) and the page's figures."""
    found = db.paginate(query, page=args["page"], per_page=args["per_page"],
                        max_per_page=args["per_page"], error_out=False)
    return list(found.items), _page([], args["page"], args["per_page"], found.total or 0)


def page_of_list(rows: Sequence[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """One page of a list already loaded (a list the permissions filter row by row)."""
    start = (args["page"] - 1) * args["per_page"]
    return (list(rows[start:start + args["per_page"]]),
            _page([], args["page"], args["per_page"], len(rows)))


def with_items(page: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    return {**page, "items": items}


def refuse(status: int, message: str, **extra: Any) -> None:
    """Answer ``status`` with ``message`` (JSON, in the caller's language)."""
    abort(status, message=str(message), **extra)


def form_input(data: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments that fill one of the page's forms from JSON ``data``, without CSRF
    (a token, not a cookie, authenticates the request)."""
    return {"formdata": MultiDict({k: "" if v is None else str(v) for k, v in data.items()}),
            "meta": {"csrf": False}}


def check(form: Any) -> Any:
    """Validate one of the page's forms filled by `form_input`: the API applies exactly the
    page's rules (lengths, the call's maximum duration, a rubric's scale). Invalid: 422 with
    the form's messages by field, and nothing changed."""
    if not form.validate():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        refuse(422, _("Check the fields named in errors."), errors={"json": errors})
    return form
