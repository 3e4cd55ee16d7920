"""The reviews module's objects in the test world: a reviewer profile, a funding delegate and
an assignment on each side's proposal, so the cross-tenant route walk has an
``assignment_id`` to try."""

from __future__ import annotations

from center.auth.models import User
from center.core import clock
from center.core.db import db
from center.proposals.models import Proposal
from center.reviews import funding, services
from center.reviews.models import Assignment, AssignmentStatus
from center.tenants.models import Donor, Role


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    reviewer = db.session.get(User, side.user_ids[Role.reviewer])
    donor = db.session.get(Donor, side.donor_ids[0])
    services.save_profile(reviewer, by=reviewer, expected_version=0,
                          expertise="tuberculosis genomics", institute_id=None,
                          nationality="US", collaborators="", max_load=6)
    funding.add_delegate(donor, reviewer, by=platform)
    # The world's proposal is a draft, which `services.assign` rightly refuses; the route
    # walk needs only an id, so the row is written as it stands.
    proposal = db.session.get(Proposal, side.ids["proposal_id"])
    assignment = Assignment(proposal_id=proposal.id, reviewer_id=reviewer.id, donor_id=donor.id,
                            status=AssignmentStatus.pending, assigned_at=clock.now(),
                            conflict_reason="")
    db.session.add(assignment)
    db.session.flush()
    side.ids["assignment_id"] = assignment.id
