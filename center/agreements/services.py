"""Agreements: clause versions, generating, issuing, acknowledging and countersigning.

A version is generated from the proposal as approved and the tenant's clauses in force: the
services gather plain data (`prepare_agreement`), the pure renderer makes the PDF and the
invitation letters (`center.agreements.pdf`), and `store_agreement` keeps the bytes in
storage with their sha256 as a draft. Issuing freezes the draft and moves the proposal to
``agreement_issued``; the lead institute and every donor with a share acknowledge the exact
PDF (by its hash); the administrator's countersignature moves the proposal to ``active``.

Every function flushes, never commits, and records an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from center.agreements import clauses as clause_lib
from center.agreements import pdf
from center.agreements.models import (
    Acknowledgement,
    Agreement,
    AgreementStatus,
    ClauseTemplate,
    InvitationLetter,
    Party,
)
from center.agreements.permissions import GENERATABLE_STATES, LOADS, may_acknowledge
from center.auth.models import User
from center.core import audit, clock, money
from center.core.db import db
from center.core.jobs import N_, Job, task
from center.core.labels import humanize
from center.core.links import external_url
from center.core.notifications import send_email
from center.extensions import current_storage
from center.proposals import workflow
from center.proposals.models import (
    BUDGET_CATEGORY_LABELS,
    TEAM_ROLE_LABELS,
    BudgetCategory,
    Proposal,
    ProposalStatus,
)
from center.reviews import funded_split
from center.reviews.funding import conflict_checker, conflict_reasons
from center.reviews.models import DonorDelegate
from center.tenants.models import Donor, Membership, Role, Tenant


class AgreementError(Exception):
    """An agreement action that cannot happen now; the message is for the user."""


class StaleClause(AgreementError):
    """Someone saved a newer version of the clause after the form was loaded."""


class FingerprintMismatch(AgreementError):
    """The PDF a party acknowledged is not the one issued (or storage no longer holds it)."""


class NotAParty(AgreementError):
    """The user may not acknowledge for this party."""


# --- clauses -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Clause:
    """The wording of one clause in force: a stored version, or the default (number 0)."""

    key: str
    number: int
    title: str
    body: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        """The code's wording, which the catalogues translate (a saved one is printed as typed)."""
        return self.number == DEFAULT_NUMBER

    def wording(self) -> tuple[str, str]:
        """The title and body as a document in the locale in force prints them."""
        if self.is_default:
            return str(_(self.title)), str(_(self.body))
        return self.title, self.body


#: The number of the code's default wording of a clause; saved versions count from 1.
DEFAULT_NUMBER = 0
#: The number of a wording being previewed before it is saved: printed as typed.
UNSAVED_NUMBER = -1


def default_clause(key: str) -> Clause:
    return Clause(key, DEFAULT_NUMBER, clause_lib.DEFAULT_TITLES[key],
                  clause_lib.DEFAULT_BODIES[key], dict(clause_lib.DEFAULT_SETTINGS.get(key, {})))


def current_clauses() -> dict[str, Clause]:
    """Return the clause in force for every key, in article order, for the tenant in scope."""
    latest = (select(ClauseTemplate.key, func.max(ClauseTemplate.number).label("number"))
              .group_by(ClauseTemplate.key).subquery())
    rows = db.session.scalars(select(ClauseTemplate).join(
        latest, (ClauseTemplate.key == latest.c.key) & (ClauseTemplate.number == latest.c.number)))
    stored = {row.key: row for row in rows}
    result = {}
    for key in clause_lib.CLAUSE_KEYS:
        row = stored.get(key)
        if row is None:
            result[key] = default_clause(key)
        else:
            settings = {**clause_lib.DEFAULT_SETTINGS.get(key, {}), **(row.settings or {})}
            result[key] = Clause(key, row.number, row.title, row.body, settings)
    return result


def clause_history(key: str) -> list[ClauseTemplate]:
    """Every stored version of a clause, newest first."""
    return list(db.session.scalars(select(ClauseTemplate).where(ClauseTemplate.key == key)
                                   .order_by(ClauseTemplate.number.desc())))


