"""Change requests of active projects, their state machine, and the amendments they produce.

A *project* is a proposal in state ``active``: its agreement was issued, acknowledged by
every party and countersigned. It starts on the day of the countersignature (in the
center's zone), whose month is month 1 of the work plan, as `center.projects` opens it; it
ends the day before the same date after the proposal's duration, or on the date of the
latest approved no-cost extension.

The flow of a request is the ``TRANSITIONS`` table below, enforced by `fire` and nowhere
else: request → officer review → (donor approval) → approved or rejected. A redirection
whose every move takes at most ``redirection_limit_percent`` (a tenant setting, 10 % by
default) of the source line as agreed may be approved by the officer alone; anything else
is forwarded to the delegates of every donor funding the project, and approved when each of
them has said yes (one no rejects it). Approval renders the amendment: a PDF numbered per
agreement (``<agreement reference>-A<n>``), stored with its sha256, acknowledged later by
the agreement's parties. The agreement's own row and bytes are never changed.

Every function flushes, never commits, and records an audit event.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from center.agreements import services as agreements
from center.agreements.clauses import N_
from center.agreements.models import Agreement
from center.agreements.permissions import delegate_donor_ids, parties_of
from center.amendments import pdf
from center.amendments.models import (
    CLOSED_STATES,
    Amendment,
    AmendmentAcknowledgement,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    DonorDecision,
)
from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.links import external_url
from center.core.notifications import send_email
from center.extensions import current_storage
from center.proposals.models import BudgetLine, Proposal, ProposalStatus
from center.proposals.permissions import is_applicant_of
from center.reviews.funding import is_conflicted
from center.reviews.models import DonorDelegate
from center.tenants.models import Membership, Role, Tenant

S = ChangeStatus


class ChangeError(Exception):
    """A change request that cannot be made or moved now; the message is for the user."""


class StaleChange(ChangeError):
    """The request changed since the page was loaded."""


# --- the project --------------------------------------------------------------------------

def project_agreement(proposal: Proposal) -> Agreement | None:
    """The issued, countersigned agreement of an active project; None for anything else."""
    if proposal.status != ProposalStatus.active:
        return None
    agreement = agreements.current_issued(proposal)
    return agreement if agreement is not None and agreement.countersigned_at else None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, kept inside the month (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def start_on(proposal: Proposal, agreement: Agreement, tenant: Tenant) -> dt.date:
    """The project's first day: the day of the countersignature in the center's zone (as
    `center.projects` opens the project); its month is month 1 of the work plan."""
    return agreement.countersigned_at.astimezone(ZoneInfo(tenant.timezone or "UTC")).date()


def planned_end_on(proposal: Proposal, agreement: Agreement, tenant: Tenant) -> dt.date:
    months = proposal.duration_months or proposal.call.max_duration_months or 12
    return add_months(start_on(proposal, agreement, tenant), months) - dt.timedelta(days=1)


def approved_changes(proposal: Proposal) -> list[ChangeRequest]:
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.proposal_id == proposal.id, ChangeRequest.status == S.approved)
        .order_by(ChangeRequest.decided_at, ChangeRequest.id)))


def end_on(proposal: Proposal, agreement: Agreement, tenant: Tenant) -> dt.date:
    """The project's last day, after every approved no-cost extension."""
    extensions = [c.new_end_on for c in approved_changes(proposal)
                  if c.kind == ChangeKind.extension and c.new_end_on]
    return max(extensions, default=planned_end_on(proposal, agreement, tenant))


def current_line_amounts(proposal: Proposal) -> dict[int, int]:
    """Each budget line's amount as agreed plus every approved redirection {line id: minor}."""
    amounts = {line.id: line.amount for line in proposal.budget_lines}
    for change in approved_changes(proposal):
        for move in change.moves:
            amounts[int(move["from_line_id"])] -= int(move["amount"])
            amounts[int(move["to_line_id"])] += int(move["amount"])
    return amounts


