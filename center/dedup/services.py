"""Duplicate-effort checks in the portal: fingerprint, index, match, explain, resolve.

Fingerprints live in the database (`DocumentFingerprint`), and so does the index that finds
candidates (`center.dedup.store`): LSH bands and document frequencies are rows written with
each fingerprint, so every process sees the same index and none rebuilds it. A proposal is
checked after each submission (a job on the ``dedup`` queue, whose worker keeps the vector
index), on demand for a whole call, and funded projects are checked as they are imported.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import delete, select

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock, identifiers, jobs
from center.core.db import current_tenant_id, db, tenant_scope
from center.dedup import store
from center.dedup.engine import DedupIndex, Fingerprint, Match, Settings, fingerprint_many
from center.dedup.explain import explain
from center.dedup.models import (
    CoordinationLink,
    ExternalOverlap,
    FundedProject,
    MatchStatus,
    SimilarityMatch,
)
from center.dedup.store import StoredIndex
from center.dedup.text import detect_language
from center.extensions import current_storage
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


# --- the shared index ---------------------------------------------------------------------

def tenant_index(*, semantic: bool = True) -> StoredIndex:
    """Return the current tenant's index: LSH bands and document frequencies read from the
    database and, with ``semantic``, this process's vector index caught up with the
    fingerprints stored since it last looked (by any worker). Nothing is rebuilt; make one
    per request or job. Pages that only score known pairs pass ``semantic=False`` and so
    load no vector index."""
    tenant_id = current_tenant_id()
    settings = detector_settings()
    vectors = store.vector_index(db.session, tenant_id, settings,
                                 current_app.config["DEDUP_INDEX_DIR"]) if semantic else None
    return StoredIndex(db.session, tenant_id, settings, vectors)


def forget_indexes() -> None:
    """Drop the vector indexes this process loaded (tests, or after settings change)."""
    store.forget_vector_indexes()


def _store_fingerprint(obj: Proposal | FundedProject, text: str) -> Fingerprint:
    """Fingerprint ``obj`` and store it, replacing an older fingerprint of the same document."""
    return _store_fingerprints([(obj, text)])[0]


def _store_fingerprints(documents: list[tuple[Proposal | FundedProject, str]]
                        ) -> list[Fingerprint]:
    """Fingerprint many documents (their passages embedded in one batch) and store them at
    once, replacing older fingerprints of the same documents."""
    if not documents:
        return []
    settings = detector_settings()
    texts = [text for _obj, text in documents]
    fps = fingerprint_many(texts, langs=[detect_language(t) for t in texts], settings=settings)
    store.store_fingerprints(db.session, current_tenant_id(), [
        (_key(obj), fp, {"made_at": clock.now(),
                         "proposal_id": obj.id if isinstance(obj, Proposal) else None,
                         "project_id": obj.id if isinstance(obj, FundedProject) else None})
        for (obj, _text), fp in zip(documents, fps, strict=True)], settings)
    db.session.flush()
    return fps


# --- matching ------------------------------------------------------------------------------

def _same_pi(proposal: Proposal, other: Proposal | FundedProject) -> bool:
    """Whether the two are led by one principal investigator (a re-submission): by their
    ORCID iDs when both proposals' PIs give one, else by name in any script."""
    own = proposal.principal_investigator
    if isinstance(other, Proposal):
        theirs = other.principal_investigator
        by_orcid = identifiers.same_orcid(own.orcid if own else "",
                                          theirs.orcid if theirs else "")
        if by_orcid is not None:
            return by_orcid
        other_pi = theirs.name if theirs else ""
    else:
        other_pi = other.pi_name
    own_pi = own.name if own else ""
    return bool(own_pi and other_pi and score_names(own_pi, other_pi) >= SAME_PERSON_SCORE)


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
    other_country = _lead_country(other) if isinstance(other, Proposal) else other.country_code
    own_country = _lead_country(proposal)
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
    row.same_pi = _same_pi(proposal, other)
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
        raise DedupError(_("Draft proposals are not checked until they are submitted."))
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


@jobs.task("dedup.check_proposal", _l("Checking the proposal for duplicate effort"),
           permanent=(DedupError,), queue=jobs.DEDUP_QUEUE)
def _check_proposal_job(job: jobs.Job, proposal_id: int,
                        redirect: str | None = None) -> dict[str, Any]:
    """Safe to run twice: a check replaces the fingerprint and the open matches."""
    proposal = db.session.get(Proposal, proposal_id)
    matches = check_proposal(proposal, by=db.session.get(User, job.created_by_id))
    db.session.commit()
    return {"matches": len(matches), **({"redirect": redirect} if redirect else {})}


