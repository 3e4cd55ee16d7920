"""Double claims: the same result reported to two projects (or two donors).

`check_reported_text` is called by the reporting module when a report is submitted, with the
report's results and deliverables. The text is fingerprinted with the duplicate-effort
engine (`center.dedup`) and checked against

- the center's proposals and funded projects (the tenant's persistent index, the same one
  proposal checks use), leaving out the project's own proposal, which its reports naturally
  repeat; and
- the results other projects reported before (`ReportedText`, fingerprints kept in the
  database and indexed for the check).

Each pair above the engine's flag threshold becomes an open `DoubleClaim` that the officer
sees with the passages side by side (`compare_claim`, built on `center.dedup.services`'
explanation) and resolves like a proposal match.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.dedup import services as dedup
from center.dedup.engine import DedupIndex, fingerprint
from center.dedup.models import FundedProject, MatchStatus
from center.dedup.text import detect_language
from center.monitoring.models import DoubleClaim, ReportedText
from center.proposals.models import Proposal


class ClaimError(Exception):
    """A double-claim action that cannot be done; the message is for the user."""


def _other_reports_index(proposal: Proposal) -> DedupIndex:
    """An index of the texts every other project reported."""
    rows = db.session.execute(select(ReportedText.id, ReportedText.blob).where(
        ReportedText.proposal_id != proposal.id))
    return DedupIndex.from_fingerprints([(f"t:{i}", blob) for i, blob in rows],
                                        settings=dedup.detector_settings())


def check_reported_text(proposal: Proposal, *, source_key: str, label: str, text: str,
                        by: User | None) -> list[DoubleClaim]:
    """Fingerprint a project's reported results and flag what they duplicate.

    ``source_key`` identifies the text for its caller (``report:17``); checking the same key
    again replaces its text and its open flags (resolved flags are kept). Effects: a
    ReportedText row with the fingerprint; a DoubleClaim per match; an audit event.
    """
    text = text.strip()
    if not text:
        raise ClaimError(_("There is no reported text to check."))
    lang = detect_language(text)
    fp = fingerprint(text, lang=lang, settings=dedup.detector_settings())
    reported = db.session.scalar(select(ReportedText).where(
        ReportedText.source_key == source_key))
    if reported is None:
        reported = ReportedText(proposal_id=proposal.id, source_key=source_key)
        db.session.add(reported)
    elif reported.proposal_id != proposal.id:
        raise ClaimError(_("That report belongs to another project."))
    reported.label, reported.body, reported.lang = label[:200], text, lang
    reported.blob, reported.checked_at = fp.to_bytes(), clock.now()
    db.session.flush()
    found: dict[str, Any] = {}
    own = f"p:{proposal.id}"
    for match in dedup.tenant_index().check(fp, exclude={own}):
        other = _source(str(match.other_id))
        if other is None or (isinstance(other, Proposal)
                             and other.status not in dedup.CHECKED_STATES):
            continue
        found[str(match.other_id)] = match
    for match in _other_reports_index(proposal).check(fp):
        found[str(match.other_id)] = match
    db.session.execute(delete(DoubleClaim).where(
        DoubleClaim.reported_id == reported.id, DoubleClaim.status == MatchStatus.open,
        DoubleClaim.other_key.not_in(list(found) or [""])))
    claims = []
    for key, match in found.items():
        claim = db.session.scalar(select(DoubleClaim).where(
            DoubleClaim.reported_id == reported.id, DoubleClaim.other_key == key))
        if claim is None:
            claim = DoubleClaim(reported_id=reported.id, other_key=key, found_at=clock.now())
            db.session.add(claim)
        claim.score, claim.method = round(match.score, 4), match.method
        claim.details = {k: v for k, v in match.details.items()
                         if isinstance(v, str | int | float | bool | list)}
        claims.append(claim)
    db.session.flush()
    audit.record("claims.checked", reported, actor=by, proposal=proposal.id,
                 source=source_key, matches=len(claims))
    return claims


def _source(key: str) -> Proposal | FundedProject | ReportedText | None:
    kind, _sep, number = key.partition(":")
    model = {"p": Proposal, "f": FundedProject, "t": ReportedText}.get(kind)
    return db.session.get(model, int(number)) if model and number.isdigit() else None


def _text_of(obj: Proposal | FundedProject | ReportedText) -> str:
    if isinstance(obj, Proposal):
        return dedup.proposal_text(obj)
    if isinstance(obj, FundedProject):
        return dedup.project_text(obj)
    return obj.body


def compare_claim(claim: DoubleClaim) -> dict[str, Any]:
    """The reported text and the other text side by side, shared passages marked."""
    reported = claim.reported
    other = _source(claim.other_key)
    if other is None:
        raise ClaimError(_("The other text no longer exists."))
    found = dedup.shared_passages(reported.body, _text_of(other),
                                  index=dedup.tenant_index(semantic=False))
    own = dedup.document_side(reported.proposal, found.segments_a)
    own.title = f"{reported.proposal.title} — {reported.label}"
    if isinstance(other, ReportedText):
        side = dedup.document_side(other.proposal, found.segments_b)
        side.title = f"{other.proposal.title} — {other.label}"
        link_id = other.proposal_id
    else:
        side = dedup.document_side(other, found.segments_b)
        link_id = other.id if isinstance(other, Proposal) else None
    return {"a": own, "b": side, "b_proposal_id": link_id, "score": found.score,
            "methods": found.methods, "passages": found.passages,
            "boilerplate": found.boilerplate}


def resolve_claim(claim: DoubleClaim, status: MatchStatus, *, comment: str, by: User,
                  expected_version: int) -> None:
    """Record the officer's verdict on a double claim (cleared, complementary, duplicate)."""
    if claim.version != expected_version:
        raise ClaimError(_("Another officer resolved this flag meanwhile. Reload and check."))
    if status == MatchStatus.open:
        raise ClaimError(_("Choose cleared, complementary or duplicate."))
    if not comment.strip():
        raise ClaimError(_("Explain the decision in a comment."))
    old = claim.status
    claim.status, claim.comment = status, comment.strip()
    claim.resolved_at, claim.resolved_by_id = clock.now(), by.id
    db.session.flush()
    audit.record("claims.resolved", claim, actor=by, from_state=old, to_state=status,
                 comment=claim.comment, other=claim.other_key)


def claims_of(proposal: Proposal) -> list[DoubleClaim]:
    return list(db.session.scalars(
        select(DoubleClaim).join(ReportedText, ReportedText.id == DoubleClaim.reported_id)
        .where(ReportedText.proposal_id == proposal.id).order_by(DoubleClaim.score.desc())))


def open_claims(limit: int = 100) -> list[DoubleClaim]:
    return list(db.session.scalars(select(DoubleClaim).where(
        DoubleClaim.status == MatchStatus.open).order_by(DoubleClaim.score.desc()).limit(limit)))

