"""The sanctions list fetched from its publisher on a schedule: from the deployment's hosts
only, a new version only when the files changed, every failure kept for the officer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from center.core.db import db, tenant_scope
from center.core.jobs import Job
from center.core.scheduler import periodic_jobs
from center.screening.models import SanctionsList
from center.tenants.models import Role, Tenant
from tests.world import World

DATA = Path(__file__).parent / "data"


class Publisher(BaseHTTPRequestHandler):
    """A list publisher on 127.0.0.1: ``files`` by path, and a redirect off the host."""

    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - the handler's name
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def publisher(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    Publisher.files = {"/un.xml": (DATA / "un-consolidated-excerpt.xml").read_bytes()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Publisher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_port}"
    monkeypatch.setitem(app.config, "SANCTIONS_SOURCE_HOSTS", host)
    yield f"http://{host}"
    server.shutdown()


def _versions(app: Flask, world: World) -> list[tuple[int, str, int]]:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        rows = db.session.execute(select(SanctionsList.number, SanctionsList.label,
                                         SanctionsList.entry_count)
                                  .order_by(SanctionsList.number)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _last(app: Flask, world: World) -> dict:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        value = db.session.get(Tenant, world.a.tenant_id).setting("sanctions_source_last")
        db.session.remove()
    return value


def test_the_officer_names_the_source_and_a_changed_list_becomes_a_new_version(
        app: Flask, client, world: World, login, publisher: str) -> None:
    login(world.a.emails[Role.officer])
    page = f"/{world.a.slug}/screening/sanctions"
    saved = client.post(f"{page}/source", data={"urls": f"{publisher}/un.xml",
                                                "source_label": "UN consolidated"})
    assert saved.status_code == 302
    before = _versions(app, world)
    fetched = client.post(f"{page}/source/fetch")
    assert fetched.status_code == 302 and "/jobs/" in fetched.headers["Location"]
    after = _versions(app, world)
    assert len(after) == len(before) + 1
    number, label, entries = after[-1]
    assert label.startswith("UN consolidated, ") and entries > 0
    assert _last(app, world)["outcome"] == "imported"
    # The same files again: no new version.
    client.post(f"{page}/source/fetch")
    assert _versions(app, world) == after
    assert _last(app, world) | {"at": None} == {
        "at": None, "outcome": "unchanged", "message": "", "list_number": number}
    # The publisher changes the list: a new version.
    Publisher.files["/un.xml"] = Publisher.files["/un.xml"].replace(b"</CONSOLIDATED_LIST>",
                                                                    b"\n</CONSOLIDATED_LIST>")
    client.post(f"{page}/source/fetch")
    assert len(_versions(app, world)) == len(after) + 1
    shown = client.get(page).get_data(as_text=True)
    assert "Last fetched" in shown and f"{publisher}/un.xml" in shown


@pytest.mark.parametrize(("url", "message"), [
    ("http://10.0.0.5/list.xml", "does not fetch from 10.0.0.5"),
    ("file:///etc/passwd", "beginning with https://"),
    ("ftp://example.org/list.xml", "beginning with https://"),
    ("http://user:pw@{host}/un.xml", "user name or password"),
])
def test_an_address_off_the_deployments_hosts_is_refused_next_to_the_field(
        app: Flask, client, world: World, login, publisher: str, url: str,
        message: str) -> None:
    login(world.a.emails[Role.admin])
    url = url.format(host=publisher.removeprefix("http://"))
    response = client.post(f"/{world.a.slug}/screening/sanctions/source",
                           data={"urls": url, "source_label": "Mine"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and 'id="urls-error"' in html
    assert url in html  # what was typed is kept
    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.get(Tenant, world.a.tenant_id).setting("sanctions_source") is None
        db.session.remove()


@pytest.mark.parametrize(("path", "message"), [
    ("/moved", "does not fetch from 169.254.169.254"), ("/gone.xml", "answered 404"),
])
def test_a_failed_fetch_changes_no_list_and_is_shown(app: Flask, client, world: World, login,
                                                     publisher: str, path: str,
                                                     message: str) -> None:
    login(world.a.emails[Role.officer])
    page = f"/{world.a.slug}/screening/sanctions"
    assert client.post(f"{page}/source", data={"urls": publisher + path}).status_code == 302
    before = _versions(app, world)
    client.post(f"{page}/source/fetch")
    assert _versions(app, world) == before
    last = _last(app, world)
    assert last["outcome"] == "failed" and message in last["message"]
    assert message in client.get(page).get_data(as_text=True)


def test_without_allowed_hosts_nothing_is_fetched(app: Flask, client, world: World,
                                                  login) -> None:
    login(world.a.emails[Role.officer])
    html = client.get(f"/{world.a.slug}/screening/sanctions").get_data(as_text=True)
    assert "does not fetch lists from the internet" in html
    refused = client.post(f"/{world.a.slug}/screening/sanctions/source",
                          data={"urls": "https://lists.example.org/consolidated.xml"})
    assert refused.status_code == 422


def test_the_scheduler_refreshes_every_center_daily(app: Flask, world: World) -> None:
    assert "screening.refresh_sanctions" in {p.name for p in periodic_jobs()}
    from center.core.scheduler import enqueue_for_each_tenant
    with app.app_context():
        enqueue_for_each_tenant("screening.refresh_sanctions")
        with tenant_scope(world.a.tenant_id):
            done = db.session.scalars(select(Job).where(
                Job.task == "screening.refresh_sanctions")).all()
            assert [j.result for j in done] == [{"outcome": "no source"}]
            assert db.session.scalar(select(func.count()).select_from(SanctionsList)) == len(
                _versions(app, world))
        db.session.remove()
