"""Who sees what: every role against every review page of one proposal under review.

Reviewer r3 (donor D2) reviews the TB proposal; r4 (D2) declared a conflict on it; r1 (D1) is
a reviewer of the call not assigned to it; r5 acts for D3, which is not in the call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from center.core import pdf
from center.core.db import db, tenant_scope
from center.proposals.models import Attachment
from center.reviews import services
from tests.reviews.conftest import Panel, accepted, membership, proposal, review, user

PAGES = {
    "review": "/reviews/assignments/{mine}",
    "pdf": "/reviews/assignments/{mine}/proposal.pdf",
    "file": "/reviews/assignments/{mine}/files/{attachment}",
    "declaration": "/reviews/assignments/{mine}/conflict",
    "conflicted review": "/reviews/assignments/{conflicted}",
    "conflicted pdf": "/reviews/assignments/{conflicted}/proposal.pdf",
    "consensus": "/reviews/proposals/{tb}/consensus",
    "assign": "/reviews/calls/{call}/assign",
    "panel": "/reviews/calls/{call}/panel",
    "csv": "/reviews/calls/{call}/panel.csv",
    "xlsx": "/reviews/calls/{call}/panel.xlsx",
    "proposal panel": "/reviews/proposals/{tb}/panel",
    "settings": "/reviews/calls/{call}/settings",
    "funding": "/reviews/calls/{call}/funding",
    "delegates": "/reviews/delegates",
}

#: (who, page) -> status; pages not listed for a role are 403 (the role may not call them).
EXPECTED = {
    "r3": {"review": 200, "pdf": 200, "file": 200, "declaration": 302,
           "conflicted review": 404, "conflicted pdf": 404, "consensus": 200, "funding": 200},
    "r4": {"review": 404, "pdf": 404, "file": 404, "declaration": 404,
           "conflicted review": 404, "conflicted pdf": 404, "consensus": 404, "funding": 403},
    "r1": {"review": 404, "pdf": 404, "file": 404, "declaration": 404,
           "conflicted review": 404, "conflicted pdf": 404, "consensus": 404, "funding": 200},
    "r5": {"review": 404, "pdf": 404, "file": 404, "declaration": 404,
           "conflicted review": 404, "conflicted pdf": 404, "consensus": 404, "funding": 403},
    "applicant": {},
    "officer": {"assign": 200, "panel": 200, "csv": 200, "xlsx": 200, "proposal panel": 200,
                "settings": 200, "funding": 200, "delegates": 200},
    "admin": {"assign": 200, "panel": 200, "csv": 200, "xlsx": 200, "proposal panel": 200,
              "settings": 200, "funding": 200, "delegates": 200},
}


@pytest.fixture(scope="module", autouse=True)
def _stop_pdf_workers() -> Iterator[None]:
    yield
    pdf.shutdown()


@pytest.fixture()
def urls(app, panel: Panel) -> dict[str, str]:  # noqa: ANN001
    with app.app_context(), tenant_scope(panel.tenant_id):
        mine = accepted(panel, "tb", "r3")
        review(mine, 4, 4)
        conflicted = services.assign(proposal(panel, "tb"), membership(panel, "r4"),
                                     by=user(panel, "officer"))
        services.declare(conflicted, by=user(panel, "r4"), conflict=True, reason="Co-author.")
        services.set_rapporteur(proposal(panel, "tb"), mine, by=user(panel, "officer"))
        ids = {"mine": mine.id, "conflicted": conflicted.id, "tb": panel.tb,
               "call": panel.call_id,
               "attachment": db.session.scalar(select(Attachment.id).where(
                   Attachment.proposal_id == panel.tb))}
        db.session.commit()
    return {name: f"/{panel.slug}" + path.format(**ids) for name, path in PAGES.items()}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_role_gets_exactly_its_pages(client, login, panel: Panel, urls: dict[str, str],
                                          who: str) -> None:
    login(panel.emails[who])
    got = {page: client.get(url).status_code for page, url in urls.items()}
    assert got == {page: EXPECTED[who].get(page, 403) for page in PAGES}


def test_a_member_of_another_center_gets_404_everywhere(app, client, login, panel: Panel,
                                                        urls: dict[str, str]) -> None:
    login(panel.world.b.emails["officer"])
    assert {client.get(url).status_code for url in urls.values()} == {404}