def recheck_proposal(proposal: Proposal, *, by: User) -> jobs.Job:
    """Queue a new check of ``proposal`` (the officer's button); its progress page returns
    to the proposal."""
    tenant = db.session.get(Tenant, proposal.tenant_id)
    return jobs.enqueue("dedup.check_proposal", by=by, proposal_id=proposal.id,
                        redirect=current_app.url_map.bind("localhost").build(
                            "proposals.show", {"tenant": tenant.slug,
                                               "proposal_id": proposal.id}))


@jobs.task("dedup.check_call", _l("Checking the call's proposals for duplicate effort"),
           queue=jobs.DEDUP_QUEUE)
def _check_call_job(job: jobs.Job, call_id: int) -> dict[str, Any]:
    proposals = list(db.session.scalars(select(Proposal).where(
        Proposal.call_id == call_id, Proposal.status.in_(CHECKED_STATES)).order_by(Proposal.id)))
    by = db.session.get(User, job.created_by_id)
    job.advance(0, len(proposals), jobs.N_("proposals checked"))
    flagged = 0
    for done, proposal in enumerate(proposals, 1):
        flagged += bool(check_proposal(proposal, by=by))
        db.session.commit()
        job.advance(done, message=jobs.N_("proposals checked"))
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
        raise DedupError(_("Another officer resolved this match meanwhile. Reload and check."))
    if status == MatchStatus.open:
        raise DedupError(_("Choose cleared, complementary or duplicate."))
    if not comment.strip():
        raise DedupError(_("Explain the decision in a comment."))
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


@dataclass
class Passages:
    """Two texts compared: the score, the methods, the shared passages (boilerplate left
    out) and each text cut into segments with the passages numbered."""

    score: float
    methods: list[str]
    passages: list[Any]
    boilerplate: int
    segments_a: list[tuple[str, int | None]]
    segments_b: list[tuple[str, int | None]]


def shared_passages(text_a: str, text_b: str, *, index: DedupIndex,
                    keys: tuple[str, str] | None = None) -> Passages:
    """Explain two texts against the tenant's index, reusing their stored fingerprints when
    both are indexed under ``keys`` (so the score is the one the check reported)."""
    try:
        if keys is None:
            raise KeyError("not indexed")
        stored = (index.get(keys[0]), index.get(keys[1]))
        result = explain(text_a, text_b, index=index, doc_ids=keys,
                         fingerprints=stored if None not in stored else None)
    except (ValueError, KeyError):  # not indexed, or the text changed since
        result = explain(text_a, text_b, lang_a=detect_language(text_a),
                         lang_b=detect_language(text_b), index=index)
    passages = [p for p in result.passages if not p.boilerplate]
    spans_a = [(p.a_start, p.a_end, i) for i, p in enumerate(passages, 1)]
    spans_b = [(p.b_start, p.b_end, i) for i, p in enumerate(passages, 1)]
    return Passages(result.score, result.methods, passages,
                    len(result.passages) - len(passages), _segments(text_a, spans_a),
                    _segments(text_b, spans_b))


def compare(match: SimilarityMatch) -> dict[str, Any]:
    """The two texts with their shared passages marked, plus the pair's facts."""
    proposal = match.proposal
    other = match.other_proposal or match.project
    text_a = proposal_text(proposal)
    text_b = proposal_text(other) if isinstance(other, Proposal) else project_text(other)
    found = shared_passages(text_a, text_b, index=tenant_index(semantic=False),
                            keys=(_key(proposal), match.other_key))

    return {"a": document_side(proposal, found.segments_a),
            "b": document_side(other, found.segments_b),
            "score": found.score, "methods": found.methods, "passages": found.passages,
            "boilerplate": found.boilerplate}


def document_side(obj: Proposal | FundedProject, segments: list[tuple[str, int | None]]
                  ) -> Side:
    """One side of a comparison: the document's title, country, funders and marked text."""
    if isinstance(obj, Proposal):
        donors = ", ".join(d.donor.short_name for d in obj.call.donors)
        return Side(obj.title, _lead_country(obj), f"{obj.call.title} ({donors})", segments)
    return Side(obj.title, obj.country_code, obj.donor, segments)


# --- funded projects -----------------------------------------------------------------------

PROJECT_COLUMNS = ("reference", "title", "abstract", "lang", "donor", "country",
                   "lead_institute", "pi", "start_year")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    matches: int = 0


