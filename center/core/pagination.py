"""One way to split a long list into pages, safe against whatever a visitor puts in the URL."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from center.core.db import db

#: Pages past this are not served (no list of ours is that long; an OFFSET of billions is a
#: probe, and would overflow the database's integer).
MAX_PAGE = 10_000


def current_page() -> int:
    """Return the ``?page=`` asked for, as a page number from 1 to `MAX_PAGE`."""
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


def paginate(query: Select[Any], *, per_page: int = 25) -> Pagination:
    """Return the current page of ``query``; ``?per_page=`` from the URL is ignored."""
    return db.paginate(query, page=current_page(), per_page=per_page, max_per_page=per_page,
                       error_out=False)
