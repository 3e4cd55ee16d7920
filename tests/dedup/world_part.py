"""Each side of the test world gets a funded project and one recorded overlap."""

from __future__ import annotations

from sqlalchemy import select

from center.core import clock
from center.core.db import db
from center.dedup.models import FundedProject, SimilarityMatch
from center.proposals.models import Proposal


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    project = FundedProject(reference=f"{side.slug.upper()}-2019-001", imported_at=clock.now(),
                            title="Watershed monitoring", abstract="Earlier funded work.")
    db.session.add(project)
    db.session.flush()
    proposal = db.session.scalar(select(Proposal).where(Proposal.id == side.ids["proposal_id"]))
    match = SimilarityMatch(proposal_id=proposal.id, other_key=f"f:{project.id}",
                            project_id=project.id, score=0.7, method="lexical",
                            found_at=clock.now())
    db.session.add(match)
    db.session.flush()
    side.ids["match_id"] = match.id