def extra_days_granted(proposal: Proposal) -> dict[tuple[int, int], int]:
    """Working days granted beyond the plan by approved changes {(member, task): days}."""
    granted: dict[tuple[int, int], int] = {}
    for change in approved_changes(proposal):
        for row in change.extra_days:
            key = (int(row["member_id"]), int(row["task_id"]))
            granted[key] = granted.get(key, 0) + int(row["days"])
    return granted


def line_label(line: BudgetLine) -> str:
    institute = line.institute.name if line.institute else ""
    return f"{line.description} ({institute})" if institute else line.description


# --- making a request ---------------------------------------------------------------------

def limit_percent(tenant: Tenant) -> int:
    return int(tenant.setting("redirection_limit_percent"))


def _check_moves(proposal: Proposal, moves: list[dict[str, Any]], tenant: Tenant) -> bool:
    """Refuse impossible moves; return whether all stay within the center's limit."""
    if not moves:
        raise ChangeError(_("A redirection moves money: give at least one move."))
    lines = {line.id: line for line in proposal.budget_lines}
    amounts = current_line_amounts(proposal)
    out: dict[int, int] = {}
    for move in moves:
        source, target, amount = (int(move["from_line_id"]), int(move["to_line_id"]),
                                  int(move["amount"]))
        if source not in lines or target not in lines:
            raise ChangeError(_("Choose budget lines of this project."))
        if source == target:
            raise ChangeError(_("Money is moved from one budget line to another one."))
        if amount <= 0:
            raise ChangeError(_("The amount moved must be more than zero."))
        out[source] = out.get(source, 0) + amount
        if out[source] > amounts[source]:
            raise ChangeError(_("The line “%(line)s” holds less than that.",
                                line=line_label(lines[source])))
    cap = limit_percent(tenant)
    return all(moved * 100 <= lines[line_id].amount * cap for line_id, moved in out.items())


def _check_extra_days(proposal: Proposal, extra_days: list[dict[str, Any]]) -> None:
    members = {m.id for m in proposal.team}
    tasks = {t.id for t in proposal.tasks}
    for row in extra_days:
        if int(row["member_id"]) not in members or int(row["task_id"]) not in tasks:
            raise ChangeError(_("Choose a team member and a task of this project."))
        if not 0 < int(row["days"]) <= 366:
            raise ChangeError(_("Additional days are between 1 and 366."))


def request_change(proposal: Proposal, kind: ChangeKind, *, by: User, tenant: Tenant,
                   justification: str, moves: list[dict[str, Any]] | None = None,
                   new_end_on: dt.date | None = None,
                   extra_days: list[dict[str, Any]] | None = None) -> ChangeRequest:
    """Submit a change request for an active project (by its applicants).

    Effects: a ChangeRequest in ``submitted`` naming the issued agreement; an audit event.
    """
    agreement = project_agreement(proposal)
    if agreement is None:
        raise ChangeError(_("Changes can be requested for an active project only."))
    if not is_applicant_of(by, proposal):
        raise ChangeError(_("Only the project's applicants request changes."))
    justification = justification.strip()
    if not justification:
        raise ChangeError(_("Explain why the change is needed."))
    moves, extra_days = list(moves or []), list(extra_days or [])
    within = False
    if kind == ChangeKind.redirection:
        within = _check_moves(proposal, moves, tenant)
    elif moves:
        raise ChangeError(_("Only a redirection moves money."))
    if kind == ChangeKind.extension:
        current_end = end_on(proposal, agreement, tenant)
        if new_end_on is None or new_end_on <= current_end:
            raise ChangeError(_("The new end date must be after the current one, %(day)s.",
                                day=current_end.isoformat()))
    elif new_end_on is not None:
        raise ChangeError(_("Only a no-cost extension changes the end date."))
    _check_extra_days(proposal, extra_days)
    if extra_days:
        within = False  # days beyond the plan always go to the donors
    change = ChangeRequest(
        proposal_id=proposal.id, agreement_id=agreement.id, kind=kind, status=S.submitted,
        justification=justification, moves=moves, extra_days=extra_days,
        new_end_on=new_end_on, within_limit=within, submitted_at=clock.now(),
        submitted_by_id=by.id)
    db.session.add(change)
    db.session.flush()
    audit.record("change.requested", change, actor=by, to_state=S.submitted,
                 proposal=proposal.id, kind=str(kind), within_limit=within)
    _tell(change, "submitted", tenant)
    return change


