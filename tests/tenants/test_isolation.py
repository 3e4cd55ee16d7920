"""Tenant isolation is a property of the data layer, checked on models and on every route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from center.core.db import (
    CrossTenantWrite,
    TenantScoped,
    TenantScopeMissing,
    all_tenants,
    db,
    tenant_scope,
)
from center.tenants.models import Donor, Institute, Membership
from tests.support.api import bearer, is_api_rule, issue_token
from tests.world import World


def test_every_model_is_tenant_scoped_or_says_why_not(app) -> None:
    unexplained = []
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, TenantScoped):
            column = cls.__table__.c.tenant_id
            assert not column.nullable, f"{cls.__name__}.tenant_id must be NOT NULL"
        elif not getattr(cls, "__tenant_scope__", "").startswith("global:"):
            unexplained.append(cls.__name__)
    assert unexplained == []


def test_a_query_without_a_tenant_in_scope_fails_loudly(app, world: World) -> None:
    with app.app_context(), pytest.raises(TenantScopeMissing):
        db.session.scalars(select(Donor)).all()


def test_queries_see_only_the_tenant_in_scope(app, world: World) -> None:
    with app.app_context():
        with tenant_scope(world.a.tenant_id):
            names = db.session.scalars(select(Donor.name)).all()
            assert names and all("alpha" in n for n in names)
            assert db.session.get(Institute, world.b.institute_ids[0]) is None
        with all_tenants():
            assert len(db.session.scalars(select(Donor)).all()) == 4


def test_relationship_loads_are_scoped_too(app, world: World) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        donor = db.session.get(Donor, world.a.donor_ids[0])
        assert all(m.tenant_id == world.a.tenant_id for m in donor.memberships)


def test_refreshing_an_object_after_each_commit_reuses_one_statement(app, world: World) -> None:
    """A refresh carries the criteria the object was loaded with; the hook must not stack
    another copy at each commit (the statement would never be cached, and a job committing
    its progress per item compiled ever larger statements: quadratic time)."""
    from sqlalchemy import event, orm

    keys = []

    def record(state: orm.ORMExecuteState) -> None:
        if state.is_column_load:
            keys.append(state.statement._generate_cache_key().key)

    with app.app_context(), tenant_scope(world.a.tenant_id):
        donor = db.session.get(Donor, world.a.donor_ids[0])
        event.listen(db.session(), "do_orm_execute", record)
        try:
            for n in range(4):
                donor.name = f"{donor.name.split(' #')[0]} #{n}"
                db.session.commit()
                assert donor.tenant_id == world.a.tenant_id  # refreshed from the row
        finally:
            event.remove(db.session(), "do_orm_execute", record)
    assert len(keys) >= 4
    assert len(set(keys)) == 1


def test_bulk_updates_touch_only_the_tenant_in_scope(app, world: World) -> None:
    from sqlalchemy import update

    with app.app_context():
        with tenant_scope(world.a.tenant_id):
            db.session.execute(update(Institute).values(city="Changed"))
            db.session.commit()
        with all_tenants():
            cities = dict(db.session.execute(select(Institute.id, Institute.city)).all())
    assert {cities[i] for i in world.a.institute_ids} == {"Changed"}
    assert "Changed" not in {cities[i] for i in world.b.institute_ids}


def test_new_rows_take_the_tenant_in_scope_and_refuse_another(app, world: World) -> None:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        institute = Institute(name="New", country_code="KZ")
        db.session.add(institute)
        db.session.flush()
        assert institute.tenant_id == world.a.tenant_id
        db.session.add(Institute(name="Smuggled", country_code="KZ", tenant_id=world.b.tenant_id))
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()


def test_memberships_are_per_tenant(app, world: World) -> None:
    with app.app_context(), tenant_scope(world.b.tenant_id):
        users = db.session.scalars(select(Membership.user_id)).all()
    assert world.a.user_ids["officer"] not in users


def _fill(rule, values: dict[str, int]) -> str | None:
    path = rule.rule
    for name in rule.arguments - {"tenant"}:
        if name not in values:
            return None
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), path)
    return path


def _tenant_rules(app):
    return [r for r in app.url_map.iter_rules() if "tenant" in r.arguments]


def test_objects_of_another_tenant_are_404_on_every_route(app, world: World, client,
                                                         login) -> None:
    """Every role of A asks A's URLs for B's objects: 404 where the role may call the view,
    403 where it may not; never the object. The API's routes are asked with each role's
    token instead of a session."""
    checked = 0
    tokens = {email: bearer(issue_token(app, world.a, email)) for email in world.a.emails.values()}
    for rule in _tenant_rules(app):
        if not (rule.arguments - {"tenant"}):
            continue
        path = _fill(rule, world.b.ids)
        assert path is not None, f"the world has no object for {rule.rule}: add it to tests/world"
        path = path.replace("<tenant>", world.a.slug)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        access = app.view_functions[rule.endpoint].access
        for role, email in world.a.emails.items():
            if is_api_rule(rule):
                response = client.open(path, method=method, json={}, headers=tokens[email])
            else:
                client.post("/logout")
                login(email)
                response = client.open(path, method=method)
            may_call = access in ("public", "signed_in") or role in access.split(":")[-1].split(",")
            expected = 404 if may_call else 403
            assert response.status_code == expected, (rule.rule, role, response.status_code)
        checked += 1
    assert checked >= 1


def test_pages_of_another_tenant_are_404_for_non_members(app, world: World, login) -> None:
    """A's administrator asks B's URLs: 404 on every page; on the API, A's token is not a
    token of B at all (401)."""
    client = login(world.a.emails["admin"])
    token = bearer(issue_token(app, world.a, world.a.emails["admin"]))
    for rule in _tenant_rules(app):
        view = app.view_functions[rule.endpoint]
        if view.access == "public":
            continue
        path = _fill(rule, world.b.ids)
        if path is None:
            continue
        path = path.replace("<tenant>", world.b.slug)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        if is_api_rule(rule):
            response = client.open(path, method=method, json={}, headers=token)
            assert response.status_code == 401, (rule.rule, response.status_code)
            continue
        response = client.open(path, method=method)
        assert response.status_code == 404, (rule.rule, response.status_code)


def test_counts_and_joins_through_tenant_tables_are_scoped(app, world: World) -> None:
    """A tenant table reached only by select_from, a join or a subquery is filtered too."""
    from sqlalchemy import func

    from center.auth.models import User
    from center.tenants.models import Role

    with app.app_context(), tenant_scope(world.a.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Donor)) == 2
        joined = db.session.scalars(select(User.email).join(
            Membership, Membership.user_id == User.id).where(Membership.role == Role.officer))
        assert list(joined) == [world.a.emails["officer"]]
        nested = db.session.scalars(select(User.email).where(User.id.in_(
            select(Membership.user_id).where(Membership.role == Role.officer))))
        assert list(nested) == [world.a.emails["officer"]]


def test_counting_tenant_rows_without_a_tenant_fails_loudly(app, world: World) -> None:
    from sqlalchemy import func

    with app.app_context(), pytest.raises(TenantScopeMissing):
        db.session.scalar(select(func.count()).select_from(Donor))
