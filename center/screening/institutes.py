"""Institutes proposed by applicants: the officer confirms each one, or merges it into the
existing institute it duplicates. An unconfirmed institute blocks screening (see
`center.screening.services.pass_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from center.auth.models import User
from center.core import audit
from center.core.db import db
from center.core.identifiers import same_ror
from center.proposals.models import ProposalInstitute
from center.screening.names import score_names
from center.tenants import services as tenants
from center.tenants.models import Institute

#: How alike two names must be for an institute to be offered as a likely match.
MATCH_SCORE = 0.6
#: At most this many likely matches are listed per unconfirmed institute.
MAX_MATCHES = 5


#: What the rows of each table referring to an institute are, for the officer.
REFERENCE_LABELS = {
    "proposal_institutes": _l("Places in a consortium"),
    "team_members": _l("Team members"),
    "tasks": _l("Work-plan tasks"),
    "budget_lines": _l("Budget lines"),
    "background_ip": _l("Background IP items"),
    "memberships": _l("Signatories"),
    "reviewer_profiles": _l("Reviewer profiles"),
}


def reference_label(table: str) -> str:
    return str(REFERENCE_LABELS.get(table, _l("Other records")))


class MergeRefused(Exception):
    """The merge cannot be made; the message is for the officer."""


@dataclass(frozen=True)
class Match:
    """An existing institute that the unconfirmed one may duplicate, and why."""

    institute: Institute
    score: float
    same_country: bool
    same_city: bool
    same_ror: bool = False


def unconfirmed() -> list[Institute]:
    """The tenant's institutes waiting for an officer, oldest first."""
    return list(db.session.scalars(select(Institute).where(Institute.verified.is_(False))
                                   .order_by(Institute.id)))


def likely_matches(institute: Institute, candidates: list[Institute]) -> list[Match]:
    """Confirmed institutes whose name is like ``institute``'s (in either script), best
    first; the same country and city count in a match's favour. When both carry a ROR id,
    it decides: the same id is a match whatever the names, two ids are never one."""
    found = []
    names = [n for n in (institute.name, institute.local_name) if n]
    for other in candidates:
        if other.id == institute.id or not other.verified:
            continue
        by_ror = same_ror(institute.ror_id, other.ror_id)
        if by_ror is not None:
            if by_ror:
                found.append(Match(other, 1.0, other.country_code == institute.country_code,
                                   (other.city or "").strip().casefold()
                                   == (institute.city or "").strip().casefold(),
                                   same_ror=True))
            continue
        score = max(score_names(a, b, kind="entity") for a in names
                    for b in (other.name, other.local_name) if b)
        same_country = other.country_code == institute.country_code
        same_city = bool(institute.city) and \
            other.city.strip().casefold() == institute.city.strip().casefold()
        if score >= MATCH_SCORE or (same_country and same_city and score >= MATCH_SCORE / 2):
            found.append(Match(other, score, same_country, same_city))
    found.sort(key=lambda m: (m.same_ror, m.same_country, m.same_city, m.score), reverse=True)
    return found[:MAX_MATCHES]


def _references() -> list[tuple[type, Any]]:
    """Every mapped model column pointing at an institute (partners, team members, tasks,
    budget lines, background IP, memberships, reviewer profiles, and any added later)."""
    found = []
    for mapper in db.Model.registry.mappers:
        for column in mapper.local_table.columns:
            # The institute's id, not its tenant_id (the composite keys name both).
            if any(fk.column is Institute.__table__.c.id for fk in column.foreign_keys):
                found.append((mapper.class_, getattr(mapper.class_, column.key)))
    return sorted(found, key=lambda ref: ref[0].__name__)


def reference_counts(institute: Institute) -> dict[str, int]:
    """How many rows of each table name ``institute``."""
    counts = {}
    for model, column in _references():
        n = db.session.scalar(select(func.count()).select_from(model).where(
            column == institute.id))
        if n:
            counts[model.__tablename__] = n
    return counts


def confirm(institute: Institute, *, by: User) -> None:
    """Confirm an applicant's institute as real (audited)."""
    if institute.verified:
        raise MergeRefused(_("%(name)s is confirmed already.", name=institute.name))
    tenants.verify_institute(institute, by=by)
    db.session.flush()


def merge(duplicate: Institute, into: Institute, *, by: User) -> dict[str, int]:
    """Merge an unconfirmed institute into the confirmed one it duplicates.

    Effects: every reference to ``duplicate`` re-pointed to ``into``; where a proposal has
    both in its consortium, the two partner rows become one that keeps the stronger role
    (lead over partner over foreign collaborator); ``duplicate`` deleted; an audit event on
    ``into`` with the counts moved per table. Returns those counts.
    """
    if duplicate.id == into.id:
        raise MergeRefused(_("An institute cannot be merged into itself."))
    if duplicate.verified:
        raise MergeRefused(_("%(name)s is confirmed; only institutes waiting for "
                             "confirmation are merged.", name=duplicate.name))
    if not into.verified:
        raise MergeRefused(_("Merge into a confirmed institute: confirm %(name)s first.",
                             name=into.name))
    if same_ror(duplicate.ror_id, into.ror_id) is False:
        raise MergeRefused(_("%(name)s and %(other)s have different ROR ids: they are two "
                             "institutes.", name=duplicate.name, other=into.name))
    counts = reference_counts(duplicate)
    ror_id, duplicate.ror_id = duplicate.ror_id, None  # the id moves to the one kept
    db.session.flush()
    if ror_id and not into.ror_id:
        into.ror_id = ror_id
    _merge_partner_rows(duplicate, into)
    for model, column in _references():
        if model is not ProposalInstitute:
            db.session.execute(update(model).where(column == duplicate.id)
                               .values({column.key: into.id})
                               .execution_options(synchronize_session="fetch"))
    audit.record("institute.merged", into, actor=by, merged=duplicate.name,
                 merged_id=duplicate.id, country=duplicate.country_code, moved=counts,
                 ror_id=into.ror_id)
    db.session.delete(duplicate)
    db.session.flush()
    db.session.expire_all()
    return counts


def _merge_partner_rows(duplicate: Institute, into: Institute) -> None:
    rows = db.session.scalars(select(ProposalInstitute).where(
        ProposalInstitute.institute_id.in_([duplicate.id, into.id]))).all()
    by_proposal: dict[int, dict[int, ProposalInstitute]] = {}
    for row in rows:
        by_proposal.setdefault(row.proposal_id, {})[row.institute_id] = row
    for pair in by_proposal.values():
        dup_row, kept = pair.get(duplicate.id), pair.get(into.id)
        if dup_row is None:
            continue
        if kept is None:
            dup_row.institute_id = into.id
            dup_row.institute = into
            continue
        lead = dup_row.is_lead or kept.is_lead
        foreign = dup_row.foreign_collaborator and kept.foreign_collaborator
        db.session.delete(dup_row)
        db.session.flush()  # the lead's index and (proposal, institute) stay unique
        kept.is_lead, kept.foreign_collaborator = lead, foreign and not lead
    db.session.flush()