# --- the state machine --------------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    sources: frozenset[ChangeStatus]
    #: The state reached; ``None`` for a donor's yes, which stays in donor review until the
    #: last funding donor agrees.
    target: ChangeStatus | None
    #: Who fires it: "staff" (officers, administrators), "applicant" (of the project),
    #: "donor" (a delegate of a funding donor that has not answered yet).
    actor: str


TRANSITIONS: dict[str, Transition] = {
    "forward": Transition(frozenset({S.submitted}), S.donor_review, "staff"),
    "approve": Transition(frozenset({S.submitted}), S.approved, "staff"),
    "reject": Transition(frozenset({S.submitted, S.donor_review}), S.rejected, "staff"),
    "withdraw": Transition(frozenset({S.submitted}), S.withdrawn, "applicant"),
    "donor_approve": Transition(frozenset({S.donor_review}), None, "donor"),
    "donor_reject": Transition(frozenset({S.donor_review}), S.rejected, "donor"),
}


def funding_donor_ids(change: ChangeRequest) -> list[int]:
    return change.agreement.donor_ids


def pending_donors_for(user: User, change: ChangeRequest) -> list[int]:
    """The funding donors ``user`` may still answer for (a delegate, not conflicted)."""
    if change.status != S.donor_review or is_conflicted(user, change.proposal):
        return []
    answered = {d.donor_id for d in change.donor_decisions}
    mine = delegate_donor_ids(user)
    return [d for d in funding_donor_ids(change) if d in mine and d not in answered]


def may_fire(user: User, roles: frozenset[Role], change: ChangeRequest, action: str) -> bool:
    """Whether ``user`` may fire ``action`` on ``change`` now (role, state, guard)."""
    transition = TRANSITIONS.get(action)
    if transition is None or change.status not in transition.sources:
        return False
    if transition.actor == "staff" and not roles & {Role.officer, Role.admin}:
        return False
    if transition.actor == "applicant" and not (Role.applicant in roles
                                                and is_applicant_of(user, change.proposal)):
        return False
    if transition.actor == "donor" and not (Role.reviewer in roles
                                            and pending_donors_for(user, change)):
        return False
    return action != "approve" or change.within_limit


