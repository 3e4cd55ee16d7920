"""Absolute links into the portal, for e-mails, PDFs and anything read outside a request.

Every absolute link is built here from ``PUBLIC_URL``, never from the request's ``Host``
header: a link built from the request would let anyone who can forge that header have the
portal mail a genuine reset or invitation link that points at their own host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute address of ``endpoint`` on the configured ``PUBLIC_URL``.

    Works inside and outside a request (batch jobs and the CLI have none).
    """
    # The same defaults url_for applies (the tenant of the current request, if any).
    current_app.inject_url_defaults(endpoint, values)
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(public.netloc, script_name=public.path or "/",
                                       url_scheme=public.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def public_host() -> str:
    """Return the host name (without port) of ``PUBLIC_URL``."""
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or ""
