"""Duplicate-effort checks in the portal: fingerprint, index, match, explain, resolve.

Fingerprints live in the database (`DocumentFingerprint`); each process keeps an index per
tenant built from them and brings it up to date before every check, so any number of
workers agree. A proposal is checked after each submission (a background job), on demand
for a whole call, and funded projects are checked as they are imported.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import delete, select

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock, jobs
from center.core.db import current_tenant_id, db, tenant_scope
from center.dedup.engine import DedupIndex, Fingerprint, Match, Settings, fingerprint
from center.dedup.explain import explain
from center.dedup.models import (
    CoordinationLink,
    DocumentFingerprint,
    ExternalOverlap,
    FundedProject,
    MatchStatus,
    SimilarityMatch,
)
from center.dedup.text import detect_language
from center.proposals import workflow
from center.proposals.models import Proposal, ProposalStatus
from center.screening import services as screening
from center.screening.names import score_names
from center.tenants.models import Membership, Role, Tenant

#: Two principal investigators' names at least this similar are the same person.
SAME_PERSON_SCORE = 0.85


class DedupError(Exception):
    """A duplicate-effort action that cannot be done; the message is for the user."""


def detector_settings() -> Settings:
    """Return the detector's settings: one set for every tenant (DEDUP_EMBEDDINGS switch)."""
    return Settings(use_embeddings=current_app.config["DEDUP_EMBEDDINGS"] != "off")


def proposal_text(proposal: Proposal) -> str:
    """The text of a proposal that is compared: abstract, objectives and tasks.

    Titles are left out: a project's next phase often keeps the title of the last.
    """
    parts = [proposal.abstract, proposal.objectives]
    parts += [f"{t.title}. {t.description}" for t in proposal.tasks]
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def project_text(project: FundedProject) -> str:
    return project.abstract.strip()


def _key(obj: Proposal | FundedProject) -> str:
    return f"p:{obj.id}" if isinstance(obj, Proposal) else f"f:{obj.id}"


# --- the per-process index, kept in step with the database --------------------------------

@dataclass
class _CachedIndex:
    index: DedupIndex
    #: Stored row id -> (doc_key, made_at) of every fingerprint in the index.
    rows: dict[int, tuple[str, Any]] = field(default_factory=dict)


_cache: dict[int, _CachedIndex] = {}
_cache_lock = threading.Lock()


def tenant_index() -> DedupIndex:
    """Return the current tenant's index, updated from stored fingerprints added or removed
    since this process last looked (by any worker)."""
    tenant_id = current_tenant_id()
    stored = {row_id: (key, made) for row_id, key, made in db.session.execute(
        select(DocumentFingerprint.id, DocumentFingerprint.doc_key, DocumentFingerprint.made_at))}
    with _cache_lock:
        cached = _cache.get(tenant_id)
        if cached is None:
            cached = _cache[tenant_id] = _CachedIndex(DedupIndex(detector_settings()))
        live_keys = {key for key, _made in stored.values()}
        for row_id, identity in list(cached.rows.items()):
            if stored.get(row_id) != identity:
                del cached.rows[row_id]
                if identity[0] not in live_keys:
                    cached.index.remove(identity[0])
        new_ids = [row_id for row_id in stored if row_id not in cached.rows]
        if new_ids:
            for row in db.session.scalars(select(DocumentFingerprint).where(
                    DocumentFingerprint.id.in_(new_ids)).order_by(DocumentFingerprint.id)):
                cached.index.add(row.doc_key, Fingerprint.from_bytes(row.blob))
                cached.rows[row.id] = (row.doc_key, row.made_at)
        return cached.index


def forget_indexes() -> None:
    """Drop every cached index (tests, or after settings change)."""
    with _cache_lock:
        _cache.clear()