def fire(change: ChangeRequest, action: str, *, by: User, roles: frozenset[Role],
         tenant: Tenant, expected_version: int, comment: str = "",
         render: Callable[[dict[str, Any]], bytes] = pdf.render_amendment_pdf) -> None:
    """Move ``change`` by ``action`` if the table, the actor and the version allow it.

    Effects: the new status with its time and comment; a DonorDecision row for a donor's
    answer; on approval the amendment PDF rendered and stored (`issue_amendment`); an audit
    event with the old and new state. A refusal raises and changes nothing.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ChangeError(_("Unknown action."))
    if change.version != expected_version:
        raise StaleChange(_("The request changed since you opened it. Reload and check."))
    if change.status not in transition.sources:
        raise ChangeError(_("The request is %(state)s; this cannot be done now.",
                            state=change.status_label))
    if not may_fire(by, roles, change, action):
        if action == "approve" and roles & {Role.officer, Role.admin}:
            raise ChangeError(_("This change goes beyond the center's limit of %(n)s %% of a "
                                "line: forward it to the donors.", n=limit_percent(tenant)))
        raise ChangeError(_("You cannot do this to the request."))
    comment = comment.strip()
    if action in {"reject", "donor_reject"} and not comment:
        raise ChangeError(_("Give the reason for the rejection."))
    old = change.status
    now = clock.now()
    target = transition.target
    if transition.actor == "donor":
        donor_id = pending_donors_for(by, change)[0]
        change.donor_decisions.append(DonorDecision(
            donor_id=donor_id, approved=action == "donor_approve", comment=comment,
            decided_at=now, user_id=by.id))
        if target is None:
            answered = {d.donor_id for d in change.donor_decisions}
            target = S.approved if set(funding_donor_ids(change)) <= answered else S.donor_review
    if transition.actor == "staff":
        change.reviewed_at, change.reviewed_by_id = now, by.id
    change.status = target
    if target in CLOSED_STATES:
        change.decided_at = now
        change.decision_comment = comment
    db.session.flush()
    audit.record(f"change.{action}", change, actor=by, from_state=old, to_state=target,
                 proposal=change.proposal_id, comment=comment)
    if target == S.approved:
        amendment = issue_amendment(change, tenant=tenant, by=by, render=render)
        _tell(change, "approved", tenant)
        _tell_amendment(amendment, tenant)
    elif target != old:
        _tell(change, {S.donor_review: "forwarded", S.withdrawn: "withdrawn"}.get(target,
                                                                                 "rejected"),
              tenant)


# --- who hears of it ------------------------------------------------------------------------

def _subject(event: str, change: ChangeRequest) -> Any:
    """The subject of an e-mail about ``change``, translated for each recipient."""
    n, title = change.id, change.proposal.title
    return {
        "submitted": _l("Change request %(n)s to review: %(title)s", n=n, title=title),
        "forwarded": _l("Change request %(n)s forwarded to the donors: %(title)s", n=n,
                        title=title),
        "to_approve": _l("Change request %(n)s for your donor to approve: %(title)s", n=n,
                         title=title),
        "approved": _l("Change request %(n)s approved: %(title)s", n=n, title=title),
        "rejected": _l("Change request %(n)s rejected: %(title)s", n=n, title=title),
        "withdrawn": _l("Change request %(n)s withdrawn: %(title)s", n=n, title=title),
    }[event]


def officers() -> list[str]:
    """The center's programme officers, who review change requests."""
    return sorted(set(db.session.scalars(select(User.email).join(
        Membership, Membership.user_id == User.id).where(Membership.role == Role.officer))))


def applicants(proposal: Proposal) -> list[str]:
    """The project's team: the lead applicant and the accepted co-applicants."""
    return sorted({proposal.owner.email} | {c.email for c in proposal.collaborators
                                            if c.accepted_at})


def donor_delegates(donor_ids: list[int], proposal: Proposal) -> list[str]:
    """The delegates of ``donor_ids`` who may answer for them (no conflict with the project)."""
    people = db.session.scalars(select(User).join(DonorDelegate, DonorDelegate.user_id == User.id)
                                .where(DonorDelegate.donor_id.in_(donor_ids or [0])))
    return sorted({u.email for u in people if not is_conflicted(u, proposal)})


def lead_signatories(proposal: Proposal) -> list[str]:
    """The authorised signatories of the project's lead institute."""
    lead = proposal.lead
    if lead is None:
        return []
    return sorted(set(db.session.scalars(select(User.email).join(
        Membership, Membership.user_id == User.id).where(
        Membership.role == Role.signatory, Membership.institute_id == lead.institute_id))))


def _send(recipients: list[str], subject: Any, tenant: Tenant, **context: Any) -> None:
    for email in sorted(set(recipients)):
        send_email(email, subject, "change_request", tenant_id=tenant.id, tenant=tenant,
                   **context)


def _tell(change: ChangeRequest, event: str, tenant: Tenant) -> None:
    """E-mail the people a step of ``change`` concerns: a new or withdrawn request to the
    officers; the officer's decision to the team and, when forwarded, to the funding
    donors' delegates to approve; the outcome to the team and the officers."""
    proposal = change.proposal
    context = {"change": change, "proposal": proposal, "event": event,
               "url": external_url("amendments.show", tenant=tenant.slug, change_id=change.id)}
    if event in {"submitted", "withdrawn"}:
        _send(officers(), _subject(event, change), tenant, **context)
        return
    _send(applicants(proposal), _subject(event, change), tenant, **context)
    if event == "forwarded":
        _send(donor_delegates(funding_donor_ids(change), proposal),
              _subject("to_approve", change), tenant, **{**context, "event": "to_approve"})
    elif change.donor_decisions:  # the donors decided: the officers hear the outcome too
        _send(officers(), _subject(event, change), tenant, **context)