def check_settings(key: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Return the clause's numeric terms cleaned, or raise ClauseSyntaxError."""
    if key == "budget":
        tranches = settings.get("tranches") or []
        return {"tranches": clause_lib.parse_tranches(clause_lib.format_tranches(tranches))}
    if key == "travel":
        per_diem, cover = settings.get("per_diem"), settings.get("insurance_cover")
        if not isinstance(per_diem, int) or per_diem <= 0:
            raise clause_lib.ClauseSyntaxError(_("Give a per-diem above zero."))
        if not isinstance(cover, int) or cover <= 0:
            raise clause_lib.ClauseSyntaxError(_("Give an insurance cover above zero."))
        return {"per_diem": per_diem, "insurance_cover": cover}
    if key == "ip":
        if settings.get("default_foreground") not in clause_lib.FOREGROUND_WORDING:
            raise clause_lib.ClauseSyntaxError(_("Choose who owns the foreground by default."))
        return {"default_foreground": settings["default_foreground"]}
    return {}


def save_clause(key: str, *, by: User, title: str, body: str, settings: dict[str, Any],
                expected_number: int, note: str = "") -> ClauseTemplate:
    """Add the next version of a clause.

    Raises StaleClause if another version was saved since the form showed version
    ``expected_number`` (0 for the default), ClauseSyntaxError for an unknown placeholder or
    invalid terms. Effects: a new ClauseTemplate row; an audit event.
    """
    if key not in clause_lib.CLAUSE_KEYS:
        raise AgreementError(_("There is no clause “%(key)s”.", key=key))
    title = title.strip()
    if not title:
        raise clause_lib.ClauseSyntaxError(_("Give the article a title."))
    clause_lib.check_body(body)
    cleaned = check_settings(key, settings)
    current = current_clauses()[key].number
    if current != expected_number:
        raise StaleClause(_("Version %(number)d of this clause was saved after you opened it. "
                            "Your text is still in the form: compare and save again.",
                            number=current))
    row = ClauseTemplate(key=key, number=current + 1, title=title[:200],
                         body=body.replace("\r\n", "\n").strip(), settings=cleaned,
                         note=note.strip()[:300], created_at=clock.now(), created_by_id=by.id)
    db.session.add(row)
    db.session.flush()
    audit.record("agreement.clause_saved", row, actor=by, key=key, number=row.number)
    return row


# --- gathering the facts of an agreement ----------------------------------------------------



def center_today(tenant: Tenant) -> str:
    """Today's date in the center's zone (ISO): agreements and letters are dated in it."""
    return clock.now().astimezone(ZoneInfo(tenant.timezone or "UTC")).date().isoformat()


def _label(labels: dict[Any, Any], value: str) -> str:
    """A value's label in the language being written: the document's, not the clicker's
    (`document_language` sets it)."""
    return str(labels.get(value) or humanize(value))


def _country(code: str | None) -> str:
    """A country's name in the language being written (see `document_language`)."""
    if not code:
        return ""
    return Locale.parse(str(get_locale() or "en")).territories.get(code.upper(), code.upper())


def document_of(tenant: Tenant) -> dict[str, Any]:
    """How the center's documents are written: its legal language, and whether agreements
    and letters carry English beside it."""
    return {"locale": tenant.legal_language or "en", "bilingual": tenant.documents_bilingual}



def reference_for(proposal: Proposal, tenant: Tenant) -> str:
    """The agreement's reference, e.g. ``ISTC-2026-0042``: center, year approved, proposal."""
    prefix = re.sub(r"[^A-Za-z0-9]+", "", tenant.short_name).upper()[:12] or "AGR"
    year = (proposal.decided_at or clock.now()).year
    return f"{prefix}-{year}-{proposal.id:04d}"


def proposal_facts(proposal: Proposal, tenant: Tenant,
                   split: dict[int, dict[int, int]]) -> dict[str, Any]:
    """Return what an agreement says about ``proposal``, as plain data.

    ``split`` is the funded split ({line id: {donor id: minor units}}, see
    `center.reviews.funded_split`): the donors, their amounts, the budget tables and the
    payment schedule all come from it, never from the split the applicants asked for.
    """
    call_order = {cd.donor_id: i for i, cd in enumerate(proposal.call.donors)}
    shares: dict[int, int] = {}
    donors: dict[int, Donor] = {}
    for line_shares in split.values():
        for donor_id, amount in line_shares.items():
            shares[donor_id] = shares.get(donor_id, 0) + amount
            donors.setdefault(donor_id, db.session.get(Donor, donor_id))
    funding = sorted((d for d, amount in shares.items() if amount > 0),
                     key=lambda d: (call_order.get(d, len(call_order)), d))
    pi = next((m for m in proposal.team if m.role == "principal_investigator"), None)
    short = re.sub(r"[^A-Za-z0-9]", "", tenant.short_name).upper()
    return {
        "document": document_of(tenant),
        "center": {"name": tenant.name, "short_name": tenant.short_name,
                   "email": tenant.contact_email, "logo": pdf.logo_for(tenant.slug),
                   "monogram": short[:4] or "C"},
        "currency": tenant.currency,
        "project": {
            "title": proposal.title, "acronym": proposal.acronym, "call": proposal.call.title,
            "topic": proposal.topic, "keywords": proposal.keywords,
            "duration_months": proposal.duration_months or proposal.call.max_duration_months,
            "abstract": proposal.abstract, "objectives": proposal.objectives,
            "principal_investigator": pi.name if pi else proposal.owner.name,
            "lead_institute": proposal.lead.institute.name if proposal.lead else "",
        },
        "institutes": [{"name": p.institute.name, "local_name": p.institute.local_name,
                        "country": _country(p.institute.country_code), "city": p.institute.city,
                        "lead": p.is_lead}
                       for p in sorted(proposal.partners, key=lambda p: (not p.is_lead, p.id))],
        "donors": [{"id": d, "name": donors[d].name, "short_name": donors[d].short_name,
                    "country": _country(donors[d].country_code), "amount": shares[d]}
                   for d in funding],
        "lines": [{"category": str(line.category), "description": line.description,
                   "amount": line.amount, "splits": dict(split.get(line.id, {}))}
                  for line in proposal.budget_lines],
        "trips": [{"id": t.id, "traveller": t.traveller.name,
                   "citizenship": _country(t.traveller.citizenship),
                   "birth_year": t.traveller.birth_year,
                   "role": _label(TEAM_ROLE_LABELS, t.traveller.role),
                   "institute": t.traveller.institute.name,
                   "institute_country": _country(t.traveller.institute.country_code),
                   "origin": _country(t.origin_country), "origin_city": t.origin_city,
                   "destination": _country(t.destination_country),
                   "destination_city": t.destination_city, "depart": t.depart_on.isoformat(),
                   "return": t.return_on.isoformat(), "purpose": t.purpose,
                   "visa": t.visa_needed, "invitation": t.invitation_needed,
                   # for the invitation letter only; the agreement does not print it
                   "consular": _consular(t.traveller)}
                  for t in proposal.trips],
        "ip": {"foreground": proposal.foreground_ip or "",
               "terms": proposal.foreground_ip_terms,
               "background": [{"institute": b.institute.name, "description": b.description,
                               "restrictions": b.restrictions}
                              for b in proposal.background_ip]},
        "publication_policy": proposal.publication_policy,
        "team": [{"name": m.name, "role": _label(TEAM_ROLE_LABELS, m.role),
                  "institute": m.institute.name, "citizenship": _country(m.citizenship)}
                 for m in proposal.team],
    }


def payment_schedule(donors: Sequence[dict[str, Any]], tranches: Sequence[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """Split each donor's amount into the tranches; the last tranche takes the rounding."""
    schedule = [{"percent": t["percent"], "condition": t["condition"], "amounts": {},
                 "total": 0} for t in tranches]
    for donor in donors:
        paid = 0
        for i, t in enumerate(tranches):
            last = i == len(tranches) - 1
            amount = donor["amount"] - paid if last else money.share(
                donor["amount"], Decimal(t["percent"]))
            paid += amount
            schedule[i]["amounts"][str(donor["id"])] = amount
            schedule[i]["total"] += amount
    return schedule


def _written_clause(key: str, clause: Clause, values: dict[str, str],
                    english_values: dict[str, str] | None) -> dict[str, Any]:
    """One article as the renderer prints it, in the language in force.

    The code's default wording is a message of the catalogues, so a Russian or Korean
    document prints it translated, and a bilingual one adds the English (``english``: its
    title and blocks). A version the center saved is its administrator's own text and is
    printed as typed, in whatever language it was written.
    """
    title, body = clause.wording()
    written = {"key": key, "title": title, "english": None,
               "blocks": [b.as_dict() for b in clause_lib.fill(body, values)]}
    if clause.is_default and english_values is not None and title != clause.title:
        written["english"] = {
            "title": clause.title,
            "blocks": [b.as_dict() for b in clause_lib.fill(clause.body, english_values)]}
    return written


def assemble(facts: dict[str, Any], clauses: dict[str, Clause], *, reference: str,
             version: int, generated_on: str) -> dict[str, Any]:
    """Return the renderer's context: the facts, the clauses filled in, the tables computed."""
    currency = facts["currency"]
    donors = facts["donors"]
    donor_ids = [d["id"] for d in donors]
    settings = {key: clause.settings for key, clause in clauses.items()}
    tranches = settings["budget"]["tranches"]
    travel = settings["travel"]
    project = facts["project"]
    duration = int(project["duration_months"])
    foreground = facts["ip"]["foreground"] or settings["ip"]["default_foreground"]
    total = sum(d["amount"] for d in donors)
    document = facts.get("document", pdf.ENGLISH)
    language = document["locale"]

    def clause_values(language: str) -> dict[str, str]:
        """What the clauses' placeholders stand for, written in ``language`` (the locale in
        force must be that language: the wording of the IP allocation is a message)."""
        foreground_text = (_(clause_lib.FOREGROUND_WORDING[foreground])
                           if foreground in clause_lib.FOREGROUND_WORDING else foreground)

        def money(minor: int) -> str:
            return pdf.format_amount(minor, currency, language)

        return {
            "center": facts["center"]["name"], "center_short": facts["center"]["short_name"],
            "agreement_ref": reference, "project_title": project["title"],
            "acronym": project["acronym"] or project["title"], "call_title": project["call"],
            "lead_institute": project["lead_institute"],
            "institutes": "; ".join(i["name"] for i in facts["institutes"]),
            "donors": "; ".join(d["name"] for d in donors) or _("the donors"),
            "principal_investigator": project["principal_investigator"],
            "duration_months": str(duration), "total_budget": money(total),
            "currency": currency,
            "interim_report_month": str(max(1, math.ceil(duration / 2))),
            "final_report_month": str(duration),
            "per_diem": money(travel["per_diem"]),
            "insurance_cover": money(travel["insurance_cover"]),
            "foreground_ip": foreground_text,
            "foreground_ip_terms": facts["ip"]["terms"].strip(),
            "publication_policy": facts["publication_policy"].strip() or _("none stated."),
        }

    values = clause_values(language)
    foreground_text = values["foreground_ip"]
    # A bilingual document prints the code's default wording in English under the legal
    # language's; a center's own wording is printed once, as its administrator typed it.
    english_values: dict[str, str] | None = None
    if document.get("bilingual") and language != "en":
        with force_locale("en"):
            english_values = clause_values("en")
    by_category: dict[str, dict[int, int]] = {}
    for line in facts["lines"]:
        row = by_category.setdefault(line["category"], {})
        for donor_id, amount in line["splits"].items():
            row[int(donor_id)] = row.get(int(donor_id), 0) + amount
    categories = [{"label": _label(BUDGET_CATEGORY_LABELS, c),
                   "amounts": [by_category[c].get(d, 0) for d in donor_ids],
                   "total": sum(by_category[c].values())}
                  for c in [*BudgetCategory, *sorted(set(by_category) - set(BudgetCategory))]
                  if c in by_category]
    schedule = payment_schedule(donors, tranches)
    signatories = [{"party": facts["center"]["name"], "role": _("The Center")}]
    signatories += [{"party": i["name"], "role": _("Lead Institute")}
                    for i in facts["institutes"] if i["lead"]]
    signatories += [{"party": d["name"], "role": _("Donor")} for d in donors]
    return {
        **facts,
        "reference": reference, "version": version, "generated_on": generated_on,
        "ip": {**facts["ip"], "foreground": foreground_text},
        "budget": {
            "total": total, "categories": categories,
            "lines": [{"category": _label(BUDGET_CATEGORY_LABELS, ln["category"]),
                       "description": ln["description"], "amount": ln["amount"],
                       "amounts": [ln["splits"].get(d, ln["splits"].get(str(d), 0))
                                   for d in donor_ids]}
                      for ln in facts["lines"]],
        },
        "schedule": [{**t, "amounts": [t["amounts"].get(str(d), 0) for d in donor_ids]}
                     for t in schedule],
        "clauses": [_written_clause(key, clause, values, english_values)
                    for key, clause in clauses.items()],
        "signatories": signatories,
        "travel_terms": {"per_diem": travel["per_diem"],
                         "insurance_cover": travel["insurance_cover"]},
        "schedule_by_donor": schedule,
    }


def _consular(member: Any) -> dict[str, Any]:
    """What the consulate needs of a traveller, as plain data for the letter."""
    return {"position": member.position,
            "date_of_birth": member.date_of_birth.isoformat() if member.date_of_birth else "",
            "passport_number": member.passport_number,
            "passport_expires_on": (member.passport_expires_on.isoformat()
                                    if member.passport_expires_on else "")}


def letter_contexts(context: dict[str, Any]) -> list[dict[str, Any]]:
    """One invitation letter context per trip that needs one, in travel-plan order."""
    letters = []
    trips = [t for t in context["trips"] if t["invitation"]]
    for number, trip in enumerate(trips, start=1):
        days = (dt.date.fromisoformat(trip["return"])
                - dt.date.fromisoformat(trip["depart"])).days + 1
        letters.append({
            "trip_id": trip["id"],
            "center": context["center"], "currency": context["currency"],
            "reference": f"{context['reference']}/INV-{number}",
            "document": context.get("document", pdf.ENGLISH),
            "agreement_ref": context["reference"], "agreement_version": context["version"],
            "date": context["generated_on"],
            "project": context["project"],
            "traveller": {"name": trip["traveller"], "citizenship": trip["citizenship"],
                          "birth_year": trip["birth_year"], "role": trip["role"],
                          "institute": trip["institute"],
                          "institute_country": trip["institute_country"],
                          **trip.get("consular", {})},
            "trip": {**trip, "days": days},
            "per_diem": context["travel_terms"]["per_diem"],
            "insurance_cover": context["travel_terms"]["insurance_cover"],
        })
    return letters


# --- generating ----------------------------------------------------------------------------

@dataclass
class Prepared:
    """Everything needed to render and store one agreement version."""

    proposal: Proposal
    number: int
    context: dict[str, Any]
    letters: list[dict[str, Any]]
    clause_versions: dict[str, int]


#: Renders an agreement context and its letter contexts to (agreement PDF, letter PDFs).
Renderer = Callable[[dict[str, Any], Sequence[dict[str, Any]]], tuple[bytes, list[bytes]]]


def versions_of(proposal: Proposal) -> list[Agreement]:
    """Every agreement version of a proposal, newest first."""
    return list(db.session.scalars(select(Agreement).where(Agreement.proposal_id == proposal.id)
                                   .order_by(Agreement.number.desc())))


def current_issued(proposal: Proposal) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(
        Agreement.proposal_id == proposal.id, Agreement.status == AgreementStatus.issued))


def prepare_agreement(proposal: Proposal, tenant: Tenant) -> Prepared:
    """Gather the data of the next version of ``proposal``'s agreement (nothing is written)."""
    if proposal.status not in GENERATABLE_STATES:
        raise AgreementError(_("An agreement can be generated for an approved proposal "
                               "only; this one is %(state)s.", state=proposal.status_label))
    if not proposal.budget_lines:
        raise AgreementError(_("The proposal has no budget: there is nothing to fund."))
    split = funded_split.confirmed_split(proposal)
    if split is None:
        if funded_split.needs_confirmation(proposal):
            raise AgreementError(_(
                "The donors' commitments differ from the split the budget asked for. Confirm "
                "how the budget lines are shared between the funding donors first."))
        raise AgreementError(_("No donor commitments are recorded for this proposal, so the "
                               "agreement has no funding to state."))
    number = (db.session.scalar(select(func.max(Agreement.number))
                                .where(Agreement.proposal_id == proposal.id)) or 0) + 1
    clauses = current_clauses()
    with force_locale(tenant.legal_language or "en"):
        context = assemble(proposal_facts(proposal, tenant, split), clauses,
                           reference=reference_for(proposal, tenant), version=number,
                           generated_on=center_today(tenant))
    return Prepared(proposal, number, context, letter_contexts(context),
                    {key: c.number for key, c in clauses.items()})


def store_agreement(prepared: Prepared, agreement_pdf: bytes, letter_pdfs: Sequence[bytes], *,
                    by: User) -> Agreement:
    """Store a rendered version as the proposal's draft, superseding an earlier draft.

    Effects: the PDF and its letters written to storage under fresh keys; an Agreement row
    (draft) with sha256, size, clause versions, donor shares and payment schedule; an
    InvitationLetter row per letter; the previous draft marked superseded; an audit event.
    """
    proposal = prepared.proposal
    context = prepared.context
    now = clock.now()
    storage = current_storage()
    sha = hashlib.sha256(agreement_pdf).hexdigest()
    base = f"t{proposal.tenant_id}/agreements/{proposal.id}/v{prepared.number}-{sha[:16]}"
    stored = storage.put(f"{base}.pdf", agreement_pdf, "application/pdf")
    for old in versions_of(proposal):
        if old.status == AgreementStatus.draft:
            old.status = AgreementStatus.superseded
            old.superseded_at = now
    db.session.flush()  # at most one draft per proposal: retire the old one first
    agreement = Agreement(
        proposal_id=proposal.id, number=prepared.number, reference=context["reference"],
        status=AgreementStatus.draft, pdf_key=stored.key, sha256=stored.sha256,
        size=stored.size,
        clause_versions=prepared.clause_versions,
        donor_shares=[{"donor_id": d["id"], "name": d["name"], "short_name": d["short_name"],
                       "amount": d["amount"]} for d in context["donors"]],
        schedule=context["schedule_by_donor"], total=context["budget"]["total"],
        currency=context["currency"], generated_at=now, generated_by_id=by.id,
    )
    agreement.proposal = proposal
    for letter, data in zip(prepared.letters, letter_pdfs, strict=True):
        digest = hashlib.sha256(data).hexdigest()
        trip_id = letter["trip_id"]
        kept = storage.put(f"{base}/invitation-trip{trip_id}-{digest[:12]}.pdf", data,
                           "application/pdf")
        agreement.letters.append(InvitationLetter(
            trip_id=trip_id, reference=letter["reference"],
            traveller_name=letter["traveller"]["name"][:200], pdf_key=kept.key,
            sha256=kept.sha256, size=kept.size))
    db.session.add(agreement)
    db.session.flush()
    audit.record("agreement.generated", agreement, actor=by, proposal=proposal.id,
                 number=agreement.number, sha256=agreement.sha256,
                 letters=len(agreement.letters))
    return agreement


def generate_agreement(proposal: Proposal, *, by: User, tenant: Tenant,
                       render: Renderer = pdf.render_documents) -> Agreement:
    """Render and store the next version of ``proposal``'s agreement as a draft."""
    prepared = prepare_agreement(proposal, tenant)
    agreement_pdf, letter_pdfs = render(prepared.context, prepared.letters)
    return store_agreement(prepared, agreement_pdf, letter_pdfs, by=by)


GENERATE_TASK = "agreements.generate"


@task(GENERATE_TASK, _l("Generating the agreement"), permanent=(AgreementError, IntegrityError))
def generate_job(job: Job, *, proposal_id: int, user_id: int,
                 proposal_version: int) -> dict[str, Any]:
    """`generate_agreement` on a worker, for the button on the proposal page.

    Guarded against a second run (a retry, or a sweep after a worker died): the agreement
    and the job's result are committed together, so an attempt that finds a result returns
    it instead of rendering another version; a proposal changed since the click is refused.
    """
    if job.result.get("agreement_id"):
        return job.result
    by = db.session.get(User, user_id)
    if by is None or Role.admin not in roles_of(by):
        raise AgreementError(_("Only an administrator can generate an agreement."))
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.version != proposal_version:
        raise AgreementError(_("The proposal changed since you opened it. Check it and "
                               "generate again."))
    job.advance(0, total=1, message=N_("rendering the agreement"))
    agreement = generate_agreement(proposal, by=by, tenant=db.session.get(Tenant, job.tenant_id))
    tenant_slug = db.session.get(Tenant, job.tenant_id).slug
    job.result = {
        "agreement_id": agreement.id, "label": agreement.label,
        "redirect": current_app.url_map.bind("localhost").build(
            "agreements.show", {"tenant": tenant_slug, "agreement_id": agreement.id}),
    }
    return job.result


# --- issuing, acknowledging, countersigning --------------------------------------------------

def _check_stored(agreement: Agreement) -> None:
    """Refuse to go on if storage no longer holds the exact bytes the row describes."""
    data = current_storage().get(agreement.pdf_key)
    if hashlib.sha256(data).hexdigest() != agreement.sha256:
        raise FingerprintMismatch(_("The stored PDF no longer matches its recorded fingerprint; "
                                    "generate the agreement again."))


def issue_agreement(agreement: Agreement, *, by: User, roles: frozenset[Role], tenant: Tenant,
                    expected_version: int | None = None) -> None:
    """Freeze a draft and send it to the parties.

    Effects: the draft becomes issued (its PDF is never re-rendered); an earlier issued
    version becomes superseded, its acknowledgements no longer counting; an approved
    proposal fires ``issue_agreement``; e-mails to the applicants and the donors' reviewers;
    audit events.
    """
    proposal = agreement.proposal
    if agreement.status != AgreementStatus.draft:
        raise AgreementError(_("Version %(n)s is %(state)s; only a draft can be issued.",
                               n=agreement.number,
                               state=AgreementStatus(agreement.status).label))
    if proposal.status not in GENERATABLE_STATES:
        raise AgreementError(_("The proposal is no longer waiting for its agreement."))
    _check_stored(agreement)
    now = clock.now()
    previous = current_issued(proposal)
    if previous is not None:
        previous.status = AgreementStatus.superseded
        previous.superseded_at = now
        db.session.flush()  # at most one issued version per proposal
    agreement.status = AgreementStatus.issued
    agreement.issued_at = now
    agreement.issued_by_id = by.id
    db.session.flush()
    if proposal.status == ProposalStatus.approved:
        workflow.fire(proposal, "issue_agreement", by=by, roles=roles,
                      expected_version=expected_version, agreement=agreement)
    audit.record("agreement.issued", agreement, actor=by, proposal=proposal.id,
                 number=agreement.number, sha256=agreement.sha256,
                 supersedes=previous.number if previous else None)
    _tell_issued(agreement, tenant)


def lead_signatories(agreement: Agreement) -> list[User]:
    """The authorised signatories of the agreement's lead institute."""
    lead = agreement.proposal.lead
    if lead is None:
        return []
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.signatory, Membership.institute_id == lead.institute_id)
        .order_by(User.name, User.id)))