def _store_fingerprint(obj: Proposal | FundedProject, text: str) -> Fingerprint:
    """Fingerprint ``obj`` and store it, replacing an older fingerprint of the same document."""
    lang = detect_language(text)
    fp = fingerprint(text, lang=lang, settings=detector_settings())
    key = _key(obj)
    db.session.execute(delete(DocumentFingerprint).where(DocumentFingerprint.doc_key == key))
    db.session.add(DocumentFingerprint(
        doc_key=key, lang=lang, blob=fp.to_bytes(), made_at=clock.now(),
        proposal_id=obj.id if isinstance(obj, Proposal) else None,
        project_id=obj.id if isinstance(obj, FundedProject) else None))
    db.session.flush()
    return fp


# --- matching ------------------------------------------------------------------------------

def _principal_investigator(proposal: Proposal) -> str:
    return next((m.name for m in proposal.team if m.role == "principal_investigator"), "")


def _lead_country(proposal: Proposal) -> str:
    return proposal.lead.institute.country_code if proposal.lead else ""


def _source(key: str) -> Proposal | FundedProject | None:
    kind, _sep, number = key.partition(":")
    model = Proposal if kind == "p" else FundedProject
    return db.session.get(model, int(number))


def _record(proposal: Proposal, other: Proposal | FundedProject, match: Match) -> SimilarityMatch:
    """Create or refresh the match row of a pair, keeping an officer's resolution."""
    key = _key(other)
    row = db.session.scalar(select(SimilarityMatch).where(
        SimilarityMatch.proposal_id == proposal.id, SimilarityMatch.other_key == key))
    if isinstance(other, Proposal):
        other_country, other_pi = _lead_country(other), _principal_investigator(other)
    else:
        other_country, other_pi = other.country_code, other.pi_name
    own_country, own_pi = _lead_country(proposal), _principal_investigator(proposal)
    if row is None:
        row = SimilarityMatch(proposal_id=proposal.id, other_key=key, found_at=clock.now(),
                              other_proposal_id=other.id if isinstance(other, Proposal) else None,
                              project_id=other.id if isinstance(other, FundedProject) else None)
        db.session.add(row)
    row.score = round(match.score, 4)
    row.method = match.method
    row.details = {k: v for k, v in match.details.items()
                   if isinstance(v, str | int | float | bool | list)}
    row.cross_country = bool(own_country and other_country and own_country != other_country)
    row.same_pi = bool(own_pi and other_pi and score_names(own_pi, other_pi) >= SAME_PERSON_SCORE)
    return row


#: A proposal in these states takes part in duplicate checks (drafts are private).
CHECKED_STATES = frozenset(ProposalStatus) - {ProposalStatus.draft}


def check_proposal(proposal: Proposal, *, by: User | None) -> list[SimilarityMatch]:
    """Fingerprint the proposal's current text and record what it overlaps.

    Effects: its stored fingerprint replaced; a match row for every proposal or funded
    project above the flag threshold (open matches no longer found are dropped, resolved
    ones kept); overlaps with linked centers recorded on both sides; an audit event.
    """
    if proposal.status not in CHECKED_STATES:
        raise DedupError("Draft proposals are not checked until they are submitted.")
    fp = _store_fingerprint(proposal, proposal_text(proposal))
    index = tenant_index()
    found = {}
    for match in index.check(_key(proposal)):
        other = _source(match.other_id)
        if other is None or (isinstance(other, Proposal) and other.status not in CHECKED_STATES):
            continue
        found[match.other_id] = _record(proposal, other, match)
    db.session.execute(delete(SimilarityMatch).where(
        SimilarityMatch.proposal_id == proposal.id, SimilarityMatch.status == MatchStatus.open,
        SimilarityMatch.other_key.not_in(list(found) or [""])))
    overlaps = _check_linked_centers(proposal, fp)
    audit.record("dedup.checked", proposal, actor=by, matches=len(found),
                 external=len(overlaps))
    db.session.flush()
    screening.record_duplicates(proposal, [_finding(proposal, m) for m in matches_for(proposal)],
                                by=by)
    return list(found.values())


def _finding(proposal: Proposal, match: SimilarityMatch) -> dict[str, Any]:
    """A match as the screening report keeps it: what the check said at the time."""
    other = match.project or (match.other_proposal if match.proposal_id == proposal.id
                              else match.proposal)
    label = (f"{match.project.reference}: {other.title}" if match.project else other.title)
    return {"match_id": match.id, "title": label, "score": round(match.score, 2),
            "method": match.method, "cross_country": match.cross_country,
            "same_pi": match.same_pi, "resolution": str(match.status)}


