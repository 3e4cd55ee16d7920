"""Screening and host-government concurrence: what happens between submission and review.

- Sanctions lists: an officer imports the consolidated list as CSV; each import is a new
  version that replaces the active one and keeps the old. Matchers are built from the rows
  and cached per list id in this process (a list never changes once imported, so any worker
  rebuilds the same matcher).
- The screening report of a proposal version: eligibility, sanctions and export-control hits
  for every team member and institute, sensitive topics, effort over-commitment, and the
  duplicate detector's result when it has put one in. Computed on submission (an effect of
  ``submit``), refreshed on demand; clearances carry over to later screenings of the same
  proposal.
- Officer decisions go through `center.proposals.workflow` (one by one or in bulk); the
  guards below keep ``pass_screening`` shut while a blocker stands.
- Concurrence: passing screening asks the government of every participating country;
  a country concurs or objects with a comment; the last consent completes concurrence
  (the `System` fires it), an objection stops the proposal. `apply_deadlines` sends
  reminders and, where the rule says so, counts silence after the deadline as consent.

Every function flushes, never commits; every change is audited against the proposal, so the
proposal's audit trail tells the whole story.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from center.auth.models import User
from center.calls.models import attachment_kind_label
from center.core import audit, clock, identifiers
from center.core.audit import AuditEvent
from center.core.db import db
from center.core.jobs import N_, Job, enqueue, task
from center.core.links import external_url
from center.core.notifications import send_email
from center.proposals import services as proposals
from center.proposals import workflow
from center.proposals.models import (
    PENDING_OR_ACTIVE_STATES,
    Proposal,
    ProposalStatus,
    TaskEffort,
    TeamMember,
)
from center.screening.models import (
    CONSENTS,
    ConcurrenceDecision,
    ConcurrenceRequest,
    SanctionsEntryRow,
    SanctionsHit,
    SanctionsList,
    ScreeningReport,
)
from center.screening.names import (
    SanctionsEntry,
    SanctionsMatcher,
    name_tokens,
    normalize_name,
    score_names,
    skeleton_keys,
)
from center.screening.published_lists import ListFile, UnreadableList, read_list
from center.screening.sanctions_csv import RowError
from center.tenants.models import Membership, Role, Tenant, country_name

S = ProposalStatus

#: Reminders go to the officials this many days before the deadline (one at each).
REMINDER_DAYS_BEFORE = (14, 3)
#: Proposals re-screened when a new sanctions list is imported.
#: A new list is checked against every proposal that is pending or active (a project's people
#: can be listed after its award), not only those waiting for screening.
RESCREEN_STATES = PENDING_OR_ACTIVE_STATES
#: Proposals with hits that a re-screening's result names (the count says how many in all).
RESCREEN_LISTED = 100
#: How many lists' matchers one process keeps built.
MATCHER_CACHE_SIZE = 8
#: Two team entries without e-mails are one scientist from this name score on (stricter
#: than a sanctions hit: a false merge inflates someone's effort).
SAME_PERSON_SCORE = 0.9
#: Largest sanctions file accepted, in bytes.
MAX_LIST_BYTES = 50 * 1024 * 1024


class ScreeningError(Exception):
    """An action that cannot be taken; the message is for the user."""


class StaleAction(ScreeningError):
    """Someone acted on the same thing since the page was loaded."""


class ImportRejected(ScreeningError):
    """The sanctions file cannot be imported; ``errors`` name the lines."""

    def __init__(self, message: str, errors: list[RowError]) -> None:
        super().__init__(message)
        self.errors = errors


# --- sanctions lists ---------------------------------------------------------------------

def active_list() -> SanctionsList | None:
    """Return the tenant's sanctions list in force, if one was imported."""
    return db.session.scalar(select(SanctionsList).where(SanctionsList.is_active.is_(True)))


