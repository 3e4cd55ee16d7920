"""Fixtures for the agreements tests: an approved proposal rich enough to exercise a contract."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask

from center.auth import services as accounts
from center.auth.models import User
from center.core import pdf as core_pdf
from center.core.db import db, tenant_scope
from center.proposals.models import Proposal
from center.reviews import funding
from center.tenants.models import Donor, Role, Tenant
from tests.agreements.world_part import approved_proposal
from tests.world import PASSWORD, World


@pytest.fixture(scope="session", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    core_pdf.shutdown()


@dataclass
class Scene:
    """The world's side A seen from the agreements module."""

    world: World
    tenant: Tenant
    proposal: Proposal

    def user(self, role: str) -> User:
        return db.session.get(User, self.world.a.user_ids[role])

    @property
    def admin(self) -> User:
        return self.user(Role.admin)

    @property
    def applicant(self) -> User:
        return self.user(Role.applicant)

    @property
    def reviewer(self) -> User:
        return self.user(Role.reviewer)

    @property
    def signatory(self) -> User:
        """The world's authorised signatory of the lead institute (Institute of Physics)."""
        return self.user(Role.signatory)

    def reviewer_for(self, index: int, *, delegate: bool = True) -> User:
        """A donor reviewer acting for the side's donor ``index`` and, unless ``delegate`` is
        False, one of its delegates (the world has one for D1)."""
        if index == 0:
            return self.reviewer
        suffix = "" if delegate else ".plain"
        email = f"reviewer.d{index + 1}{suffix}@{self.world.a.slug}.example"
        user = accounts.find_user(email)
        if user is None:
            user = accounts.create_user(email, f"Reviewer for D{index + 1}", PASSWORD)
            donor = db.session.get(Donor, self.world.a.donor_ids[index])
            accounts.add_membership(user, self.tenant, Role.reviewer, by=self.admin,
                                    donor_id=donor.id)
            db.session.flush()
            if delegate:
                funding.add_delegate(donor, user, by=self.admin)
        return user


@dataclass
class Stage:
    """An approved proposal of tenant A for tests that also make HTTP requests.

    Requests run in application contexts of their own; set-up and checks go in
    ``with stage.scene() as scene:`` blocks, each with a fresh session.
    """

    app: Flask
    world: World
    proposal_id: int

    @contextmanager
    def scene(self) -> Iterator[Scene]:
        with self.app.app_context(), tenant_scope(self.world.a.tenant_id):
            yield Scene(self.world, db.session.get(Tenant, self.world.a.tenant_id),
                        db.session.get(Proposal, self.proposal_id))
            db.session.commit()
            db.session.remove()


@pytest.fixture()
def stage(app: Flask, world: World) -> Stage:
    with app.app_context(), tenant_scope(world.a.tenant_id):
        proposal = _rich_proposal(world)
        db.session.commit()
        stage = Stage(app, world, proposal.id)
        db.session.remove()
    return stage


def _rich_proposal(world: World) -> Proposal:
    return approved_proposal(
        world.a, title="Genomic surveillance of tuberculosis", pi_name="Айгерим Нурлановна",
        korean_partner=True, foreground_ip_terms="Shares follow the person-months.",
        background="Resistance-mutation catalogue v3")


@pytest.fixture()
def scene(in_tenant: World) -> Scene:
    """An approved proposal of tenant A with two donors, a partner, trips and an IP plan."""
    proposal = _rich_proposal(in_tenant)
    return Scene(in_tenant, db.session.get(Tenant, in_tenant.a.tenant_id), proposal)