@jobs.task("dedup.check_proposal", _l("Checking the proposal for duplicate effort"))
def _check_proposal_job(job: jobs.Job, proposal_id: int) -> dict[str, Any]:
    proposal = db.session.get(Proposal, proposal_id)
    matches = check_proposal(proposal, by=db.session.get(User, job.created_by_id))
    db.session.commit()
    return {"matches": len(matches)}


@jobs.task("dedup.check_call", _l("Checking the call's proposals for duplicate effort"))
def _check_call_job(job: jobs.Job, call_id: int) -> dict[str, Any]:
    proposals = list(db.session.scalars(select(Proposal).where(
        Proposal.call_id == call_id, Proposal.status.in_(CHECKED_STATES)).order_by(Proposal.id)))
    by = db.session.get(User, job.created_by_id)
    job.advance(0, len(proposals), "proposals checked")
    flagged = 0
    for done, proposal in enumerate(proposals, 1):
        flagged += bool(check_proposal(proposal, by=by))
        db.session.commit()
        job.advance(done, message="proposals checked")
    return {"checked": len(proposals), "with_matches": flagged}


def check_call(call: Call, *, by: User) -> jobs.Job:
    """Queue a check of every submitted proposal of ``call``; returns the job to watch."""
    audit.record("dedup.call_check_requested", call, actor=by)
    return jobs.enqueue("dedup.check_call", by=by, call_id=call.id)


@workflow.effect("submit")
def _check_after_submission(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    jobs.enqueue("dedup.check_proposal", by=by, proposal_id=proposal.id)


def matches_for(proposal: Proposal) -> list[SimilarityMatch]:
    """The proposal's matches in either direction, best first."""
    rows = db.session.scalars(select(SimilarityMatch).where(
        (SimilarityMatch.proposal_id == proposal.id)
        | (SimilarityMatch.other_proposal_id == proposal.id)))
    return sorted(rows, key=lambda m: -m.score)


def external_overlaps_for(proposal: Proposal) -> list[ExternalOverlap]:
    return list(db.session.scalars(select(ExternalOverlap).where(
        ExternalOverlap.proposal_id == proposal.id).order_by(ExternalOverlap.score.desc())))


def resolve_match(match: SimilarityMatch, status: MatchStatus, *, comment: str, by: User,
                  expected_version: int) -> None:
    """Record the officer's verdict on a match (cleared, complementary or duplicate)."""
    if match.version != expected_version:
        raise DedupError("Another officer resolved this match meanwhile. Reload and check.")
    if status == MatchStatus.open:
        raise DedupError("Choose cleared, complementary or duplicate.")
    if not comment.strip():
        raise DedupError("Explain the decision in a comment.")
    old = match.status
    match.status, match.comment = status, comment.strip()
    match.resolved_at, match.resolved_by_id = clock.now(), by.id
    audit.record("dedup.match_resolved", match, actor=by, from_state=old, to_state=status,
                 comment=match.comment, proposal=match.proposal_id, other=match.other_key)
    db.session.flush()


# --- explaining a match --------------------------------------------------------------------

@dataclass
class Side:
    title: str
    country: str
    donors: str
    segments: list[tuple[str, int | None]]  #: (text, passage number or None)
    link: str | None = None


def _segments(text: str, spans: list[tuple[int, int, int]]) -> list[tuple[str, int | None]]:
    out, pos = [], 0
    for start, end, number in sorted(spans):
        start = max(start, pos)
        if start >= end:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], number))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def highlighted(segments: list[tuple[str, int | None]]) -> Markup:
    """Render segments as escaped text with <mark> around shared passages."""
    return Markup("").join(
        escape(chunk) if number is None
        else Markup('<mark id="p{0}-{1}" title="passage {1}">{2}</mark>').format(
            id(segments) % 1000, number, chunk)
        for chunk, number in segments)