def import_sanctions_list(*, filename: str = "", data: bytes = b"", label: str, by: User | None,
                          skip_bad_rows: bool = False,
                          files: list[ListFile] | None = None) -> SanctionsList:
    """Import a consolidated list as the new active version: the portal's CSV or a list as
    its publisher publishes it (`center.screening.published_lists`: UN XML, OFAC's SDN
    files, the EU's CSV, OpenSanctions' CSV), given as ``files`` or as one ``filename`` and
    its ``data``; ``by`` is None for the scheduled refresh (`center.screening.list_sources`).

    Effects: a `SanctionsList` with its entries; the previous active list marked replaced
    (kept, with the hits found against it); an audit event. A file with unreadable rows is
    refused with every error by line, unless ``skip_bad_rows`` says to import the rest.
    """
    files = files if files is not None else [ListFile(filename, data)]
    filename = ", ".join(f.name for f in files)[:255] or "list"
    data = b"".join(f.data for f in files)
    if len(data) > MAX_LIST_BYTES:
        raise ImportRejected(_("The file is larger than %(mb)d MB.",
                               mb=MAX_LIST_BYTES // 1048576), [])
    try:
        list_format, entries, errors = read_list(files)
    except UnreadableList as exc:
        raise ImportRejected(str(exc), []) from None
    if not entries:
        raise ImportRejected(_("No entries could be read from the file."), errors)
    if errors and not skip_bad_rows:
        raise ImportRejected(ngettext(
            "%(num)d line of the file cannot be read. Correct it, or import the other rows "
            "and leave it out.",
            "%(num)d lines of the file cannot be read. Correct them, or import the other "
            "rows and leave these out.", len(errors)),
                             errors)
    now = clock.now()
    previous = active_list()
    if previous is not None:
        previous.is_active = False
        previous.replaced_at = now
    number = (db.session.scalar(select(func.max(SanctionsList.number))) or 0) + 1
    new = SanctionsList(number=number, label=label.strip() or filename, filename=filename,
                        sha256=hashlib.sha256(data).hexdigest(), entry_count=len(entries),
                        skipped_rows=len({e.line for e in errors}), is_active=True,
                        imported_at=now, imported_by_id=by.id if by is not None else None)
    new.entries = [SanctionsEntryRow(line=int(e.id), name=e.name, aliases=e.aliases,
                                     country=e.country, kind=e.type, list_name=e.list_name,
                                     reference=e.reference) for e in entries]
    db.session.add(new)
    db.session.flush()
    audit.record("sanctions.list_imported", new, actor=by, number=number, label=new.label,
                 filename=filename, format=list_format, sha256=new.sha256,
                 entries=len(entries),
                 skipped_rows=new.skipped_rows,
                 replaced=previous.number if previous is not None else None)
    return new


_MATCHERS: OrderedDict[tuple[int, str, str], SanctionsMatcher] = OrderedDict()


def matcher_for(sanctions_list: SanctionsList) -> SanctionsMatcher:
    """Return the matcher of a list, built from its rows once per process.

    Keyed by id, file hash and import time, so that a database rebuilt with the same ids
    (tests, a restored backup) never meets a matcher of another list.
    """
    key = (sanctions_list.id, sanctions_list.sha256, sanctions_list.imported_at.isoformat())
    matcher = _MATCHERS.get(key)
    if matcher is None:
        rows = db.session.execute(
            select(SanctionsEntryRow.id, SanctionsEntryRow.name, SanctionsEntryRow.aliases,
                   SanctionsEntryRow.country, SanctionsEntryRow.kind,
                   SanctionsEntryRow.list_name, SanctionsEntryRow.reference)
            .where(SanctionsEntryRow.list_id == sanctions_list.id)
            .order_by(SanctionsEntryRow.id)).all()
        matcher = SanctionsMatcher(SanctionsEntry(
            id=str(r.id), name=r.name, aliases=list(r.aliases or []), country=r.country,
            type=r.kind, list_name=r.list_name, reference=r.reference) for r in rows)
        _MATCHERS[key] = matcher
        while len(_MATCHERS) > MATCHER_CACHE_SIZE:
            _MATCHERS.popitem(last=False)
    else:
        _MATCHERS.move_to_end(key)
    return matcher


# --- the screening report ----------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """A name screened against the sanctions list."""

    kind: str  #: person or entity
    name: str
    detail: str
    country: str | None


def subjects(proposal: Proposal) -> list[Subject]:
    """Every team member and institute of the proposal, institutes under each of their names."""
    found: list[Subject] = []
    for member in proposal.team:
        found.append(Subject("person", member.name,
                             f"{member.role.replace('_', ' ')}, {member.institute.name}",
                             member.citizenship))
    for partner in proposal.partners:
        institute = partner.institute
        for name in dict.fromkeys(n for n in (institute.name, institute.local_name) if n):
            found.append(Subject("entity", name, institute.country_code, institute.country_code))
    return found


def eligibility_checks(proposal: Proposal) -> list[dict[str, Any]]:
    """Check the call's rules against the submitted proposal; each check says ok or not."""
    call = proposal.call
    submitted = proposal.submitted_at
    checks = []

    def add(code: str, ok: bool, **data: Any) -> None:
        checks.append({"code": code, "ok": bool(ok), **data})

    add("call_open", submitted is not None and call.opens_at <= submitted < call.closes_at,
        submitted_at=submitted.isoformat() if submitted else None,
        closes_at=call.closes_at.isoformat())
    outside = sorted(set(proposal.partner_countries) - set(call.eligible_countries))
    add("countries", bool(proposal.partners) and not outside, outside=outside)
    add("budget", proposal.total_budget <= call.budget_ceiling, total=proposal.total_budget,
        ceiling=call.budget_ceiling)
    add("duration", proposal.duration_months is not None
        and 1 <= proposal.duration_months <= call.max_duration_months,
        months=proposal.duration_months, maximum=call.max_duration_months)
    present = {a.kind for a in proposal.attachments}
    add("attachments", set(call.required_attachments) <= present,
        missing=sorted(set(call.required_attachments) - present))
    return checks


def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    words = [w for w in re.split(r"[\s\-_/]+", keyword.strip()) if w]
    if not words:
        return None
    body = r"[\s\-_/]*".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?:s|es)?(?!\w)", re.IGNORECASE)


def sensitive_topics(proposal: Proposal, keywords: list[str]) -> list[dict[str, str]]:
    """Find the tenant's sensitive keywords in the proposal's texts, with where and a snippet."""
    texts = [("title", proposal.title), ("acronym", proposal.acronym),
             ("keywords", proposal.keywords), ("topic", proposal.topic),
             ("abstract", proposal.abstract), ("objectives", proposal.objectives)]
    for t in proposal.tasks:
        texts.append((f"task: {t.title}", f"{t.title}\n{t.description}"))
    places = []
    for keyword in keywords:
        pattern = _keyword_pattern(keyword)
        if pattern is None:
            continue
        for where, text in texts:
            match = pattern.search(text or "")
            if match:
                start, end = max(0, match.start() - 60), min(len(text), match.end() + 60)
                snippet = ("…" if start else "") + " ".join(text[start:end].split()) + (
                    "…" if end < len(text) else "")
                places.append({"term": keyword, "where": where, "snippet": snippet})
    return places


@lru_cache(maxsize=65_536)
def _person_key(name: str) -> str:
    return " ".join(sorted(normalize_name(name).split()))


@lru_cache(maxsize=65_536)
def _name_keys(name: str) -> frozenset[str]:
    return frozenset(key for token in name_tokens(name) for key in skeleton_keys(token))


def _identity_keys(name: str, email: str, orcid: str) -> set[str]:
    """Keys that two entries `same_person` calls one scientist always share: the ORCID iD,
    the e-mail, the whole name's key or one of its words' keys (the blocking of the
    effort check, so that it compares a member with the entries that could be them)."""
    keys = {"n:" + key for key in _name_keys(name)} | {"p:" + _person_key(name)}
    if orcid:
        keys.add("o:" + orcid)
    if email.strip():
        keys.add("e:" + email.strip().lower())
    return keys


def same_person(a_name: str, a_email: str, b_name: str, b_email: str, *, a_orcid: str = "",
                b_orcid: str = "") -> bool:
    """Tell whether two team entries are one scientist: the same ORCID iD when both give
    one (it decides, whatever the names); else the same e-mail, or the same name (in any
    script, word order or transliteration) unless both give different e-mails."""
    by_orcid = identifiers.same_orcid(a_orcid, b_orcid)
    if by_orcid is not None:
        return by_orcid
    a_email, b_email = a_email.strip().lower(), b_email.strip().lower()
    if a_email and b_email:
        return a_email == b_email
    if _person_key(a_name) == _person_key(b_name):
        return True
    return bool(_name_keys(a_name) & _name_keys(b_name)) and score_names(
        a_name, b_name, kind="person") >= SAME_PERSON_SCORE


def _days_per_year(days: int, months: int | None) -> float:
    """Spread a proposal's working days evenly over its duration, as days per year."""
    return days * 12 / (months or 12)


def effort_findings(proposal: Proposal, limit: int) -> dict[str, Any]:
    """Each team member's working days per year across the tenant's pending and active
    proposals (this one included), flagged above ``limit``."""
    mine = proposals.effort_by_member(proposal)
    others = db.session.execute(
        select(TeamMember.name, TeamMember.email, Proposal.id, Proposal.title,
               Proposal.status, Proposal.duration_months, func.sum(TaskEffort.days),
               TeamMember.orcid)
        .join(TaskEffort, TaskEffort.member_id == TeamMember.id)
        .join(Proposal, Proposal.id == TeamMember.proposal_id)
        .where(Proposal.status.in_(PENDING_OR_ACTIVE_STATES), Proposal.id != proposal.id)
        .group_by(TeamMember.id, TeamMember.name, TeamMember.email, Proposal.id,
                  Proposal.title, Proposal.status, Proposal.duration_months,
                  TeamMember.orcid)).all()
    by_key: dict[str, list[int]] = {}
    for n, r in enumerate(others):
        for key in _identity_keys(r[0], r[1], r[7] or ""):
            by_key.setdefault(key, []).append(n)
    people = []
    for member in proposal.team:
        here = _days_per_year(mine.get(member.id, 0), proposal.duration_months)
        maybe = sorted({n for key in _identity_keys(member.name, member.email,
                                                    member.orcid or "")
                        for n in by_key.get(key, ())})
        elsewhere = [{"proposal_id": r[2], "title": r[3], "status": str(r[4]),
                      "days_per_year": round(_days_per_year(r[6], r[5]), 1)}
                     for r in (others[n] for n in maybe)
                     if same_person(member.name, member.email, r[0], r[1],
                                    a_orcid=member.orcid, b_orcid=r[7])]
        total = here + sum(e["days_per_year"] for e in elsewhere)
        people.append({"name": member.name, "days_per_year": round(total, 1),
                       "here": round(here, 1), "elsewhere": elsewhere,
                       "percent": round(100 * total / limit) if limit else 0,
                       "over": total > limit})
    return {"limit": limit, "people": people}


def _hit_key(kind: str, subject: str, entry: SanctionsEntryRow) -> tuple[str, ...]:
    """What makes two hits the same question: the same name against the same listing."""
    return (kind, _person_key(subject), entry.list_name, entry.reference,
            _person_key(entry.name))


def compute_report(proposal: Proposal, *, by: User | None) -> ScreeningReport:
    """Compute (or recompute) the report of the proposal's current version; flush nothing.

    The building block of `screen_proposal` and of the ``submit`` effect (which runs under
    the workflow's no-autoflush, so nothing here may flush). Audits nothing by itself.
    """
    with db.session.no_autoflush:
        return _compute(proposal, by)


def _compute(proposal: Proposal, by: User | None) -> ScreeningReport:
    tenant = db.session.get(Tenant, proposal.tenant_id)
    now = clock.now()
    # The screening job and the duplicate check's record (`record_duplicates`) run on
    # different workers at once after a submission: the proposal's row lock makes the
    # second wait for the first and find its report, instead of adding a second one.
    db.session.execute(select(Proposal.id).where(Proposal.id == proposal.id)
                       .with_for_update())
    report = db.session.scalar(select(ScreeningReport).where(
        ScreeningReport.proposal_id == proposal.id,
        ScreeningReport.version_no == proposal.version_no))
    if report is None:
        report = ScreeningReport(proposal_id=proposal.id, version_no=proposal.version_no,
                                 findings={}, computed_at=now)
        report.proposal = proposal
        db.session.add(report)
    cleared = {}
    previous_hits = db.session.scalars(
        select(SanctionsHit).join(ScreeningReport)
        .where(ScreeningReport.proposal_id == proposal.id, SanctionsHit.cleared_at.is_not(None))
        .order_by(SanctionsHit.cleared_at)).all()
    for hit in previous_hits:
        cleared[_hit_key(hit.subject_kind, hit.subject_name, hit.entry)] = hit

    sanctions_list = active_list()
    screened = subjects(proposal)
    hits: list[SanctionsHit] = []
    if sanctions_list is not None:
        matcher = matcher_for(sanctions_list)
        entries = {}
        for subject in screened:
            for found in matcher.match(subject.name, kind=subject.kind, country=subject.country):
                entry_id = int(found.entry.id)
                if entry_id not in entries:
                    entries[entry_id] = db.session.get(SanctionsEntryRow, entry_id)
                entry = entries[entry_id]
                if any(h.entry_id == entry_id and h.subject_name == subject.name for h in hits):
                    continue
                hit = SanctionsHit(subject_kind=subject.kind, subject_name=subject.name,
                                   subject_detail=subject.detail, entry_id=entry_id,
                                   matched_name=found.matched_name, score=found.score)
                hit.entry = entry
                earlier = cleared.get(_hit_key(subject.kind, subject.name, entry))
                if earlier is not None:
                    hit.cleared_at, hit.cleared_by_id = earlier.cleared_at, earlier.cleared_by_id
                    hit.clear_reason, hit.carried_over = earlier.clear_reason, True
                hits.append(hit)
    report.hits = hits

    places = sensitive_topics(proposal, list(tenant.setting("sensitive_keywords")))
    terms = sorted({p["term"] for p in places}, key=str.casefold)
    if not set(terms) <= set(report.sensitive_terms or []):
        # New sensitive terms need a new look; a review of the same or more terms stands.
        report.sensitive_reviewed_at = None
        report.sensitive_reviewed_by_id = None
        report.sensitive_review_note = ""
    report.sensitive_terms = terms

    findings = {
        "eligibility": eligibility_checks(proposal),
        "sanctions": {
            "list": ({"id": sanctions_list.id, "number": sanctions_list.number,
                      "label": sanctions_list.label} if sanctions_list else None),
            "screened": [{"kind": s.kind, "name": s.name, "detail": s.detail}
                         for s in screened],
        },
        "sensitive": {"places": places},
        "effort": effort_findings(proposal, int(tenant.setting("effort_limit_days_per_year"))),
    }
    if "duplicates" in (report.findings or {}):
        findings["duplicates"] = report.findings["duplicates"]  # the duplicate detector's
    report.findings = findings
    report.sanctions_list_id = sanctions_list.id if sanctions_list else None
    report.computed_at = now
    report.computed_by_id = getattr(by, "id", None)
    return report


def _report_summary(report: ScreeningReport) -> dict[str, Any]:
    return {"version": report.version_no, "hits": len(report.hits),
            "uncleared": len(report.uncleared_hits), "sensitive": report.sensitive_terms,
            "ineligible": [c["code"] for c in report.failed_eligibility],
            "over_committed": [p["name"] for p in report.over_committed],
            "list": report.sanctions_list_id}


def screen_proposal(proposal: Proposal, *, by: User | None,
                    expected_version: int | None = None) -> ScreeningReport:
    """Refresh the screening report of the proposal's current version.

    Effects: the report's findings and hits replaced (clearances of the same name against
    the same listing carried over); the proposal's version bumped so that a decision taken
    on the old report conflicts; an audit event.
    """
    _check_version(proposal, expected_version)
    if proposal.status == S.draft:
        raise ScreeningError(_("A draft is screened once it is submitted."))
    report = compute_report(proposal, by=by)
    workflow.touch(proposal)
    audit.record("screening.refreshed", proposal, actor=by, **_report_summary(report))
    _flush()
    return report


def report_for(proposal: Proposal) -> ScreeningReport | None:
    """The report of the proposal's current version, if one was computed."""
    return db.session.scalar(select(ScreeningReport).where(
        ScreeningReport.proposal_id == proposal.id,
        ScreeningReport.version_no == proposal.version_no))


def record_duplicates(proposal: Proposal, matches: list[dict[str, Any]], *,
                      by: User | None) -> ScreeningReport:
    """Put the duplicate detector's result into the current version's screening report.

    For `center.dedup`: ``matches`` is a list of ``{"title", "score", "method",
    "cross_country", "resolution", "url"}`` (an empty list says "checked, nothing found");
    refreshing the screening keeps it. Creates the report if the version has none yet.
    """
    report = report_for(proposal) or compute_report(proposal, by=by)
    report.findings = {**(report.findings or {}), "duplicates": matches}
    audit.record("screening.duplicates_recorded", proposal, actor=by, matches=len(matches))
    db.session.flush()
    return report


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleAction(_("Someone changed this proposal at the same moment. Reload and "
                            "check.")) from exc


def _check_version(proposal: Proposal, expected_version: int | None) -> None:
    if expected_version is not None and proposal.version != expected_version:
        raise StaleAction(_("The proposal changed since you opened it. Reload and check."))


def clear_hit(hit: SanctionsHit, *, by: User, reason: str,
              expected_version: int | None = None) -> None:
    """Clear a sanctions hit: the officer states why the person or body is not the listed one.

    Effects: the hit cleared with who, when and why; the proposal's version bumped; an audit
    event.
    """
    proposal = hit.report.proposal
    _check_version(proposal, expected_version)
    if not reason.strip():
        raise ScreeningError(_("Say why this is not the listed person or body."))
    if hit.cleared_at is not None:
        raise ScreeningError(_("This hit was already cleared."))
    if proposal.status not in (S.submitted, S.screening):
        raise ScreeningError(_("Hits are cleared while the proposal is being screened."))
    by_id = by.id  # read before assigning: loading it must not flush a half-cleared hit
    hit.clear_reason = reason.strip()
    hit.cleared_by_id = by_id
    hit.cleared_at = clock.now()
    workflow.touch(proposal)
    audit.record("screening.hit_cleared", proposal, actor=by, hit=hit.id,
                 subject=hit.subject_name, listed=hit.entry.name, list=hit.entry.list_name,
                 reference=hit.entry.reference, score=hit.score, reason=hit.clear_reason)
    _flush()


def review_sensitive(report: ScreeningReport, *, by: User, note: str,
                     expected_version: int | None = None) -> None:
    """Record the security review of a proposal flagged for sensitive topics."""
    proposal = report.proposal
    _check_version(proposal, expected_version)
    if not report.sensitive_terms:
        raise ScreeningError(_("Nothing in this proposal was flagged as sensitive."))
    if not note.strip():
        raise ScreeningError(_("Write what the security review found."))
    if report.sensitive_reviewed_at is not None:
        raise ScreeningError(_("The security review is already recorded."))
    by_id = by.id
    report.sensitive_review_note = note.strip()
    report.sensitive_reviewed_by_id = by_id
    report.sensitive_reviewed_at = clock.now()
    workflow.touch(proposal)
    audit.record("screening.sensitive_reviewed", proposal, actor=by,
                 terms=report.sensitive_terms, note=report.sensitive_review_note)
    _flush()


def pass_problems(proposal: Proposal) -> list[str]:
    """Why the proposal cannot pass screening now (empty when it can)."""
    report = report_for(proposal)
    if report is None:
        return [_("Version %(n)d has not been screened yet: refresh the screening.",
                  n=proposal.version_no)]
    problems = []
    current = active_list()
    if current is None:
        problems.append(_("No sanctions list is imported, so no name was screened. Import "
                          "the list, then refresh the screening."))
    elif report.sanctions_list_id != current.id:
        problems.append(_("The screening used an earlier sanctions list: refresh it."))
    if report.uncleared_hits:
        problems.append(ngettext("%(num)d sanctions hit waits for an officer to clear it.",
                                 "%(num)d sanctions hits wait for an officer to clear them.",
                                 len(report.uncleared_hits)))
    if report.sensitive_terms and report.sensitive_reviewed_at is None:
        problems.append(_("The sensitive topics (%(terms)s) need a security review.",
                          terms=", ".join(report.sensitive_terms)))
    for check in report.failed_eligibility:
        problems.append(describe_check(check))
    for person in report.over_committed:
        problems.append(_(
            "%(name)s would work %(days)s days a year across the center's proposals, above "
            "the limit of %(limit)d: request changes to the effort.", name=person["name"],
            days=format_decimal(person["days_per_year"]),
            limit=report.findings["effort"]["limit"]))
    for partner in proposal.partners:  # live: an officer may confirm it after the report
        if not partner.institute.verified:
            problems.append(_(
                "%(name)s was proposed by the applicant and is not confirmed: confirm it, or "
                "merge it into the institute it duplicates, under “Institutes to confirm”.",
                name=partner.institute.name))
    return problems


def describe_check(check: dict[str, Any]) -> str:
    """Say in words what an eligibility check found."""
    code, ok = check["code"], check["ok"]
    if code == "call_open":
        return (_("Submitted while the call was open.") if ok else
                _("Submitted outside the call's opening times."))
    if code == "countries":
        return (_("Every institute is in a country the call funds.") if ok else
                _("Institutes in countries the call does not fund: %(codes)s.",
                  codes=", ".join(country_name(c) for c in check["outside"]) or "—"))
    if code == "budget":
        return (_("The budget is within the call's ceiling.") if ok else
                _("The budget is above the call's ceiling."))
    if code == "duration":
        return (_("The duration is within the call's maximum of %(n)d months.",
                  n=check["maximum"]) if ok else
                _("The duration is outside 1 to %(n)d months.", n=check["maximum"]))
    if code == "attachments":
        return (_("Every required attachment is there.") if ok else
                _("Required attachments missing: %(kinds)s.",
                  kinds=", ".join(attachment_kind_label(k) for k in check["missing"])))
    raise ValueError(f"Invalid eligibility check: {code!r}")


# --- changes between versions ------------------------------------------------------------

@dataclass
class Change:
    """One part of a proposal that differs between two versions."""

    part: str
    #: For text: [(op, words)] with op "same", "removed" or "added".
    words: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


def _item_text(item: Any) -> str:
    if isinstance(item, dict):
        return "; ".join(f"{k}: {_item_text(v)}" for k, v in item.items())
    if isinstance(item, list):
        return ", ".join(_item_text(v) for v in item)
    return "—" if item is None or item == "" else str(item)


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            ops.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            ops.append(("added", " ".join(b[j1:j2])))
    return ops


def version_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Say what changed between two snapshots: texts word by word, lists item by item."""
    changes = []
    for part in proposals.diff_versions(old, new):
        before, after = old.get(part), new.get(part)
        if isinstance(after, list) or isinstance(before, list):
            old_items = [_item_text(i) for i in before or []]
            new_items = [_item_text(i) for i in after or []]
            changes.append(Change(part, removed=[i for i in old_items if i not in new_items],
                                  added=[i for i in new_items if i not in old_items]))
        elif isinstance(after, dict) or isinstance(before, dict):
            before, after = before or {}, after or {}
            keys = [k for k in after if before.get(k) != after.get(k)]
            changes.append(Change(part, removed=[f"{k}: {_item_text(before.get(k))}"
                                                 for k in keys],
                                  added=[f"{k}: {_item_text(after.get(k))}" for k in keys]))
        else:
            changes.append(Change(part, words=_word_diff(_item_text(before),
                                                         _item_text(after))))
    return changes


# --- officer decisions, one or in bulk ----------------------------------------------------

#: Screening decisions an officer takes, by workflow transition.
DECISIONS = ("start_screening", "pass_screening", "request_changes", "declare_ineligible")


@dataclass
class PlannedChange:
    """What a bulk decision would do to one proposal, and why it could not."""

    proposal: Proposal
    version: int
    target: ProposalStatus
    problems: list[str]


def plan_decision(chosen: list[Proposal], action: str, *, by: User, roles: frozenset[Role],
                  reason: str) -> list[PlannedChange]:
    """Say what deciding ``action`` on each proposal would change; change nothing."""
    if action not in DECISIONS:
        raise ScreeningError(_("Choose what to do with the proposals."))
    target = workflow.TRANSITIONS[action].target
    return [PlannedChange(p, p.version, target,
                          workflow.check(p, action, by=by, roles=roles, reason=reason))
            for p in chosen]


def decide_in_bulk(chosen: list[tuple[Proposal, int]], action: str, *, by: User,
                   roles: frozenset[Role], reason: str) -> int:
    """Fire ``action`` on every proposal from the version the officer confirmed, or on none.

    Raises `workflow.TransitionError` naming the first proposal that could not; the caller
    rolls back, so nothing of the batch is kept.
    """
    if action not in DECISIONS:
        raise ScreeningError(_("Choose what to do with the proposals."))
    for proposal, version in chosen:
        try:
            workflow.fire(proposal, action, by=by, roles=roles, expected_version=version,
                          reason=reason, bulk=True)
        except workflow.GuardFailed as exc:
            raise workflow.GuardFailed([f"{proposal.title}: {p}" for p in exc.problems]) from exc
        except workflow.TransitionError as exc:
            raise type(exc)(f"{proposal.title}: {exc}") from exc
    return len(chosen)


def in_screening(call_id: int) -> list[Proposal]:
    """The call's proposals waiting for a screening decision, oldest submission first."""
    return list(db.session.scalars(
        select(Proposal).where(Proposal.call_id == call_id,
                               Proposal.status.in_((S.submitted, S.screening)))
        .order_by(Proposal.submitted_at, Proposal.id)))


def queue(status: str | None = None) -> Any:
    """The query of proposals in screening and concurrence, for the officers' list."""
    wanted = (S.submitted, S.screening, S.concurrence)
    query = select(Proposal).where(Proposal.status.in_(
        (status,) if status in wanted else wanted))
    return query.order_by(Proposal.submitted_at, Proposal.id)


def reports_for(proposal_ids: list[int]) -> dict[int, ScreeningReport]:
    """The current version's report of each proposal, by proposal id."""
    if not proposal_ids:
        return {}
    reports = db.session.scalars(
        select(ScreeningReport).join(Proposal, Proposal.id == ScreeningReport.proposal_id)
        .where(ScreeningReport.proposal_id.in_(proposal_ids),
               ScreeningReport.version_no == Proposal.version_no)
        .options(selectinload(ScreeningReport.hits))).all()
    return {r.proposal_id: r for r in reports}


# --- concurrence -------------------------------------------------------------------------

def requests_of(proposal: Proposal) -> list[ConcurrenceRequest]:
    """The concurrence requests of the proposal's current version, by country."""
    return list(db.session.scalars(
        select(ConcurrenceRequest).where(ConcurrenceRequest.proposal_id == proposal.id,
                                         ConcurrenceRequest.version_no == proposal.version_no)
        .order_by(ConcurrenceRequest.country_code)))


def open_requests_for(country_code: str) -> list[ConcurrenceRequest]:
    """Requests an official of ``country_code`` still has to answer, nearest deadline first."""
    return list(db.session.scalars(
        select(ConcurrenceRequest).join(Proposal, Proposal.id == ConcurrenceRequest.proposal_id)
        .where(ConcurrenceRequest.country_code == country_code,
               ConcurrenceRequest.decision.is_(None), Proposal.status == S.concurrence,
               ConcurrenceRequest.version_no == Proposal.version_no)
        .order_by(ConcurrenceRequest.deadline_at, ConcurrenceRequest.id)))


def requests_for_country(country_code: str) -> Any:
    """The query of every request put to ``country_code``, newest first (for paging)."""
    return (select(ConcurrenceRequest)
            .where(ConcurrenceRequest.country_code == country_code)
            .order_by(ConcurrenceRequest.requested_at.desc(), ConcurrenceRequest.id.desc()))


def _members(role: Role, **where: Any) -> list[User]:
    """The tenant's users holding ``role``. The query starts from the tenant-owned
    memberships: the tenant filter applies to the entities a query selects, not to the
    ones it only joins."""
    memberships = db.session.scalars(
        select(Membership).filter_by(role=role, **where).options(joinedload(Membership.user))
        .order_by(Membership.user_id)).all()
    return [m.user for m in memberships]


def officials(country_code: str) -> list[User]:
    """The tenant's concurrence officials for a country."""
    return _members(Role.concurrence, country_code=country_code)


def _officers() -> list[User]:
    return _members(Role.officer)


def _applicants(proposal: Proposal) -> list[str]:
    emails = {proposal.owner.email} | {c.email for c in proposal.collaborators if c.accepted_at}
    return sorted(emails)


def _tenant(proposal: Proposal) -> Tenant:
    return db.session.get(Tenant, proposal.tenant_id)


def _zone(proposal: Proposal) -> ZoneInfo:
    """The center's zone: e-mails are dated in it."""
    return ZoneInfo(_tenant(proposal).timezone or "UTC")


def request_concurrence(proposal: Proposal, *, by: workflow.Actor) -> list[ConcurrenceRequest]:
    """Ask the government of every participating country; e-mail its officials.

    The deadline and whether silence will count as consent are the tenant's settings now;
    they are kept on each request, so a later change of settings does not move them.
    """
    tenant = _tenant(proposal)
    now = clock.now()
    deadline = now + dt.timedelta(days=int(tenant.setting("concurrence_deadline_days")))
    silent = bool(tenant.setting("negative_concurrence"))
    existing = {r.country_code for r in requests_of(proposal)}
    made = []
    for code in proposal.partner_countries:  # foreign collaborators' governments are not asked
        if code in existing:
            continue
        request = ConcurrenceRequest(proposal_id=proposal.id, country_code=code,
                                     version_no=proposal.version_no, requested_at=now,
                                     deadline_at=deadline, silence_is_consent=silent)
        request.proposal = proposal
        db.session.add(request)
        made.append(request)
    return made


def _notify_officials(proposal: Proposal, requests: list[ConcurrenceRequest],
                      template: str, subject: str) -> None:
    """E-mail each request's officials, linking to their list of requests (the request's
    own page may not have an id yet inside a transition)."""
    tenant = _tenant(proposal)
    url = external_url("screening.concurrence_index", tenant=tenant.slug)
    for request in requests:
        for official in officials(request.country_code):
            send_email(official.email, subject, template, tenant_id=tenant.id,
                       proposal=proposal, request=request, tenant=tenant, url=url,
                       official=official)


def _decidable(request: ConcurrenceRequest, by: User, expected_version: int | None) -> None:
    if expected_version is not None and request.version != expected_version:
        raise StaleAction(_("This request changed since you opened it. Reload and check."))
    if request.decision is not None:
        raise ScreeningError(_("%(country)s has already answered.",
                               country=request.country_name))
    if request.proposal.status != S.concurrence:
        raise ScreeningError(_("The proposal no longer waits for concurrence."))
    if request.version_no != request.proposal.version_no:
        raise ScreeningError(_("This request was about an earlier version."))
    if request.country_code not in official_countries(by):
        raise ScreeningError(_("Only an official of %(country)s answers this request.",
                               country=request.country_name))


def official_countries(user: User) -> set[str]:
    """The countries ``user`` answers for in the current tenant."""
    return set(db.session.scalars(
        select(Membership.country_code).where(Membership.user_id == user.id,
                                              Membership.role == Role.concurrence)))


SYSTEM_ALL_CONCURRED = workflow.System("all countries concurred")
SYSTEM_DEADLINE = workflow.System("concurrence deadline passed")


def _complete_if_due(proposal: Proposal, actor: workflow.System) -> bool:
    """Fire ``complete_concurrence`` when every country consents; say whether it did."""
    if workflow.check(proposal, "complete_concurrence", by=actor, roles=frozenset()):
        return False
    workflow.fire(proposal, "complete_concurrence", by=actor, roles=frozenset())
    return True


def concur(request: ConcurrenceRequest, *, by: User, comment: str,
           expected_version: int | None = None) -> bool:
    """Record that the official's government concurs; return whether concurrence is complete.

    Effects: the request decided; an audit event; the proposal's version bumped, so that two
    countries answering at the same moment cannot both miss being last; when every country
    now consents, ``complete_concurrence`` fired by the system.
    """
    _decidable(request, by, expected_version)
    proposal, by_id = request.proposal, by.id
    request.decision = ConcurrenceDecision.concurred
    request.comment = comment.strip()
    request.decided_at = clock.now()
    request.decided_by_id = by_id
    workflow.touch(proposal)
    audit.record("concurrence.concurred", proposal, actor=by, country=request.country_code,
                 comment=request.comment or None, request=request.id)
    _flush()
    return _complete_if_due(proposal, SYSTEM_ALL_CONCURRED)


def object_to(request: ConcurrenceRequest, *, by: User, comment: str,
              expected_version: int | None = None) -> None:
    """Record the government's objection: the proposal stops and the applicant hears why."""
    _decidable(request, by, expected_version)
    if not comment.strip():
        raise ScreeningError(_("Give the reason for the objection: the applicant is told."))
    workflow.fire(request.proposal, "object", by=by, roles=frozenset({Role.concurrence}),
                  reason=comment.strip(), request=request)


@dataclass
class DeadlineRun:
    """What one pass over the concurrence deadlines did in one tenant."""

    reminders: int = 0
    silent_consents: int = 0
    completed: int = 0
    overdue_notices: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"reminders": self.reminders, "silent_consents": self.silent_consents,
                "completed": self.completed, "overdue_notices": self.overdue_notices}


