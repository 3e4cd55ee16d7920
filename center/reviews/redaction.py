"""The copy of a proposal a reviewer reads, on the page and as a PDF.

In a single-blind call it is the proposal as submitted. In a double-blind call it carries no
applicant's or institute's name: institutes become "Partner 1, 2 ...", people "Team member
1, 2 ...", and every name (and e-mail address) the proposal holds is struck from its free
text too, since applicants often write "our group at the Institute of ..." into an abstract.
Uploaded files cannot be anonymised, so a double-blind copy offers none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from center.auth.models import User
from center.core.db import db
from center.proposals.models import Attachment, Proposal
from center.tenants.models import country_name

#: What replaces a struck name.
WITHHELD = "[…]"
#: Parts of a person's name shorter than this are not struck on their own ("Li", "Kim").
MIN_NAME_PART = 3


@dataclass
class ReviewCopy:
    """Everything a reviewer reads of a proposal, already blinded where the call says so."""

    blind: bool
    title: str
    acronym: str
    topic: str
    abstract: str
    objectives: str
    keywords: str
    duration_months: int | None
    partners: list[dict[str, Any]] = field(default_factory=list)
    team: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    total_budget: int = 0
    trips: list[dict[str, Any]] = field(default_factory=list)
    foreground_ip: str = ""
    foreground_ip_terms: str = ""
    publication_policy: str = ""
    background_ip: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _names(proposal: Proposal) -> tuple[list[str], list[str]]:
    """Return (whole names to strike, single name parts to strike) of the proposal's people
    and institutes."""
    people = [proposal.owner.name] + [m.name for m in proposal.team]
    emails = [proposal.owner.email] + [m.email for m in proposal.team] + [
        c.email for c in proposal.collaborators]
    collaborator_ids = [c.user_id for c in proposal.collaborators if c.user_id]
    if collaborator_ids:
        people += list(db.session.scalars(select(User.name).where(User.id.in_(collaborator_ids))))
    institutes = [p.institute.name for p in proposal.partners] + [
        p.institute.local_name for p in proposal.partners]
    whole = [n.strip() for n in people + emails + institutes if n and n.strip()]
    parts = [part for name in people for part in re.split(r"[\s,.]+", name or "")
             if len(part) >= MIN_NAME_PART]
    return whole, parts


def scrubber(proposal: Proposal) -> Callable[[str], str]:
    """Return a function striking the proposal's names from a text.

    Whole names and e-mail addresses are struck in any case; single parts of people's names
    ("Nurlanovna") only as written, so that a surname that is also a word is not struck from
    every sentence where the word appears in lower case.
    """
    whole, parts = _names(proposal)
    patterns = []
    if whole:
        alternatives = "|".join(re.escape(n) for n in sorted(set(whole), key=len, reverse=True))
        patterns.append(re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))
    if parts:
        alternatives = "|".join(re.escape(p) for p in sorted(set(parts), key=len, reverse=True))
        patterns.append(re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"))

    def scrub(text: str) -> str:
        for pattern in patterns:
            text = pattern.sub(WITHHELD, text or "")
        return text or ""

    return scrub


def review_copy(proposal: Proposal, *, blind: bool) -> ReviewCopy:
    """Build the reviewer's copy of ``proposal``; ``blind`` strikes every name."""
    scrub = scrubber(proposal) if blind else (lambda text: text or "")
    party = {p.institute_id: (_("Partner %(n)d", n=n) if blind else p.institute.name)
             for n, p in enumerate(proposal.partners, start=1)}
    person = {m.id: (_("Team member %(n)d", n=n) if blind else m.name)
              for n, m in enumerate(proposal.team, start=1)}
    background = {p.institute_id: party[p.institute_id] for p in proposal.partners}
    return ReviewCopy(
        blind=blind,
        title=scrub(proposal.title), acronym=scrub(proposal.acronym), topic=proposal.topic,
        abstract=scrub(proposal.abstract), objectives=scrub(proposal.objectives),
        keywords=scrub(proposal.keywords), duration_months=proposal.duration_months,
        partners=[{"label": party[p.institute_id], "country": country_name(
            p.institute.country_code), "lead": p.is_lead} for p in proposal.partners],
        team=[{"label": person[m.id], "role": m.role.replace("_", " "),
               "partner": party.get(m.institute_id, ""),
               "citizenship": country_name(m.citizenship)} for m in proposal.team],
        tasks=[{"title": scrub(t.title), "description": scrub(t.description),
                "partner": party.get(t.institute_id, ""), "months": (t.start_month, t.end_month),
                "days": sum(e.days for e in t.efforts)} for t in proposal.tasks],
        budget=[{"category": line.category, "description": scrub(line.description),
                 "amount": line.amount} for line in proposal.budget_lines],
        total_budget=proposal.total_budget,
        trips=[{"traveller": person.get(t.traveller_id, ""),
                "from": country_name(t.origin_country),
                "to": country_name(t.destination_country),
                "depart": t.depart_on, "return": t.return_on, "purpose": scrub(t.purpose)}
               for t in proposal.trips],
        foreground_ip=proposal.foreground_ip or "",
        foreground_ip_terms=scrub(proposal.foreground_ip_terms),
        publication_policy=scrub(proposal.publication_policy),
        background_ip=[{"partner": background.get(b.institute_id, ""),
                        "description": scrub(b.description),
                        "restrictions": scrub(b.restrictions)} for b in proposal.background_ip],
        attachments=[] if blind else list(proposal.attachments),
    )