def _tell_amendment(amendment: Amendment, tenant: Tenant) -> None:
    """E-mail the team and the agreement's parties that ``amendment`` is issued; the parties
    are asked to acknowledge it."""
    proposal = amendment.change.proposal
    subject = _l("Amendment %(reference)s issued: %(title)s", reference=amendment.reference,
                 title=proposal.title)
    url = external_url("amendments.show", tenant=tenant.slug, change_id=amendment.change_id)
    parties = set(lead_signatories(proposal)) | set(donor_delegates(
        [int(d["donor_id"]) for d in amendment.donor_shares], proposal))
    team = set(applicants(proposal)) - parties
    _send(sorted(team), subject, tenant, event="amendment", amendment=amendment,
          proposal=proposal, acknowledge=False, url=url)
    _send(sorted(parties), subject, tenant, event="amendment", amendment=amendment,
          proposal=proposal, acknowledge=True, url=url)


# --- the amendment ------------------------------------------------------------------------

#: The kinds in the amendment's words, translated when printed: an amendment is written in
#: the center's legal language, like the agreement.
KIND_WORDS = {ChangeKind.redirection: N_("Redirection of funds"),
              ChangeKind.extension: N_("No-cost extension"),
              ChangeKind.team_change: N_("Change of team or partner")}


def amendment_context(change: ChangeRequest, number: int, tenant: Tenant) -> dict[str, Any]:
    """The plain data an amendment PDF states (figures from the approved request)."""
    proposal, agreement = change.proposal, change.agreement
    facts_center = {"name": tenant.name, "short_name": tenant.short_name,
                    "email": tenant.contact_email, "logo": None,
                    "monogram": "".join(c for c in tenant.short_name.upper() if c.isalnum())[:4]
                    or "C"}
    lines = {line.id: line for line in proposal.budget_lines}
    before = current_line_amounts(proposal)  # the change is approved: it counts already
    members = {m.id: m for m in proposal.team}
    tasks = {t.id: t for t in proposal.tasks}
    pi = proposal.principal_investigator
    old_end = planned_end_on(proposal, agreement, tenant)
    earlier = [c.new_end_on for c in approved_changes(proposal)
               if c.kind == ChangeKind.extension and c.id != change.id and c.new_end_on]
    return {
        # Amendments are in the legal language alone; only agreements and letters are
        # bilingual.
        "document": {"locale": tenant.legal_language or "en", "bilingual": False},
        "center": facts_center, "currency": agreement.currency,
        "reference": f"{agreement.reference}-A{number}", "number": number,
        "date": agreements.center_today(tenant),
        "agreement": {"reference": agreement.reference, "number": agreement.number,
                      "sha256": agreement.sha256},
        "project": {"title": proposal.title, "acronym": proposal.acronym,
                    "lead_institute": proposal.lead.institute.name if proposal.lead else "",
                    "principal_investigator": pi.name if pi else proposal.owner.name},
        "donors": [{"name": d["name"]} for d in agreement.donor_shares if d["amount"] > 0],
        "kind": KIND_WORDS[ChangeKind(change.kind)],
        "justification": change.justification,
        "requested_on": change.submitted_at.date().isoformat(),
        "approved_on": (change.decided_at or clock.now()).date().isoformat(),
        "donor_approval": bool(change.donor_decisions),
        "limit_percent": limit_percent(tenant),
        "moves": [{"from_line": line_label(lines[int(m["from_line_id"])]),
                   "to_line": line_label(lines[int(m["to_line_id"])]),
                   "amount": int(m["amount"])} for m in change.moves],
        "lines": [{"label": line_label(line), "agreed": line.amount,
                   "amended": before[line.id]} for line in proposal.budget_lines]
        if change.moves else [],
        "total": agreement.total,
        "new_end_on": change.new_end_on.isoformat() if change.new_end_on else None,
        "old_end_on": max(earlier, default=old_end).isoformat(),
        "extra_days": [{"member": members[int(r["member_id"])].name,
                        "task": tasks[int(r["task_id"])].title, "days": int(r["days"])}
                       for r in change.extra_days],
    }