def apply_deadlines() -> DeadlineRun:
    """Send due reminders and apply silence-as-consent in the tenant in scope, as of now.

    Before the deadline each official gets a reminder at each of `REMINDER_DAYS_BEFORE`
    days. After it, a request made under negative concurrence counts as consent (and the
    proposal completes concurrence once every country consents); otherwise the officers are
    told once that the country has not answered. Safe to run as often as wanted.
    """
    now = clock.now()
    run = DeadlineRun()
    pending = db.session.scalars(
        select(ConcurrenceRequest).join(Proposal, Proposal.id == ConcurrenceRequest.proposal_id)
        .where(ConcurrenceRequest.decision.is_(None), Proposal.status == S.concurrence,
               ConcurrenceRequest.version_no == Proposal.version_no)
        .order_by(ConcurrenceRequest.deadline_at, ConcurrenceRequest.id)).all()
    consented: dict[int, Proposal] = {}
    for request in pending:
        proposal = request.proposal
        if now >= request.deadline_at:
            if request.silence_is_consent:
                request.decision = ConcurrenceDecision.silent_consent
                request.decided_at = now
                workflow.touch(proposal)
                audit.record("concurrence.silent_consent", proposal, actor=None,
                             system=SYSTEM_DEADLINE.label, country=request.country_code,
                             deadline=request.deadline_at.isoformat(), request=request.id)
                consented[proposal.id] = proposal
                run.silent_consents += 1
            elif request.overdue_notice_at is None:
                request.overdue_notice_at = now
                for officer in _officers():
                    send_email(officer.email, _l("No answer from %(country)s: %(title)s",
                                                 country=request.country_name,
                                                 title=proposal.title),
                               "concurrence_overdue",
                               tenant_id=proposal.tenant_id, proposal=proposal, request=request,
                               tenant=_tenant(proposal),
                               url=external_url("screening.show", tenant=_tenant(proposal).slug,
                                        proposal_id=proposal.id))
                audit.record("concurrence.overdue", proposal, actor=None,
                             system=SYSTEM_DEADLINE.label, country=request.country_code,
                             request=request.id)
                run.overdue_notices += 1
            continue
        due = sum(1 for days in REMINDER_DAYS_BEFORE
                  if now >= request.deadline_at - dt.timedelta(days=days))
        if due > request.reminders_sent:
            request.reminders_sent = due
            request.reminded_at = now
            _notify_officials(proposal, [request], "concurrence_reminder",
                              "Reminder: concurrence requested by "
                              f"{request.deadline_at.astimezone(_zone(proposal)):%Y-%m-%d}"
                              f" — {proposal.title}")
            audit.record("concurrence.reminded", proposal, actor=None,
                         system="concurrence reminder", country=request.country_code,
                         request=request.id, reminder=due)
            run.reminders += 1
    _flush()
    for proposal in consented.values():
        if _complete_if_due(proposal, SYSTEM_DEADLINE):
            run.completed += 1
    return run