def compare(match: SimilarityMatch) -> dict[str, Any]:
    """The two texts with their shared passages marked, plus the pair's facts."""
    proposal = match.proposal
    other = match.other_proposal or match.project
    text_a = proposal_text(proposal)
    text_b = proposal_text(other) if isinstance(other, Proposal) else project_text(other)
    index = tenant_index()
    key_a, key_b = _key(proposal), match.other_key
    try:
        stored = (index.get(key_a), index.get(key_b))
        result = explain(text_a, text_b, index=index, doc_ids=(key_a, key_b),
                         fingerprints=stored if None not in stored else None)
    except (ValueError, KeyError):  # the text changed since it was fingerprinted
        result = explain(text_a, text_b, lang_a=detect_language(text_a),
                         lang_b=detect_language(text_b), index=index)
    passages = [p for p in result.passages if not p.boilerplate]
    spans_a = [(p.a_start, p.a_end, i) for i, p in enumerate(passages, 1)]
    spans_b = [(p.b_start, p.b_end, i) for i, p in enumerate(passages, 1)]

    def side(obj: Proposal | FundedProject, text: str, spans: list) -> Side:  # noqa: ANN001
        if isinstance(obj, Proposal):
            donors = ", ".join(d.donor.short_name for d in obj.call.donors)
            return Side(obj.title, _lead_country(obj), f"{obj.call.title} ({donors})",
                        _segments(text, spans))
        return Side(obj.title, obj.country_code, obj.donor, _segments(text, spans))

    return {"a": side(proposal, text_a, spans_a), "b": side(other, text_b, spans_b),
            "score": result.score, "methods": result.methods, "passages": passages,
            "boilerplate": len(result.passages) - len(passages)}


# --- funded projects -----------------------------------------------------------------------

PROJECT_COLUMNS = ("reference", "title", "abstract", "lang", "donor", "country",
                   "lead_institute", "pi", "start_year")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    matches: int = 0


def import_projects(csv_text: str, *, by: User | None) -> ImportResult:
    """Import funded projects from CSV (see PROJECT_COLUMNS), index and check each one.

    Rows with errors are skipped and reported by line; the others are imported. Each
    project is matched against the tenant's submitted proposals.
    """
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    headers = {h.strip().lower() for h in reader.fieldnames or []}
    missing = {"reference", "title", "abstract"} - headers
    if missing:
        result.errors.append(ngettext("Missing column: %(names)s.", "Missing columns: %(names)s.",
                                      len(missing), names=", ".join(sorted(missing))))
        return result
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("reference") or not row.get("title") or not row.get("abstract"):
            result.errors.append(f"Line {line}: reference, title and abstract are required.")
            continue
        year = row.get("start_year") or ""
        if year and not year.isdigit():
            result.errors.append(f"Line {line}: start_year must be a year, not {year!r}.")
            continue
        project = db.session.scalar(select(FundedProject).where(
            FundedProject.reference == row["reference"]))
        if project is None:
            project = FundedProject(reference=row["reference"], imported_at=clock.now())
            db.session.add(project)
            result.created += 1
        else:
            result.updated += 1
        project.title, project.abstract = row["title"], row["abstract"]
        project.lang = row.get("lang") or detect_language(row["abstract"])
        project.donor, project.lead_institute = row.get("donor", ""), row.get(
            "lead_institute", "")
        project.country_code = row.get("country", "").upper()[:2]
        project.pi_name = row.get("pi", "")
        project.start_year = int(year) if year else None
        db.session.flush()
        _store_fingerprint(project, project_text(project))
        result.matches += len(_match_project(project))
    audit.record("dedup.projects_imported", None, actor=by, tenant_id=current_tenant_id(),
                 created=result.created, updated=result.updated, errors=len(result.errors))
    db.session.flush()
    return result


def _match_project(project: FundedProject) -> list[SimilarityMatch]:
    """Record the submitted proposals that re-use this funded project."""
    rows = []
    for match in tenant_index().check(_key(project)):
        other = _source(match.other_id)
        if isinstance(other, Proposal) and other.status in CHECKED_STATES:
            rows.append(_record(other, project, match))
    return rows


# --- coordination between centers (fingerprints only) --------------------------------------

