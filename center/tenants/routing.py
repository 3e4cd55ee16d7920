"""Resolve the tenant once per request from the ``/<tenant>/...`` URL prefix."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g
from sqlalchemy import select

from center.core.db import db, set_tenant_scope
from center.tenants.models import Tenant


def register_tenant_routing(app: Flask) -> None:
    """Load ``g.tenant`` from the URL, scope queries to it, and fill it into ``url_for``."""

    @app.url_value_preprocessor
    def load_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.tenant = None
        set_tenant_scope(None)
        if not values or "tenant" not in values:
            return
        slug = values.pop("tenant")
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            abort(404)
        g.tenant = tenant
        set_tenant_scope(tenant.id)

    @app.url_defaults
    def add_tenant(endpoint: str, values: dict[str, Any]) -> None:
        if "tenant" in values or g.get("tenant") is None:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = g.tenant.slug