@task("screening.concurrence_deadlines", _l("Applying the concurrence deadlines"))
def _deadlines_job(job: Job) -> dict[str, Any]:
    """Run `apply_deadlines` for the job's tenant."""
    job.advance(0, 1, N_("checking deadlines"))
    return apply_deadlines().as_dict()


@task("screening.rescreen", _l("Screening proposals against the new sanctions list"))
def _rescreen_job(job: Job, *, list_id: int) -> dict[str, Any]:
    """Refresh the screening of every pending and active proposal against a new list; the
    result names the proposals with hits to clear, for the sanctions page to list."""
    ids = list(db.session.scalars(select(Proposal.id).where(
        Proposal.status.in_(RESCREEN_STATES)).order_by(Proposal.id)))
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    job.advance(0, len(ids), N_("re-screening"))
    hits, with_hits = 0, []
    for done, proposal_id in enumerate(ids, start=1):
        proposal = db.session.get(Proposal, proposal_id)
        report = screen_proposal(proposal, by=user)
        if report.uncleared_hits:
            hits += len(report.uncleared_hits)
            with_hits.append({"id": proposal.id, "title": proposal.title,
                              "status": str(proposal.status),
                              "hits": len(report.uncleared_hits)})
        job.advance(done, message=N_("re-screening"))
    tenant = db.session.get(Tenant, job.tenant_id)
    return {"proposals": len(ids), "uncleared_hits": hits, "list_id": list_id,
            "with_hits": with_hits[:RESCREEN_LISTED],
            "redirect": current_app.url_map.bind("localhost").build(
                "screening.sanctions", {"tenant": tenant.slug, "job": job.id})}


