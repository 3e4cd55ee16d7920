"""The monitoring module's part of the test world: one double-claim flag to ask for.

Written as rows on the agreements world's approved proposal (a lexical fingerprint made
once), so that
the claim URL has an object; outsiders must get nothing from it.
"""

from __future__ import annotations

from center.auth.models import User
from center.core import clock
from center.core.db import db
from center.dedup.engine import Settings, fingerprint
from center.monitoring.models import DoubleClaim, ReportedText
from center.tenants.models import Tenant

TEXT = "Glaciers melt faster on southern slopes than the models expected."
#: A lexical fingerprint of TEXT (no embedding: cheap to make for every world).
_BLOB = fingerprint(TEXT, lang="en", settings=Settings(use_embeddings=False)).to_bytes()


def extend_side(side, *, tenant: Tenant, platform: User) -> None:  # noqa: ANN001
    reported = ReportedText(proposal_id=side.ids["approved_proposal_id"],
                            source_key="world:1", label="Report 1, results",
                            body=TEXT, lang="en", blob=_BLOB, checked_at=clock.now())
    db.session.add(reported)
    db.session.flush()
    claim = DoubleClaim(reported_id=reported.id, other_key=f"p:{side.ids['proposal_id']}",
                        score=0.9, method="lexical", found_at=clock.now())
    db.session.add(claim)
    db.session.flush()
    side.ids["claim_id"] = claim.id