def donor_delegates(agreement: Agreement, donor_id: int) -> list[User]:
    """The delegates of a funding donor who may acknowledge (no conflict of interest)."""
    users = list(db.session.scalars(
        select(User).join(DonorDelegate, DonorDelegate.user_id == User.id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.role == Role.reviewer)
              & (Membership.donor_id == DonorDelegate.donor_id))
        .where(DonorDelegate.donor_id == donor_id).order_by(User.name, User.id)))
    checker = conflict_checker(agreement.proposal.call, users)
    return [u for u in users if not conflict_reasons(u, agreement.proposal, checker)]


@dataclass
class Outstanding:
    """A party that has still to acknowledge, and who can do it for it."""

    party: Party
    donor_id: int | None
    name: str
    people: list[User]


def outstanding(agreement: Agreement) -> list[Outstanding]:
    """Who still has to acknowledge ``agreement``: the lead institute through a signatory,
    each funding donor through a delegate."""
    names = {int(d["donor_id"]): d["name"] for d in agreement.donor_shares}
    lead = agreement.proposal.lead
    result = []
    for party, donor_id in agreement.missing_parties:
        if party == Party.lead_institute:
            result.append(Outstanding(party, None, lead.institute.name if lead else "",
                                      lead_signatories(agreement)))
        else:
            result.append(Outstanding(party, donor_id, names.get(donor_id, ""),
                                      donor_delegates(agreement, donor_id)))
    return result