def start_rescreen(sanctions_list: SanctionsList, *, by: User) -> Job:
    """Queue the re-screening of waiting proposals against ``sanctions_list``."""
    return enqueue("screening.rescreen", by=by, list_id=sanctions_list.id)


# --- the tenant's screening settings -----------------------------------------------------

SETTING_KEYS = ("concurrence_deadline_days", "negative_concurrence",
                "effort_limit_days_per_year", "sensitive_keywords")


def settings_revision(tenant: Tenant) -> str:
    """A fingerprint of the tenant's screening settings, carried by the settings form."""
    values = {key: tenant.setting(key) for key in SETTING_KEYS}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def update_settings(tenant: Tenant, *, by: User, expected_revision: str | None,
                    **values: Any) -> dict[str, Any]:
    """Save the tenant's screening and concurrence settings; return what changed."""
    unknown = set(values) - set(SETTING_KEYS)
    if unknown:
        raise ValueError(f"Invalid screening settings: {sorted(unknown)}")
    if expected_revision is not None and expected_revision != settings_revision(tenant):
        raise StaleAction(_("Someone saved these settings after you opened them. Your input "
                            "is still in the form: check and save again."))
    changed = {key: {"from": tenant.setting(key), "to": value}
               for key, value in values.items() if tenant.setting(key) != value}
    if changed:
        tenant.settings = {**(tenant.settings or {}), **values}
        audit.record("tenant.screening_settings_changed", tenant, actor=by, tenant_id=tenant.id,
                     changes=changed)
        db.session.flush()
    return changed


