"""Absolute links come from PUBLIC_URL, never from the request's Host header."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from center import create_app
from center.core.db import all_tenants, db
from center.core.notifications import OutboxMessage
from tests.world import World


def _mailed_links(app, recipient: str) -> list[str]:
    with app.app_context(), all_tenants():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == recipient).order_by(OutboxMessage.id.desc()))
    return re.findall(r"https?://\S+", body or "")


def test_a_forged_host_header_is_refused(client, world: World) -> None:
    response = client.post("/password/forgot", data={"email": world.a.emails["applicant"]},
                           headers={"Host": "attacker.example"})
    assert response.status_code == 400


def test_a_forged_forwarded_host_does_not_reach_the_reset_link(app, client, world) -> None:
    email = world.a.emails["applicant"]
    response = client.post("/password/forgot", data={"email": email},
                           headers={"X-Forwarded-Host": "attacker.example"})
    assert response.status_code == 302
    links = _mailed_links(app, email)
    assert links, "no reset link was mailed"
    assert all(link.startswith(app.config["PUBLIC_URL"] + "/password/reset/") for link in links)


def test_links_in_mail_use_public_url_even_when_the_host_is_trusted(tmp_root, world) -> None:
    app = create_app({"CENTER_ENV": "test", "DATABASE_URL": _suite_url(tmp_root),
                      "WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING",
                      "PUBLIC_URL": "https://portal.center.example/sub",
                      "TRUSTED_HOSTS": "alias.center.example"})
    email = world.a.emails["applicant"]
    response = app.test_client().post("/password/forgot", data={"email": email},
                                      headers={"Host": "alias.center.example"})
    assert response.status_code == 302
    links = _mailed_links(app, email)
    assert links and all(link.startswith("https://portal.center.example/sub/password/reset/")
                         for link in links)


def _suite_url(tmp_root) -> str:
    import os
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root / 'test.db'}"


@pytest.mark.parametrize("count, expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_proxy_headers_are_trusted_only_from_configured_proxies(tmp_root, count, expected):
    app = create_app({"CENTER_ENV": "test", "DATABASE_URL": _suite_url(tmp_root),
                      "LOG_LEVEL": "WARNING", "PROXY_COUNT": count})
    seen = {}

    @app.get("/_probe_remote_addr")
    def probe():  # noqa: ANN202
        from flask import request
        seen["addr"] = request.remote_addr
        return "ok"

    app.test_client().get("/_probe_remote_addr",
                          headers={"X-Forwarded-For": "203.0.113.9"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen["addr"] == expected