def _tell_issued(agreement: Agreement, tenant: Tenant) -> None:
    """Ask the lead institute's signatories and the funding donors' delegates to acknowledge;
    tell the applicants the agreement is out."""
    proposal = agreement.proposal
    url = external_url("agreements.show", tenant=tenant.slug, agreement_id=agreement.id)
    subject = _l("Agreement %(reference)s issued for your acknowledgement",
                 reference=agreement.reference)
    asked: dict[str, str] = {}
    for item in outstanding(agreement):
        for person in item.people:
            asked.setdefault(person.email, item.name)
    for email, party in sorted(asked.items()):
        send_email(email, subject, "agreement_issued", tenant_id=tenant.id,
                   agreement=agreement, proposal=proposal, party=party, url=url,
                   tenant=tenant)
    applicants = {proposal.owner.email} | {c.email for c in proposal.collaborators
                                           if c.accepted_at}
    for email in sorted(applicants - set(asked)):
        send_email(email, _l("Agreement %(reference)s issued", reference=agreement.reference),
                   "agreement_issued",
                   tenant_id=tenant.id, agreement=agreement, proposal=proposal, party=None,
                   url=url, tenant=tenant)


def acknowledge(agreement: Agreement, *, by: User, party: Party, donor_id: int | None,
                typed_name: str, sha256: str) -> Acknowledgement:
    """Record that ``by`` acknowledged the issued PDF for ``party``.

    Refused unless ``by`` may act for that party, the agreement is the issued version and
    ``sha256`` is the fingerprint of the stored PDF. Effects: an Acknowledgement row with the
    typed name, time and hash; an audit event.
    """
    typed_name = " ".join(typed_name.split())
    if not may_acknowledge(by, agreement, party, donor_id):
        raise NotAParty(_("You cannot acknowledge this agreement for that party."))
    if agreement.acknowledgement_for(party, donor_id) is not None:
        raise AgreementError(_("This party has already acknowledged the agreement."))
    if not typed_name:
        raise AgreementError(_("Type your full name to acknowledge."))
    if sha256.strip().lower() != agreement.sha256:
        raise FingerprintMismatch(_(
            "The document you acknowledge is not the issued version: its fingerprint differs. "
            "Download the agreement again and check it."))
    _check_stored(agreement)
    ack = Acknowledgement(party=party, donor_id=donor_id, typed_name=typed_name[:200],
                          acknowledged_at=clock.now(), user_id=by.id, sha256=agreement.sha256)
    agreement.acknowledgements.append(ack)
    db.session.flush()
    audit.record("agreement.acknowledged", agreement, actor=by, party=str(party),
                 donor_id=donor_id, typed_name=ack.typed_name, sha256=ack.sha256)
    return ack