# --- the audit trail ---------------------------------------------------------------------

def audit_trail(proposal: Proposal) -> Any:
    """The query of every audit event about the proposal, oldest first."""
    return (select(AuditEvent)
            .where(AuditEvent.object_type == "Proposal", AuditEvent.object_id == proposal.id)
            .order_by(AuditEvent.occurred_at, AuditEvent.id))


def actor_names(events: list[AuditEvent]) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


# --- workflow hooks ----------------------------------------------------------------------

SUBMISSION_TASK = "screening.on_submission"


@workflow.effect("submit")
def _screen_on_submission(proposal: Proposal, by: workflow.Actor,
                          context: dict[str, Any]) -> None:
    """Queue the screening of the new version (sanctions, eligibility, keywords) as a job,
    so that the submit button answers at once."""
    enqueue(SUBMISSION_TASK, by=by if isinstance(by, User) else None,
            proposal_id=proposal.id, version_no=proposal.version_no)


@task(SUBMISSION_TASK, _l("Screening the submitted proposal"))
def _screen_submission_job(job: Job, *, proposal_id: int, version_no: int) -> dict[str, Any]:
    """Compute the report of the submitted version, unless it has one already (an earlier
    attempt, or an officer who started screening first) or a newer version replaced it."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.version_no != version_no:
        return {"skipped": "a newer version was submitted"}
    if report_for(proposal) is not None:
        return {"skipped": "already screened"}
    by = db.session.get(User, job.created_by_id) if job.created_by_id else None
    report = compute_report(proposal, by=by)
    audit.record("screening.computed", proposal, actor=by,
                 **_report_summary(report))
    return {"proposal_id": proposal_id, "version_no": version_no}


@workflow.effect("start_screening")
def _ensure_report(proposal: Proposal, by: workflow.Actor, context: dict[str, Any]) -> None:
    """Screen the version if it has no report yet."""
    if report_for(proposal) is None:
        report = compute_report(proposal, by=by if isinstance(by, User) else None)
        audit.record("screening.computed", proposal, actor=by, **_report_summary(report))


@workflow.guard("pass_screening")
def _nothing_blocks(proposal: Proposal, by: workflow.Actor,
                    context: dict[str, Any]) -> list[str]:
    """No uncleared sanctions hit, no unreviewed sensitive topic, eligible, current list."""
    return pass_problems(proposal)


@workflow.effect("pass_screening")
def _ask_governments(proposal: Proposal, by: workflow.Actor, context: dict[str, Any]) -> None:
    """Ask every participating country's government to concur; e-mail officials, applicant."""
    made = request_concurrence(proposal, by=by)
    tenant = _tenant(proposal)
    _notify_officials(proposal, made, "concurrence_request",
                      _l("Concurrence requested: %(title)s", title=proposal.title))
    for email in _applicants(proposal):
        send_email(email, _l("Proposal passed screening: %(title)s", title=proposal.title),
                   "screening_passed",
                   tenant_id=tenant.id, proposal=proposal, requests=made, tenant=tenant)
    audit.record("concurrence.requested", proposal, actor=by,
                 countries=[r.country_code for r in made],
                 deadline=made[0].deadline_at.isoformat() if made else None,
                 silence_is_consent=made[0].silence_is_consent if made else None)


