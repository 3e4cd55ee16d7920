"""Put a proposal into a workflow state for a test's set-up, without walking every step.

Tests of a later stage (reviews, agreements) need proposals that already passed the earlier
ones. This writes the state the way the earlier steps would leave it: a submitted version,
the timestamps the database's CHECK constraints require, and an audit event saying it was
set up by a test. Tests of a transition itself must use `workflow.fire`.
"""

from __future__ import annotations

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.proposals import services
from center.proposals.models import DECIDED_STATES, Proposal, ProposalStatus, ProposalVersion


def put_in_state(proposal: Proposal, status: ProposalStatus, *, by: User) -> Proposal:
    """Move ``proposal`` straight to ``status`` (test set-up only) and flush."""
    now = clock.now()
    old = proposal.status
    with db.session.no_autoflush:
        if status != ProposalStatus.draft and not proposal.version_no:
            proposal.version_no = 1
            proposal.submitted_at = now
            proposal.submitted_by_id = by.id
            proposal.versions.append(ProposalVersion(
                number=1, submitted_at=now, submitted_by_id=by.id,
                snapshot=services.snapshot(proposal), sha256="0" * 64))
        proposal.status = status
        proposal.withdrawn_at = now if status == ProposalStatus.withdrawn else None
        if status in DECIDED_STATES:
            proposal.decided_at = now
        audit.record("proposal.test_setup", proposal, actor=by, from_state=old,
                     to_state=status)
    db.session.flush()
    return proposal