#: Called as ``hook(agreement, by, tenant)`` after a countersignature made the project
#: active, in the same transaction (`center.projects` opens the project's records there).
ON_COUNTERSIGNED: list[Callable[[Agreement, User, Tenant], None]] = []


def countersign(agreement: Agreement, *, by: User, roles: frozenset[Role], typed_name: str,
                tenant: Tenant, expected_version: int | None = None) -> None:
    """Countersign the issued agreement and make the project active (``activate``); then
    run `ON_COUNTERSIGNED`."""
    if agreement.status != AgreementStatus.issued:
        raise AgreementError(_("Only the issued version can be countersigned."))
    workflow.fire(agreement.proposal, "activate", by=by, roles=roles,
                  expected_version=expected_version, agreement=agreement,
                  countersign_name=" ".join(typed_name.split()), tenant=tenant)
    for hook in ON_COUNTERSIGNED:
        hook(agreement, by, tenant)


@workflow.guard("issue_agreement")
def _issue_guard(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    agreement = context.get("agreement")
    if (not isinstance(agreement, Agreement) or agreement.proposal_id != proposal.id
            or agreement.status != AgreementStatus.issued):
        return ["Issue the agreement from its panel: generate a draft, check it, then issue it."]
    return []


@workflow.guard("activate")
def _activate_guard(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    agreement = current_issued(proposal)
    if agreement is None:
        return [_("No agreement has been issued for this proposal.")]
    problems = []
    names = {d["donor_id"]: d["name"] for d in agreement.donor_shares}
    for party, donor_id in agreement.missing_parties:
        if party == Party.lead_institute:
            problems.append(_("The lead institute has not acknowledged agreement %(label)s yet.",
                              label=agreement.label))
        else:
            problems.append(_("%(donor)s has not acknowledged agreement %(label)s yet.",
                              donor=names.get(donor_id) or _("A donor"), label=agreement.label))
    if context.get("agreement") is not agreement or not context.get("countersign_name"):
        problems.append(_("Countersign on the agreement’s page, typing your full name."))
    return problems


@workflow.effect("activate")
def _record_countersignature(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    agreement: Agreement = context["agreement"]
    agreement.countersigned_at = clock.now()
    agreement.countersigned_by_id = by.id
    agreement.countersigned_name = context["countersign_name"][:200]
    audit.record("agreement.countersigned", agreement, actor=by, proposal=proposal.id,
                 typed_name=agreement.countersigned_name, sha256=agreement.sha256)
    tenant: Tenant = context["tenant"]
    for email in sorted({proposal.owner.email} | {c.email for c in proposal.collaborators
                                                  if c.accepted_at}):
        send_email(email, _l("Agreement %(reference)s countersigned: the project starts",
                              reference=agreement.reference),
                   "agreement_active", tenant_id=tenant.id, agreement=agreement,
                   proposal=proposal, tenant=tenant,
                   url=external_url("agreements.show", tenant=tenant.slug,
                                   agreement_id=agreement.id))


# --- reading ------------------------------------------------------------------------------

def roles_of(user: User) -> frozenset[Role]:
    """The roles ``user`` holds in the tenant in scope (for work done outside a request)."""
    return frozenset(Role(r) for r in db.session.scalars(
        select(Membership.role).where(Membership.user_id == user.id)))


def approved_proposals(call_id: int) -> list[Proposal]:
    """The call's approved proposals, waiting for their agreement, oldest decision first."""
    return list(db.session.scalars(select(Proposal).where(
        Proposal.call_id == call_id, Proposal.status == ProposalStatus.approved)
        .order_by(Proposal.decided_at, Proposal.id)))


def awaiting_acknowledgement(limit: int = 200) -> list[Agreement]:
    """Issued agreements whose proposal still waits for acknowledgements or countersignature,
    with what the lists of them and the permissions read."""
    return list(db.session.scalars(
        select(Agreement).join(Proposal, Proposal.id == Agreement.proposal_id)
        .where(Agreement.status == AgreementStatus.issued,
               Proposal.status == ProposalStatus.agreement_issued)
        .options(*LOADS).order_by(Agreement.issued_at).limit(limit)))


def summary() -> dict[str, int]:
    """Counts for the administrator's dashboard."""
    waiting = awaiting_acknowledgement()
    return {
        "approved": db.session.scalar(select(func.count()).select_from(Proposal).where(
            Proposal.status == ProposalStatus.approved)) or 0,
        "drafts": db.session.scalar(select(func.count()).select_from(Agreement).where(
            Agreement.status == AgreementStatus.draft)) or 0,
        "waiting": sum(1 for a in waiting if a.missing_parties),
        "ready": sum(1 for a in waiting if not a.missing_parties),
    }


def approved_proposals_all(limit: int = 100) -> list[Proposal]:
    """Approved proposals of every call, waiting for their agreement."""
    return list(db.session.scalars(select(Proposal).where(
        Proposal.status == ProposalStatus.approved)
        .order_by(Proposal.decided_at, Proposal.id).limit(limit)))


# --- batch issuing ------------------------------------------------------------------------

BATCH_TASK = "agreements.issue_batch"
#: Proposals rendered together, on every PDF worker at once, between progress reports.
BATCH_CHUNK = 4


def _render_chunk(prepared: Sequence[Prepared]) -> list[tuple[bytes, list[bytes]] | Exception]:
    """Render the agreements and letters of several proposals in one parallel batch.

    If the batch fails, each proposal is rendered alone, so one broken document costs only
    its own proposal.
    """
    sets = [(p.context, p.letters) for p in prepared]
    try:
        return list(pdf.render_sets(sets))
    except pdf.PdfRenderError:
        results: list[tuple[bytes, list[bytes]] | Exception] = []
        for context, letters in sets:
            try:
                results.append(pdf.render_documents(context, letters))
            except pdf.PdfRenderError as exc:
                results.append(exc)
        return results


@task(BATCH_TASK, _l("Issuing the call's agreements"))
def issue_batch(job: Job, *, call_id: int, user_id: int) -> dict[str, Any]:
    """Generate and issue the agreement of every approved proposal of a call.

    Each proposal is committed on its own, with the job's progress; one that fails is rolled
    back, reported in the result and skipped.
    """
    by = db.session.get(User, user_id)
    tenant = db.session.get(Tenant, job.tenant_id)
    roles = roles_of(by) if by is not None else frozenset()
    if by is None or Role.admin not in roles:
        raise AgreementError(_("Only an administrator can issue agreements."))
    ids = [p.id for p in approved_proposals(call_id)]
    job.advance(0, total=len(ids), message=N_("agreements done"))
    issued: list[str] = []
    failed: list[dict[str, Any]] = []
    done = 0
    for start in range(0, len(ids), BATCH_CHUNK):
        prepared: list[Prepared] = []
        for proposal_id in ids[start:start + BATCH_CHUNK]:
            proposal = db.session.get(Proposal, proposal_id)
            try:
                prepared.append(prepare_agreement(proposal, tenant))
            except AgreementError as exc:
                failed.append({"proposal_id": proposal_id, "title": proposal.title,
                               "error": str(exc)})
                done += 1
        for item, rendered in zip(prepared, _render_chunk(prepared), strict=True):
            title = item.proposal.title
            try:
                if isinstance(rendered, Exception):
                    raise rendered
                agreement = store_agreement(item, *rendered, by=by)
                issue_agreement(agreement, by=by, roles=roles, tenant=tenant)
                db.session.flush()
            except (AgreementError, workflow.TransitionError, StaleDataError, IntegrityError,
                    pdf.PdfRenderError) as exc:
                db.session.rollback()
                failed.append({"proposal_id": item.proposal.id, "title": title,
                               "error": str(exc) or type(exc).__name__})
            else:
                issued.append(agreement.label)
            done += 1
            job.advance(done, message=N_("agreements done"))
    redirect_to = current_app.url_map.bind("localhost").build(
        "agreements.batch", {"tenant": tenant.slug, "call_id": call_id, "job": job.id})
    return {"issued": issued, "failed": failed, "redirect": redirect_to}