@workflow.effect("request_changes")
def _tell_changes_requested(proposal: Proposal, by: workflow.Actor,
                            context: dict[str, Any]) -> None:
    """E-mail the applicants what to change."""
    for email in _applicants(proposal):
        send_email(email, _l("Changes requested: %(title)s", title=proposal.title),
                   "screening_changes_requested",
                   tenant_id=proposal.tenant_id, proposal=proposal, reason=context["reason"],
                   url=external_url("proposals.show", tenant=_tenant(proposal).slug,
                            proposal_id=proposal.id))


@workflow.effect("declare_ineligible")
def _tell_ineligible(proposal: Proposal, by: workflow.Actor, context: dict[str, Any]) -> None:
    """E-mail the applicants why the proposal is ineligible."""
    for email in _applicants(proposal):
        send_email(email, _l("Proposal not eligible: %(title)s", title=proposal.title),
                   "screening_ineligible",
                   tenant_id=proposal.tenant_id, proposal=proposal, reason=context["reason"])


@workflow.guard("object")
def _objection_by_the_country(proposal: Proposal, by: workflow.Actor,
                              context: dict[str, Any]) -> list[str]:
    """The official answers an open request of their own country."""
    request = context.get("request")
    if not isinstance(request, ConcurrenceRequest) or request.proposal_id != proposal.id:
        return [_("Object through the concurrence request of your country.")]
    if request.decision is not None:
        return [_("%(country)s has already answered.", country=request.country_name)]
    if not isinstance(by, User) or request.country_code not in official_countries(by):
        return [_("Only an official of %(country)s answers this request.",
                  country=request.country_name)]
    return []