def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def coordination_links(tenant_id: int) -> list[tuple[Tenant, CoordinationLink | None]]:
    """Every other tenant, with the link to it if one was offered."""
    links = {(link.tenant_a_id, link.tenant_b_id): link for link in db.session.scalars(
        select(CoordinationLink).where((CoordinationLink.tenant_a_id == tenant_id)
                                       | (CoordinationLink.tenant_b_id == tenant_id)))}
    others = db.session.scalars(select(Tenant).where(Tenant.id != tenant_id).order_by(Tenant.name))
    return [(t, links.get(_pair(tenant_id, t.id))) for t in others]


def set_coordination(tenant: Tenant, partner: Tenant, *, consent: bool, by: User) -> None:
    """Opt in to (or out of) comparing fingerprints with ``partner``; active once both do."""
    a, b = _pair(tenant.id, partner.id)
    link = db.session.scalar(select(CoordinationLink).where(
        CoordinationLink.tenant_a_id == a, CoordinationLink.tenant_b_id == b))
    if link is None:
        link = CoordinationLink(tenant_a_id=a, tenant_b_id=b)
        db.session.add(link)
    stamp = clock.now() if consent else None
    if tenant.id == a:
        link.a_consented_at = stamp
    else:
        link.b_consented_at = stamp
    audit.record("dedup.coordination_" + ("offered" if consent else "withdrawn"), None,
                 actor=by, tenant_id=tenant.id, partner=partner.slug)
    db.session.flush()


def _active_partners(tenant_id: int) -> list[Tenant]:
    return [t for t, link in coordination_links(tenant_id) if link is not None and link.active]


def _officer_contact(tenant: Tenant) -> str:
    email = db.session.scalar(select(User.email).join(Membership, Membership.user_id == User.id)
                              .where(Membership.tenant_id == tenant.id,
                                     Membership.role == Role.officer).limit(1))
    return email or tenant.contact_email


def _check_linked_centers(proposal: Proposal, fp: Fingerprint) -> list[ExternalOverlap]:
    """Compare the fingerprint with each linked center's proposals; record only metadata.

    Neither side learns the other's text: each learns the score, the call, the date and an
    officer to contact.
    """
    home = db.session.get(Tenant, proposal.tenant_id)
    ours = _public_facts(proposal, home)
    found = []
    for partner in _active_partners(home.id):
        with tenant_scope(partner.id):
            theirs = []
            for match in tenant_index().check(fp):
                other = _source(match.other_id)
                if isinstance(other, Proposal) and other.status in CHECKED_STATES:
                    theirs.append((other, _public_facts(other, partner), match.score))
            for other, _facts, score in theirs:
                _overlap(other, partner, ours, score)
        with tenant_scope(home.id):
            found += [_overlap(proposal, home, facts, score) for _o, facts, score in theirs]
    return found


def _public_facts(proposal: Proposal, tenant: Tenant) -> dict[str, Any]:
    """What a linked center may learn of a proposal: never its text or its people."""
    return {"tenant_id": tenant.id, "key": _key(proposal), "center": tenant.name,
            "call": proposal.call.title, "submitted_at": proposal.submitted_at,
            "contact": _officer_contact(tenant)}


def _overlap(proposal: Proposal, home: Tenant, partner: dict[str, Any],
             score: float) -> ExternalOverlap:
    """Record, in ``home``'s scope, that ``proposal`` overlaps a partner center's proposal."""
    row = db.session.scalar(select(ExternalOverlap).where(
        ExternalOverlap.proposal_id == proposal.id,
        ExternalOverlap.partner_tenant_id == partner["tenant_id"],
        ExternalOverlap.partner_doc_key == partner["key"]))
    if row is None:
        row = ExternalOverlap(proposal_id=proposal.id, partner_tenant_id=partner["tenant_id"],
                              partner_doc_key=partner["key"], tenant_id=home.id)
        db.session.add(row)
    row.partner_center, row.partner_call = partner["center"], partner["call"]
    row.partner_submitted_at, row.partner_contact = partner["submitted_at"], partner["contact"]
    row.score, row.found_at = round(score, 4), clock.now()
    db.session.flush()
    return row
