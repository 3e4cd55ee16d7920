"""A list of agreements is decided at once (`permissions.visible`, `parties_for`,
`pending_for_each`: the person's donors, institutes and conflicts of interest looked up once
for the list) and gets the answers each of its agreements gets alone."""

from __future__ import annotations

from center.agreements import permissions, services
from center.agreements.models import Agreement, Party
from center.core.db import db
from center.projects.models import Project
from center.reviews.models import Assignment, AssignmentStatus
from center.tenants.models import Role
from tests.agreements.conftest import Scene
from tests.agreements.world_part import approved_proposal

ADMIN = frozenset({Role.admin})


def _agreements(scene: Scene) -> dict[str, Agreement]:
    """Four agreements of one tenant: two issued and waiting (the world's, and the scene's,
    with which the world's reviewer, D1's delegate, declared a conflict of interest), the
    world's project's (countersigned) and a draft."""
    world = db.session.get(Agreement, scene.world.a.ids["agreement_id"])
    services.issue_agreement(world, by=scene.admin, roles=ADMIN, tenant=scene.tenant)
    conflicted = services.generate_agreement(scene.proposal, by=scene.admin, tenant=scene.tenant)
    services.issue_agreement(conflicted, by=scene.admin, roles=ADMIN, tenant=scene.tenant)
    db.session.add(Assignment(
        proposal_id=scene.proposal.id, reviewer_id=scene.reviewer.id,
        donor_id=scene.world.a.donor_ids[0], status=AssignmentStatus.conflict,
        assigned_at=scene.proposal.submitted_at, declared_at=scene.proposal.submitted_at,
        conflict_reason="Co-author of the PI."))
    draft = services.generate_agreement(approved_proposal(scene.world.a, title="Snow cover"),
                                        by=scene.admin, tenant=scene.tenant)
    project = db.session.get(Project, scene.world.a.ids["project_id"]).agreement
    db.session.flush()
    return {"world": world, "conflicted": conflicted, "project": project, "draft": draft}


def test_a_list_of_agreements_is_decided_as_each_of_them_alone(scene: Scene) -> None:
    found = _agreements(scene)
    listing = list(found.values())
    d1 = scene.world.a.donor_ids[0]
    seen = {}
    for role in (Role.reviewer, Role.signatory, Role.applicant, Role.officer):
        user, roles = scene.user(role), frozenset({role})
        seen[role] = {k for k, a in found.items()
                      if a in permissions.visible(user, listing, roles)}
        assert seen[role] == {k for k, a in found.items()
                              if permissions.can_view(user, a, roles)}
        assert permissions.parties_for(user, listing) == {
            a.id: permissions.parties_of(user, a) for a in listing}
        assert permissions.pending_for_each(user, listing) == {
            a.id: permissions.pending_for(user, a) for a in listing}
    assert seen == {Role.reviewer: {"world", "project"},
                    Role.signatory: {"world", "conflicted", "project"},
                    Role.applicant: {"world", "conflicted", "project"},
                    Role.officer: set(found)}
    by_name = {a.id: k for k, a in found.items()}
    reviewer = permissions.pending_for_each(scene.reviewer, listing)
    assert {by_name[i]: p for i, p in reviewer.items() if p} == {"world": [(Party.donor, d1)]}
    signatory = permissions.pending_for_each(scene.signatory, listing)
    assert {by_name[i]: p for i, p in signatory.items() if p} == {
        "world": [(Party.lead_institute, None)], "conflicted": [(Party.lead_institute, None)]}