@workflow.effect("object")
def _record_objection(proposal: Proposal, by: workflow.Actor, context: dict[str, Any]) -> None:
    """Record the objection on the request; tell the applicants and officers the reason."""
    request: ConcurrenceRequest = context["request"]
    by_id = by.id
    request.decision = ConcurrenceDecision.objected
    request.comment = context["reason"]
    request.decided_at = clock.now()
    request.decided_by_id = by_id
    audit.record("concurrence.objected", proposal, actor=by, country=request.country_code,
                 comment=request.comment, request=request.id)
    for email in _applicants(proposal):
        send_email(email, _l("Government objection: %(title)s", title=proposal.title),
                   "concurrence_objected",
                   tenant_id=proposal.tenant_id, proposal=proposal, request=request)
    for officer in _officers():
        send_email(officer.email, _l("%(country)s objected: %(title)s",
                                     country=request.country_name, title=proposal.title),
                   "concurrence_objected_officer", tenant_id=proposal.tenant_id,
                   proposal=proposal, request=request)


@workflow.guard("complete_concurrence")
def _every_country_consents(proposal: Proposal, by: workflow.Actor,
                            context: dict[str, Any]) -> list[str]:
    """Every participating country concurred, or stayed silent past a deadline where
    silence counts as consent."""
    now = clock.now()
    asked = {r.country_code: r for r in requests_of(proposal)}
    problems = []
    for code in proposal.partner_countries:
        request = asked.get(code)
        if request is None:
            problems.append(_("%(country)s was not asked.", country=code))
        elif not request.consents_at(now):
            problems.append(_("%(country)s has not concurred.", country=request.country_name))
    return problems


@workflow.effect("complete_concurrence")
def _record_completion(proposal: Proposal, by: workflow.Actor, context: dict[str, Any]) -> None:
    """Count silence past the deadline as consent; tell the applicants."""
    now = clock.now()
    for request in requests_of(proposal):
        if request.decision is None and request.consents_at(now):
            request.decision = ConcurrenceDecision.silent_consent
            request.decided_at = now
    for email in _applicants(proposal):
        send_email(email, _l("Government concurrence complete: %(title)s", title=proposal.title),
                   "concurrence_complete", tenant_id=proposal.tenant_id, proposal=proposal)


def decisions_summary(requests: list[ConcurrenceRequest]) -> dict[str, int]:
    """How many countries consented, objected and have yet to answer."""
    return {"consented": sum(1 for r in requests if r.decision in CONSENTS),
            "objected": sum(1 for r in requests if r.decision == ConcurrenceDecision.objected),
            "open": sum(1 for r in requests if r.decision is None)}

