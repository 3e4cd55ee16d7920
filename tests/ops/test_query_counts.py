"""No list page asks the database once per row: each page costs as many SQL statements
with 20 rows as with 2.

The world's center is grown with ``bench/grow.py`` (whole proposals copied with everything
under them: partners, screening reports, matches, assignments, agreements ...; calls with
their donors; applicants), once to twice the world and once to twenty times; the statements
a page sends are counted with a SQLAlchemy event listener around one request (after one
warm-up request, so that per-process caches do not count). The JSON API's lists are counted
the same way, read with a personal token.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, event, func, insert, select

from bench import grow
from center.agreements import services as agreements
from center.agreements.models import Agreement
from center.auth.models import User
from center.core import clock
from center.core.db import db, tenant_scope
from center.dashboard import figures
from center.projects.models import Project, Tranche
from center.proposals.models import Proposal
from center.reviews.permissions import READABLE_STATES
from center.tenants.models import Role, Tenant
from tests.conftest import Browser, admin_engine
from tests.support.api import bearer, issue_token
from tests.world import World

#: (what the page lists, its path, who reads it, how to add rows) for every list page.
#: "proposals" copies the world's proposals for its applicant; "spread" shares the copies
#: out among new applicants, so that a page naming each lead applicant cannot find them all
#: in the session already; "issued" issues the world's draft agreement first (so that its
#: parties have one to acknowledge) and then spreads. Every copy of the world's active
#: project is funded by D1, whose reviewer (and delegate) is the world's reviewer.
PAGES = [
    ("own proposals", "/{t}/proposals/", Role.applicant, "proposals"),
    ("submitted proposals", "/{t}/proposals/all", Role.officer, "spread"),
    ("submitted proposals, searched", "/{t}/proposals/all?q=a", Role.officer, "spread"),
    ("review assignments", "/{t}/reviews/", Role.reviewer, "assigned"),
    ("calls to review", "/{t}/reviews/calls/", Role.officer, "spread"),
    ("review panel", "/{t}/reviews/calls/{call_id}/panel", Role.officer, "spread"),
    ("funding board", "/{t}/reviews/funding", Role.officer, "spread"),
    ("screening queue", "/{t}/screening/", Role.officer, "spread"),
    ("concurrence requests", "/{t}/concurrence/", Role.concurrence, "spread"),
    ("duplicate matches", "/{t}/overlaps/", Role.officer, "spread"),
    ("agreements", "/{t}/agreements/", Role.officer, "spread"),
    ("agreements, issued ones waiting", "/{t}/agreements/", Role.officer, "issued"),
    ("projects", "/{t}/projects", Role.officer, "spread"),
    ("projects of a funding donor", "/{t}/projects", Role.reviewer, "spread"),
    ("projects of the team", "/{t}/projects", Role.applicant, "proposals"),
    ("members", "/{t}/admin/members", Role.admin, "members"),
    ("calls", "/{t}/calls/", Role.officer, "calls"),
    ("officer's dashboard", "/{t}/dashboard", Role.officer, "spread"),
    ("administrator's dashboard", "/{t}/dashboard", Role.admin, "spread"),
    ("administrator's dashboard, issued ones waiting", "/{t}/dashboard", Role.admin, "issued"),
    ("applicant's dashboard", "/{t}/dashboard", Role.applicant, "proposals"),
    ("donor delegate's dashboard", "/{t}/dashboard", Role.reviewer, "issued"),
    ("lead signatory's dashboard", "/{t}/dashboard", Role.signatory, "issued"),
]

#: The JSON API's lists, as `PAGES`, read with a token of the person in the role.
API_LISTS = [
    ("agreements", "/{t}/api/v1/agreements", Role.officer, "issued"),
    ("agreements of a donor's delegate", "/{t}/api/v1/agreements", Role.reviewer, "issued"),
    ("agreements of the lead signatory", "/{t}/api/v1/agreements", Role.signatory, "issued"),
    ("agreements of the applicants", "/{t}/api/v1/agreements", Role.applicant, "proposals"),
    ("projects", "/{t}/api/v1/projects", Role.officer, "spread"),
    ("projects of a funding donor", "/{t}/api/v1/projects", Role.reviewer, "spread"),
]


@contextmanager
def counting() -> Iterator[list[str]]:
    """Collect every SQL statement sent while the block runs."""
    statements: list[str] = []
    engine = db.engine

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _grow(app: Flask, tmp_root: Path, world: World, what: str, copies: int) -> None:
    """Add ``copies`` times what tenant A holds (as the schema's owner: explicit ids)."""
    if what == "issued" and copies == 1:  # the world's draft, before any copy is made
        _issue_the_draft(app, world)
    with admin_engine(tmp_root).begin() as conn:
        tenant_id = world.a.tenant_id
        if what == "proposals":  # the world's applicant's own
            grow.clone_proposals(conn, tenant_id, copies)
        elif what in ("spread", "assigned", "issued"):  # shared out among new applicants
            if what == "assigned":  # and the world's reviewer reads each of them
                _assign_readable(conn, world)
            grow.clone_proposals(conn, tenant_id, copies, owners=grow.add_applicants(
                conn, tenant_id, world.a.user_ids[Role.applicant], 20,
                domain=f"{copies}.spread.example"))
        elif what == "calls":
            grow.clone_calls(conn, tenant_id, copies)
        else:
            grow.add_applicants(conn, tenant_id, world.a.user_ids[Role.applicant], copies,
                                domain=f"{copies}.grown.example")


def _issue_the_draft(app: Flask, world: World) -> None:
    """Issue the world's draft agreement (of its approved proposal) through the services."""
    with app.app_context(), tenant_scope(world.a.tenant_id):
        agreement = db.session.get(Agreement, world.a.ids["agreement_id"])
        agreements.issue_agreement(
            agreement, by=db.session.get(User, world.a.user_ids[Role.admin]),
            roles=frozenset({Role.admin}), tenant=db.session.get(Tenant, world.a.tenant_id))
        db.session.commit()
        db.session.remove()


def _assign_readable(conn: Connection, world: World) -> None:
    """Assign the world's reviewer (accepted, for its donor) to every proposal of tenant A
    that a reviewer may read and that has no assignment yet."""
    assignments, proposals = (db.metadata.tables["review_assignments"],
                              db.metadata.tables["proposals"])
    now = clock.now()
    for proposal_id in conn.scalars(select(proposals.c.id).where(
            proposals.c.tenant_id == world.a.tenant_id,
            proposals.c.status.in_([str(s) for s in READABLE_STATES]),
            proposals.c.id.not_in(select(assignments.c.proposal_id)))):
        conn.execute(insert(assignments).values(
            proposal_id=proposal_id, reviewer_id=world.a.user_ids[Role.reviewer],
            donor_id=world.a.donor_ids[0], status="accepted", assigned_at=now,
            declared_at=now, conflict_reason="", tenant_id=world.a.tenant_id, version=1))


def _statements(app: Flask, client: FlaskClient, path: str,
                headers: dict[str, str] | None = None) -> list[str]:
    with app.app_context():
        assert client.get(path, headers=headers).status_code == 200
        with counting() as statements:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return statements


def _proposals(app: Flask, world: World) -> int:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        return db.session.scalar(select(func.count(Proposal.id)))


@pytest.mark.parametrize(("what", "path", "role", "rows"), PAGES, ids=[p[0] for p in PAGES])
def test_a_list_page_costs_the_same_queries_for_20_rows_as_for_2(
        app: Flask, client: FlaskClient, world: World, tmp_root: Path, what: str, path: str,
        role: Role, rows: str) -> None:
    Browser(client).login(world.a.emails[role])
    url = path.format(t=world.a.slug, call_id=world.a.ids["call_id"])
    _grow(app, tmp_root, world, rows, 1)
    few = _statements(app, client, url)
    _grow(app, tmp_root, world, rows, 9)  # twice the world, copied nine times more: twenty
    many = _statements(app, client, url)
    assert len(many) == len(few), _report(few, many)


@pytest.mark.parametrize(("what", "path", "role", "rows"), API_LISTS,
                         ids=[p[0] for p in API_LISTS])
def test_an_api_list_costs_the_same_queries_for_20_rows_as_for_2(
        app: Flask, client: FlaskClient, world: World, tmp_root: Path, what: str, path: str,
        role: Role, rows: str) -> None:
    headers = bearer(issue_token(app, world.a, world.a.emails[role]))
    url = path.format(t=world.a.slug)
    _grow(app, tmp_root, world, rows, 1)
    few = _statements(app, client, url, headers)
    _grow(app, tmp_root, world, rows, 9)
    many = _statements(app, client, url, headers)
    assert len(client.get(url, headers=headers).json["items"]) >= 10  # rows to list, indeed
    assert len(many) == len(few), _report(few, many)


def _report(few: list[str], many: list[str]) -> str:
    return "\n".join([f"{len(few)} statements -> {len(many)}", *_differences(few, many)])


def _differences(few: list[str], many: list[str]) -> list[str]:
    """The statements that the larger page sends more often, for the failure message."""
    counts: dict[str, list[int]] = {}
    for n, statements in enumerate((few, many)):
        for s in statements:
            counts.setdefault(" ".join(s.split())[:200], [0, 0])[n] += 1
    return [f"{a} -> {b}: {s}" for s, (a, b) in counts.items() if a != b]


def _figure_statements(app: Flask, world: World) -> list[str]:
    with app.test_request_context(), tenant_scope(world.a.tenant_id):
        with counting() as statements:
            figures.officer_figures()
            figures.admin_figures()
            figures.donor_figures(world.a.donor_ids[0])
        db.session.remove()
    return statements


def test_the_dashboards_figures_cost_the_same_queries_for_20_times_the_rows(
        app: Flask, world: World, tmp_root: Path) -> None:
    """The figures group in SQL. (The dashboard page as a whole is not in `PAGES`: the
    post-award panels it also shows still ask once per project.)"""
    _grow(app, tmp_root, world, "assigned", 1)
    few = _figure_statements(app, world)
    _grow(app, tmp_root, world, "assigned", 9)
    many = _figure_statements(app, world)
    assert _proposals(app, world) >= 20
    assert len(many) == len(few), _report(few, many)


def test_the_grown_world_has_twenty_times_its_proposals(app: Flask, world: World,
                                                         tmp_root: Path) -> None:
    before = _proposals(app, world)
    _grow(app, tmp_root, world, "proposals", 1)
    _grow(app, tmp_root, world, "proposals", 9)
    assert _proposals(app, world) == 20 * before


def test_the_grown_world_has_twenty_times_its_projects(app: Flask, world: World,
                                                        tmp_root: Path) -> None:
    """The projects (with their donors, periods and tranches) are copied with their
    proposals, so the projects lists above have twenty times the rows too."""

    def count(model: type) -> int:
        with app.app_context(), tenant_scope(world.a.tenant_id):
            return db.session.scalar(select(func.count(model.id)))

    before = count(Project), count(Tranche)
    assert before[0] >= 1
    _grow(app, tmp_root, world, "spread", 1)
    _grow(app, tmp_root, world, "spread", 9)
    assert (count(Project), count(Tranche)) == (20 * before[0], 20 * before[1])
