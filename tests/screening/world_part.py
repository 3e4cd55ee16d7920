"""Each side of the test world gets two sanctions list versions, a hit and a concurrence
request, made through the screening services.

The first list names the world proposal's lead institute, so screening the draft records a
hit; the second version, in force afterwards, names nobody in the world, so tests that
submit the world proposal start from a clean screening.
"""

from __future__ import annotations

from center.auth.models import User
from center.core.db import db
from center.proposals.models import Proposal
from center.screening import services
from center.tenants.models import Role

HEADER = "name,aliases,country,type,list,reference\n"
#: Names that match nobody in the world (different people and bodies).
CLEAN_ROWS = (
    "Сидоров Иван Петрович,Ivan Sidorov,RU,person,EU 833/2014,EU.1\n"
    "Kim Jong Un,김정은,KP,person,UN 1718,KPi.033\n"
    "JSC Rosatom,АО «Росатом»,RU,entity,US BIS Entity List,BIS.77\n"
)


def extend_side(side, *, tenant, platform) -> None:  # noqa: ANN001
    officer = db.session.get(User, side.user_ids[Role.officer])
    proposal = db.session.get(Proposal, side.ids["proposal_id"])
    first = services.import_sanctions_list(
        filename="world-v1.csv", label="World list v1", by=officer,
        data=(HEADER + f"Institute of Physics {side.slug},,,entity,World list,W.1\n"
              + CLEAN_ROWS).encode())
    report = services.compute_report(proposal, by=officer)
    db.session.flush()
    side.ids["sanctions_list_id"] = first.id
    side.ids["sanctions_hit_id"] = report.hits[0].id
    services.import_sanctions_list(filename="world-v2.csv", label="World list v2", by=officer,
                                   data=(HEADER + CLEAN_ROWS).encode())
    request = services.request_concurrence(proposal, by=officer)[0]
    db.session.flush()
    side.ids["concurrence_request_id"] = request.id