#: Task that imports an uploaded CSV of funded projects (see `queue_project_import`).
IMPORT_TASK = "dedup.import_projects"
#: The import job commits and reports its progress every this many rows.
IMPORT_BATCH = 50
#: At most this many row errors are kept in an import job's result (the count is exact).
IMPORT_ERRORS_SHOWN = 200


def _project_reader(csv_text: str) -> tuple[csv.DictReader, list[str]]:
    """A reader over the CSV's rows, and the errors of its header (missing columns)."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    headers = {h.strip().lower() for h in reader.fieldnames or []}
    missing = {"reference", "title", "abstract"} - headers
    if missing:
        return reader, [ngettext("Missing column: %(names)s.", "Missing columns: %(names)s.",
                                 len(missing), names=", ".join(sorted(missing)))]
    return reader, []


def import_projects(csv_text: str, *, by: User | None,
                    progress: Any = None) -> ImportResult:
    """Import funded projects from CSV (see PROJECT_COLUMNS), index and check each one.

    Rows with errors are skipped and reported by line; the others are imported. Each
    project is matched against the tenant's submitted proposals. ``progress(line)``, when
    given, is called every `IMPORT_BATCH` rows (the import job commits there).
    """
    result = ImportResult()
    reader, result.errors = _project_reader(csv_text)
    if result.errors:
        return result
    batch: dict[int, FundedProject] = {}
    for line, raw in enumerate(reader, start=2):
        if progress is not None and line > 2 and (line - 2) % IMPORT_BATCH == 0:
            result.matches += _index_imported(list(batch.values()))
            batch.clear()
            progress(line - 2)
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("reference") or not row.get("title") or not row.get("abstract"):
            result.errors.append(_("Line %(line)d: reference, title and abstract are required.",
                                    line=line))
            continue
        year = row.get("start_year") or ""
        if year and not year.isdigit():
            result.errors.append(_("Line %(line)d: start_year must be a year, not “%(year)s”.",
                                    line=line, year=year))
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
        batch[project.id] = project
    result.matches += _index_imported(list(batch.values()))
    audit.record("dedup.projects_imported", None, actor=by, tenant_id=current_tenant_id(),
                 created=result.created, updated=result.updated, errors=len(result.errors))
    db.session.flush()
    return result


def _index_imported(projects: list[FundedProject]) -> int:
    """Store the fingerprints of a batch of imported projects at once, then match each with
    the submitted proposals; return how many matches were recorded."""
    _store_fingerprints([(project, project_text(project)) for project in projects])
    return sum(len(_match_project(project)) for project in projects)


def queue_project_import(csv_text: str, *, by: User) -> jobs.Job | list[str]:
    """Queue the import of an uploaded CSV of funded projects: its header is checked at
    once (the errors are returned, nothing is queued); the rows, which can take minutes to
    index and match, are imported by a job. The file waits in storage for the job."""
    reader, errors = _project_reader(csv_text)
    if errors:
        return errors
    rows = sum(1 for _ in reader)
    key = f"imports/{current_tenant_id()}/{uuid.uuid4().hex}.csv"
    current_storage().put(key, csv_text.encode("utf-8"), "text/csv")
    audit.record("dedup.projects_import_requested", None, actor=by,
                 tenant_id=current_tenant_id(), rows=rows)
    return jobs.enqueue(IMPORT_TASK, by=by, key=key, rows=rows)


@jobs.task(IMPORT_TASK, _l("Importing funded projects"), queue=jobs.DEDUP_QUEUE)
def _import_projects_job(job: jobs.Job, key: str, rows: int) -> dict[str, Any]:
    """Import the stored CSV; the rows done so far are committed as it goes, so a retry
    after a crash updates them again (the reference is the key) and creates no copy."""
    storage = current_storage()
    csv_text = storage.get(key).decode("utf-8")
    by = db.session.get(User, job.created_by_id) if job.created_by_id else None
    message = jobs.N_("rows imported")
    job.advance(0, rows, message)
    result = import_projects(csv_text, by=by,
                             progress=lambda done: job.advance(done, message=message))
    job.advance(rows, message=message)
    storage.delete(key)
    tenant = db.session.get(Tenant, job.tenant_id)
    return {"created": result.created, "updated": result.updated, "matches": result.matches,
            "error_count": len(result.errors), "errors": result.errors[:IMPORT_ERRORS_SHOWN],
            "redirect": current_app.url_map.bind("localhost").build(
                "dedup.projects", {"tenant": tenant.slug, "job": job.id})}


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