def issue_amendment(change: ChangeRequest, *, tenant: Tenant, by: User,
                    render: Callable[[dict[str, Any]], bytes] = pdf.render_amendment_pdf
                    ) -> Amendment:
    """Render and store the amendment of an approved change.

    Effects: the PDF in storage under a fresh key; an Amendment row with number, reference,
    sha256 and size; an audit event. The agreement is not touched.
    """
    agreement = change.agreement
    number = (db.session.scalar(select(func.max(Amendment.number)).where(
        Amendment.agreement_id == agreement.id)) or 0) + 1
    context = amendment_context(change, number, tenant)
    data = render(context)
    sha = hashlib.sha256(data).hexdigest()
    key = f"t{change.tenant_id}/amendments/{change.proposal_id}/A{number}-{sha[:16]}.pdf"
    stored = current_storage().put(key, data, "application/pdf")
    amendment = Amendment(
        proposal_id=change.proposal_id, agreement_id=agreement.id, change_id=change.id,
        number=number, reference=context["reference"], pdf_key=stored.key,
        sha256=stored.sha256, size=stored.size, issued_at=clock.now(),
        donor_shares=[{"donor_id": int(d["donor_id"]), "name": d["name"]}
                      for d in agreement.donor_shares if d["amount"] > 0])
    db.session.add(amendment)
    db.session.flush()
    audit.record("amendment.issued", amendment, actor=by, change=change.id,
                 agreement=agreement.id, reference=amendment.reference, sha256=amendment.sha256)
    return amendment


def amendment_bytes(amendment: Amendment) -> bytes:
    """The stored PDF, refused if it no longer matches its fingerprint."""
    data = current_storage().get(amendment.pdf_key)
    if hashlib.sha256(data).hexdigest() != amendment.sha256:
        raise ChangeError(_("The stored amendment no longer matches its recorded fingerprint."))
    return data


def amendment_parties_of(user: User, amendment: Amendment) -> list[tuple[str, int | None]]:
    """The parties ``user`` may acknowledge ``amendment`` for and has not yet: the same
    people as for the agreement (the lead's signatories, funding donors' delegates)."""
    missing = set(amendment.missing_parties)
    return [(str(p), d) for p, d in parties_of(user, amendment.agreement)
            if (str(p), d) in missing]


def acknowledge_amendment(amendment: Amendment, *, by: User, party: str,
                          donor_id: int | None, typed_name: str, sha256: str
                          ) -> AmendmentAcknowledgement:
    """Record a party's acknowledgement of the amendment's exact PDF (by its hash)."""
    typed_name = " ".join(typed_name.split())
    if (party, donor_id) not in amendment_parties_of(by, amendment):
        raise ChangeError(_("You cannot acknowledge this amendment for that party."))
    if not typed_name:
        raise ChangeError(_("Type your full name to acknowledge."))
    if sha256.strip().lower() != amendment.sha256:
        raise ChangeError(_("The document you acknowledge is not this amendment: its "
                            "fingerprint differs."))
    amendment_bytes(amendment)
    ack = AmendmentAcknowledgement(party=party, donor_id=donor_id, typed_name=typed_name[:200],
                                   acknowledged_at=clock.now(), user_id=by.id,
                                   sha256=amendment.sha256)
    amendment.acknowledgements.append(ack)
    db.session.flush()
    audit.record("amendment.acknowledged", amendment, actor=by, party=party,
                 donor_id=donor_id, typed_name=ack.typed_name, sha256=ack.sha256)
    return ack


# --- reading ------------------------------------------------------------------------------

def changes_of(proposal: Proposal) -> list[ChangeRequest]:
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.proposal_id == proposal.id).order_by(ChangeRequest.id.desc())))


def open_changes(limit: int = 100) -> list[ChangeRequest]:
    """Requests still waiting for the officer or the donors (the officer's dashboard)."""
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.status.in_([S.submitted, S.donor_review]))
        .order_by(ChangeRequest.submitted_at).limit(limit)))

