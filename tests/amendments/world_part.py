"""The amendments module's part of the test world: a change request and its amendment.

They hang on the agreements world's approved proposal and its draft agreement, written as
rows (a stand-in file, no PDF rendered), so that every change and amendment URL has an object to ask
for. The proposal is not active, so nobody reaches them through the pages; the route walk
checks that outsiders get nothing either way. Active projects for the module's own tests
come from `tests.support.projects`.
"""

from __future__ import annotations

from center.agreements.models import Agreement
from center.amendments.models import Amendment, ChangeKind, ChangeRequest, ChangeStatus
from center.auth.models import User
from center.core import clock
from center.core.db import db
from center.extensions import current_storage
from center.tenants.models import Role, Tenant


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    agreement = db.session.get(Agreement, side.ids["agreement_id"])
    now = clock.now()
    change = ChangeRequest(
        proposal_id=agreement.proposal_id, agreement_id=agreement.id,
        kind=ChangeKind.extension, status=ChangeStatus.approved,
        justification="Late delivery of the station.", new_end_on=now.date(),
        submitted_at=now, submitted_by_id=side.user_ids[Role.applicant], decided_at=now)
    db.session.add(change)
    db.session.flush()
    stored = current_storage().put(f"t{tenant.id}/amendments/{agreement.proposal_id}/world-A1.pdf",
                                   b"%PDF-1.4 a stand-in amendment", "application/pdf")
    amendment = Amendment(
        proposal_id=agreement.proposal_id, agreement_id=agreement.id, change_id=change.id,
        number=1, reference=f"{agreement.reference}-A1",
        pdf_key=stored.key, sha256=stored.sha256, size=stored.size,
        issued_at=now, donor_shares=[])
    db.session.add(amendment)
    db.session.flush()
    side.ids["change_id"] = change.id
    side.ids["amendment_id"] = amendment.id
