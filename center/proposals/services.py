"""Writing a proposal: sections, consortium, team, work plan, budget, travel, IP, files,
co-applicants; the completeness checklist; submission and withdrawal through the workflow.

Every function flushes, never commits; every change is audited and stamped on the section it
touched ("who last changed what"). Section forms carry the section revision they were loaded
at, so a save from a stale tab is refused with `StaleEdit` instead of overwriting.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock
from center.core.db import db
from center.core.filetypes import sniff
from center.core.notifications import send_email
from center.extensions import current_storage
from center.proposals import workflow
from center.proposals.models import (
    Attachment,
    BackgroundIP,
    BudgetCategory,
    BudgetLine,
    BudgetSplit,
    Collaborator,
    Proposal,
    ProposalInstitute,
    ProposalVersion,
    Task,
    TaskEffort,
    TeamMember,
    Trip,
)
from center.tenants.models import Institute, Tenant, VisaRule

SECTIONS = ("overview", "consortium", "team", "workplan", "budget", "travel", "ip",
            "attachments")


class ProposalError(Exception):
    """A change that cannot be made; the message is for the user."""


class NotEditable(ProposalError):
    pass


class StaleEdit(ProposalError):
    """Someone saved this section after the form was loaded."""


class UploadRejected(ProposalError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing that blocks submission, and the section where it is fixed."""

    section: str
    message: str


# --- creating and editing ---------------------------------------------------------------

def start_proposal(call: Call, *, by: User) -> Proposal:
    """Open a draft proposal to ``call`` owned by ``by``."""
    if not call.is_open(clock.now()):
        raise ProposalError("This call is not open for proposals.")
    proposal = Proposal(call_id=call.id, owner_id=by.id, created_at=clock.now(),
                        title="", section_edits={})
    proposal.call = call
    db.session.add(proposal)
    db.session.flush()
    audit.record("proposal.created", proposal, actor=by, call=call.id)
    return proposal


def section_revision(proposal: Proposal, section: str) -> int:
    return int((proposal.section_edits or {}).get(section, {}).get("rev", 0))


def _touch(proposal: Proposal, section: str, by: User, expected_revision: int | None) -> None:
    """Check the proposal may change and the form is current; stamp who changed the section."""
    if not proposal.is_editable:
        raise NotEditable("The proposal is submitted and can no longer be edited.")
    current = section_revision(proposal, section)
    if expected_revision is not None and expected_revision != current:
        last = proposal.section_edits.get(section, {})
        raise StaleEdit(
            f"{last.get('by', 'Someone')} saved this section at {last.get('at', '?')[:16]} UTC "
            "after you opened it. Your text is still in the form: compare and save again."
        )
    edits = dict(proposal.section_edits or {})
    edits[section] = {"rev": current + 1, "by": by.name, "by_id": by.id,
                      "at": clock.now().isoformat(timespec="seconds")}
    proposal.section_edits = edits


def update_sections(proposal: Proposal, section: str, *, by: User,
                    expected_revision: int | None, **fields: Any) -> None:
    """Save the single-form sections (overview, IP plan)."""
    _touch(proposal, section, by, expected_revision)
    for name, value in fields.items():
        setattr(proposal, name, value)
    audit.record(f"proposal.{section}_saved", proposal, actor=by, fields=sorted(fields))
    db.session.flush()


def add_partner(proposal: Proposal, institute: Institute, *, lead: bool, by: User) -> None:
    """Add an institute to the consortium; a new lead replaces the old one."""
    _touch(proposal, "consortium", by, None)
    if any(p.institute_id == institute.id for p in proposal.partners):
        raise ProposalError(f"{institute.name} is already in the consortium.")
    if lead:
        for p in proposal.partners:
            p.is_lead = False
    proposal.partners.append(ProposalInstitute(institute_id=institute.id, is_lead=lead,
                                               institute=institute))
    audit.record("proposal.partner_added", proposal, actor=by, institute=institute.name,
                 lead=lead)
    db.session.flush()


def remove_item(proposal: Proposal, section: str, item: Any, *, by: User) -> None:
    """Remove a row (partner, team member, task, line, trip, IP item) from a list section."""
    _touch(proposal, section, by, None)
    if isinstance(item, ProposalInstitute) and _institute_in_use(proposal, item.institute_id):
        raise ProposalError("Team members, tasks or IP items still name this institute: "
                            "remove them first.")
    if isinstance(item, TeamMember) and any(t.traveller_id == item.id for t in proposal.trips):
        raise ProposalError("This person has trips in the travel plan: remove them first.")
    db.session.delete(item)
    audit.record(f"proposal.{section}_item_removed", proposal, actor=by,
                 item=type(item).__name__, item_id=item.id)
    db.session.flush()
    db.session.expire(proposal)


def _institute_in_use(proposal: Proposal, institute_id: int) -> bool:
    return any(m.institute_id == institute_id for m in proposal.team) or any(
        t.institute_id == institute_id for t in proposal.tasks) or any(
        b.institute_id == institute_id for b in proposal.background_ip)


def add_team_member(proposal: Proposal, *, by: User, **fields: Any) -> TeamMember:
    _touch(proposal, "team", by, None)
    member = TeamMember(**fields)
    proposal.team.append(member)
    audit.record("proposal.team_member_added", proposal, actor=by, name=member.name)
    db.session.flush()
    return member


def add_task(proposal: Proposal, *, by: User, efforts: dict[int, int], **fields: Any) -> Task:
    """Add a work-plan task with working days per team member."""
    _touch(proposal, "workplan", by, None)
    task = Task(**fields)
    proposal.tasks.append(task)
    for member_id, days in efforts.items():
        if days:
            task.efforts.append(TaskEffort(member_id=member_id, days=days))
    audit.record("proposal.task_added", proposal, actor=by, title=task.title)
    db.session.flush()
    return task


def _check_splits(proposal: Proposal, amount: int, splits: dict[int, int]) -> None:
    if sum(splits.values()) != amount:
        raise ProposalError("The donors' shares must add up to the line's amount.")
    call_donors = {d.donor_id for d in proposal.call.donors}
    if not set(splits) <= call_donors:
        raise ProposalError("Only donors taking part in the call can fund a line.")


def _currency(proposal: Proposal) -> str:
    """The currency of the proposal's tenant: its amounts are in its minor units."""
    return db.session.get(Tenant, proposal.tenant_id).currency


def add_budget_line(proposal: Proposal, *, by: User, category: BudgetCategory,
                    description: str, amount: int, splits: dict[int, int]) -> BudgetLine:
    """Add a budget line split between donors; the split must add up to the amount."""
    _touch(proposal, "budget", by, None)
    _check_splits(proposal, amount, splits)
    line = BudgetLine(category=category, description=description, amount=amount)
    line.splits = [BudgetSplit(donor_id=d, amount=a) for d, a in splits.items() if a]
    proposal.budget_lines.append(line)
    audit.record("proposal.budget_line_added", proposal, actor=by, category=str(category),
                 amount=amount, currency=_currency(proposal))
    db.session.flush()
    return line


def visa_needs(citizenship: str, destination: str) -> tuple[bool, bool]:
    """Return (visa needed, invitation letter needed) from the tenant's visa table."""
    if citizenship == destination:
        return False, False
    rule = db.session.scalar(select(VisaRule).where(VisaRule.citizenship == citizenship,
                                                    VisaRule.destination == destination))
    if rule is None:  # unknown pair: plan for the paperwork
        return True, True
    return rule.visa_required, rule.invitation_required


def add_trip(proposal: Proposal, *, by: User, traveller: TeamMember, **fields: Any) -> Trip:
    _touch(proposal, "travel", by, None)
    visa, invitation = visa_needs(traveller.citizenship, fields["destination_country"])
    trip = Trip(traveller_id=traveller.id, visa_needed=visa, invitation_needed=invitation,
                **fields)
    proposal.trips.append(trip)
    audit.record("proposal.trip_added", proposal, actor=by,
                 destination=fields["destination_country"])
    db.session.flush()
    return trip


def _change(proposal: Proposal, section: str, item: Any, *, by: User,
            expected_revision: int | None, fields: dict[str, Any]) -> list[str]:
    """Set ``fields`` on a row of a list section; return the names of those that changed.

    The section's revision guards the row like a single-form section: a form opened before
    someone else saved the section is refused with StaleEdit, its input kept.
    """
    _touch(proposal, section, by, expected_revision)
    changed = sorted(name for name, value in fields.items() if getattr(item, name) != value)
    for name in changed:
        setattr(item, name, fields[name])
    return changed


def _set_shares(rows: list[Any], shares: dict[int, int], key: str, value: str,
                make: type) -> bool:
    """Make child ``rows`` hold ``shares`` ({key: value}, zeros dropped); True if they changed.

    Rows are updated in place: (parent, key) is unique, and a new row for a key would be
    inserted before its old one is deleted.
    """
    wanted = {k: v for k, v in shares.items() if v}
    if {getattr(row, key): getattr(row, value) for row in rows} == wanted:
        return False
    for row in list(rows):
        if getattr(row, key) in wanted:
            setattr(row, value, wanted.pop(getattr(row, key)))
        else:
            rows.remove(row)
    rows += [make(**{key: k, value: v}) for k, v in wanted.items()]
    return True


def update_team_member(proposal: Proposal, member: TeamMember, *, by: User,
                       expected_revision: int | None, **fields: Any) -> list[str]:
    """Correct a team member; a new citizenship re-reads the visa needs of their trips."""
    changed = _change(proposal, "team", member, by=by, expected_revision=expected_revision,
                      fields=fields)
    if "citizenship" in changed:
        for trip in proposal.trips:
            if trip.traveller_id == member.id:
                trip.visa_needed, trip.invitation_needed = visa_needs(
                    member.citizenship, trip.destination_country)
    audit.record("proposal.team_member_changed", proposal, actor=by, item_id=member.id,
                 fields=changed)
    db.session.flush()
    return changed


def update_budget_line(proposal: Proposal, line: BudgetLine, *, by: User,
                       expected_revision: int | None, category: BudgetCategory,
                       description: str, amount: int, splits: dict[int, int]) -> list[str]:
    """Correct a budget line and its split between donors."""
    _check_splits(proposal, amount, splits)
    changed = _change(proposal, "budget", line, by=by, expected_revision=expected_revision,
                      fields={"category": category, "description": description,
                              "amount": amount})
    if _set_shares(line.splits, splits, "donor_id", "amount", BudgetSplit):
        changed.append("splits")
    audit.record("proposal.budget_line_changed", proposal, actor=by, item_id=line.id,
                 fields=changed, amount=amount, currency=_currency(proposal))
    db.session.flush()
    return changed


def update_trip(proposal: Proposal, trip: Trip, *, by: User, expected_revision: int | None,
                traveller: TeamMember, **fields: Any) -> list[str]:
    """Correct a trip; its visa and invitation needs follow the traveller and destination."""
    changed = _change(proposal, "travel", trip, by=by, expected_revision=expected_revision,
                      fields={"traveller_id": traveller.id, **fields})
    trip.visa_needed, trip.invitation_needed = visa_needs(traveller.citizenship,
                                                          trip.destination_country)
    audit.record("proposal.trip_changed", proposal, actor=by, item_id=trip.id, fields=changed)
    db.session.flush()
    return changed


def update_task(proposal: Proposal, task: Task, *, by: User, expected_revision: int | None,
                efforts: dict[int, int], **fields: Any) -> list[str]:
    """Correct a work-plan task and the working days each team member gives it."""
    changed = _change(proposal, "workplan", task, by=by, expected_revision=expected_revision,
                      fields=fields)
    if _set_shares(task.efforts, efforts, "member_id", "days", TaskEffort):
        changed.append("efforts")
    audit.record("proposal.task_changed", proposal, actor=by, item_id=task.id, fields=changed)
    db.session.flush()
    return changed


def update_background_ip(proposal: Proposal, item: BackgroundIP, *, by: User,
                         expected_revision: int | None, **fields: Any) -> list[str]:
    """Correct an item of background IP."""
    changed = _change(proposal, "ip", item, by=by, expected_revision=expected_revision,
                      fields=fields)
    audit.record("proposal.background_ip_changed", proposal, actor=by, item_id=item.id,
                 fields=changed)
    db.session.flush()
    return changed


def add_background_ip(proposal: Proposal, *, by: User, **fields: Any) -> BackgroundIP:
    _touch(proposal, "ip", by, None)
    item = BackgroundIP(**fields)
    proposal.background_ip.append(item)
    audit.record("proposal.background_ip_added", proposal, actor=by)
    db.session.flush()
    return item


def upload_attachment(proposal: Proposal, *, by: User, kind: str, filename: str,
                      data: bytes) -> Attachment:
    """Store an uploaded file after checking its size and its type by content.

    Effects: the bytes stored under a fresh key (never overwriting another file); an
    Attachment row with the sha256; an audit event. A rejected file changes nothing.
    """
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > limit:
        raise UploadRejected(f"The file is {len(data) / 1048576:.1f} MB; the limit is "
                             f"{limit / 1048576:.0f} MB.")
    kind_found = sniff(data)
    if kind_found is None:
        raise UploadRejected("This file is not a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG "
                             "document, whatever its name says.")
    _touch(proposal, "attachments", by, None)
    stem = filename.rsplit(".", 1)[0][:150] or "file"
    clean_name = f"{stem}.{kind_found.extension}"
    key = f"t{proposal.tenant_id}/proposals/{proposal.id}/{uuid.uuid4().hex}.{kind_found.extension}"
    stored = current_storage().put(key, data, kind_found.mime)
    attachment = Attachment(kind=kind, filename=clean_name, content_type=kind_found.mime,
                            size=stored.size, sha256=stored.sha256, storage_key=key,
                            uploaded_at=clock.now(), uploaded_by_id=by.id)
    proposal.attachments.append(attachment)
    audit.record("proposal.attachment_uploaded", proposal, actor=by, filename=clean_name,
                 sha256=stored.sha256)
    db.session.flush()
    return attachment


def invite_collaborator(proposal: Proposal, email: str, *, by: User, tenant: Tenant,
                        accept_url_for: Any) -> Collaborator:
    """Invite a co-applicant by e-mail to edit the proposal together."""
    email = email.strip().lower()
    if any(c.email == email for c in proposal.collaborators) or email == by.email:
        raise ProposalError("This person is already invited.")
    invitation = Collaborator(email=email, token=secrets.token_urlsafe(24),
                              invited_at=clock.now())
    proposal.collaborators.append(invitation)
    db.session.flush()
    send_email(email, f"Invitation to co-edit a proposal to {tenant.short_name}",
               "collaborator_invitation", tenant_id=tenant.id, proposal=proposal, inviter=by,
               url=accept_url_for(invitation.token))
    audit.record("proposal.collaborator_invited", proposal, actor=by, email=email)
    return invitation


def find_invitation(token: str) -> Collaborator | None:
    return db.session.scalar(select(Collaborator).where(Collaborator.token == token))


def accept_invitation(invitation: Collaborator, *, user: User) -> Proposal:
    """Let ``user`` co-edit the invitation's proposal."""
    if invitation.accepted_at is not None:
        raise ProposalError("This invitation is not valid any more.")
    invitation.user_id = user.id
    invitation.accepted_at = clock.now()
    audit.record("proposal.collaborator_joined", invitation.proposal, actor=user)
    db.session.flush()
    return invitation.proposal


# --- reading -------------------------------------------------------------------------------

def budget_totals(proposal: Proposal) -> dict[str, Any]:
    """Totals by donor, by category and overall, in minor units."""
    by_donor: dict[int, int] = defaultdict(int)
    by_category: dict[str, int] = defaultdict(int)
    for line in proposal.budget_lines:
        by_category[line.category] += line.amount
        for split in line.splits:
            by_donor[split.donor_id] += split.amount
    return {"by_donor": dict(by_donor), "by_category": dict(by_category),
            "total": proposal.total_budget}


def effort_by_member(proposal: Proposal) -> dict[int, int]:
    days: dict[int, int] = defaultdict(int)
    for task in proposal.tasks:
        for effort in task.efforts:
            days[effort.member_id] += effort.days
    return dict(days)


def checklist(proposal: Proposal) -> list[Problem]:
    """Return everything that blocks submission, section by section."""
    call = proposal.call
    problems: list[Problem] = []

    def need(condition: bool, section: str, message: str) -> None:
        if not condition:
            problems.append(Problem(section, message))

    need(bool(proposal.title.strip()), "overview", "Give the proposal a title.")
    need(len(proposal.abstract.split()) >= 50, "overview",
         "Write an abstract of at least 50 words.")
    need(bool(proposal.objectives.strip()), "overview", "State the objectives.")
    need(bool(proposal.keywords.strip()), "overview", "Give a few keywords.")
    need(proposal.duration_months is not None
         and 1 <= proposal.duration_months <= call.max_duration_months, "overview",
         f"Set a duration between 1 and {call.max_duration_months} months.")

    need(proposal.lead is not None, "consortium", "Choose the lead institute.")
    for p in proposal.partners:
        need(p.institute.country_code in call.eligible_countries, "consortium",
             f"{p.institute.name} is in a country this call does not fund.")

    in_consortium = {p.institute_id for p in proposal.partners}
    need(any(m.role == "principal_investigator" for m in proposal.team), "team",
         "Name the principal investigator.")
    for m in proposal.team:
        need(m.institute_id in in_consortium, "team",
             f"{m.name} works at an institute outside the consortium.")

    need(bool(proposal.tasks), "workplan", "Add at least one task to the work plan.")
    for t in proposal.tasks:
        need(t.institute_id in in_consortium, "workplan",
             f"Task “{t.title}” is led by an institute outside the consortium.")
        need(proposal.duration_months is None or t.end_month <= proposal.duration_months,
             "workplan", f"Task “{t.title}” ends after the project.")

    problems += budget_problems(proposal)

    need(proposal.foreground_ip is not None, "ip", "Say how foreground IP is allocated.")
    need(bool(proposal.publication_policy.strip()), "ip", "State the publication policy.")

    present = {a.kind for a in proposal.attachments}
    for kind in call.required_attachments:
        need(kind in present, "attachments", f"Attach the required document: {kind}.")
    return problems


def budget_problems(proposal: Proposal) -> list[Problem]:
    call = proposal.call
    problems = []
    if not proposal.budget_lines:
        return [Problem("budget", "Add the budget lines.")]
    for line in proposal.budget_lines:
        if sum(s.amount for s in line.splits) != line.amount:
            problems.append(Problem("budget", f"The donor shares of “{line.description}” "
                                              "do not add up to its amount."))
    totals = budget_totals(proposal)
    if totals["total"] > call.budget_ceiling:
        problems.append(Problem("budget", "The total is above the call's ceiling per proposal."))
    overhead = totals["by_category"].get(BudgetCategory.overhead, 0)
    direct = totals["total"] - overhead
    if overhead * 100 > direct * call.overhead_cap_percent:
        problems.append(Problem("budget", f"Overhead is above {call.overhead_cap_percent}% "
                                          "of the direct costs."))
    offers = {d.donor_id: d for d in call.donors}
    for donor_id, asked in totals["by_donor"].items():
        offer = offers.get(donor_id)
        if offer is None:
            problems.append(Problem("budget", "A line asks a donor that is not in the call."))
        elif asked > offer.offered:
            problems.append(Problem("budget", f"{offer.donor.name} is asked for more than it "
                                              "offers in this call."))
    return problems


def snapshot(proposal: Proposal) -> dict[str, Any]:
    """Return the proposal's content as plain data, frozen into each submitted version."""
    return {
        "title": proposal.title, "acronym": proposal.acronym, "abstract": proposal.abstract,
        "objectives": proposal.objectives, "keywords": proposal.keywords,
        "topic": proposal.topic, "duration_months": proposal.duration_months,
        "consortium": [{"institute": p.institute.name, "country": p.institute.country_code,
                        "lead": p.is_lead} for p in proposal.partners],
        "team": [{"name": m.name, "role": m.role, "institute": m.institute.name,
                  "citizenship": m.citizenship, "email": m.email} for m in proposal.team],
        "tasks": [{"title": t.title, "description": t.description,
                   "institute": t.institute.name, "months": [t.start_month, t.end_month],
                   "days": {e.member.name: e.days for e in t.efforts}}
                  for t in proposal.tasks],
        "budget": [{"category": line.category, "description": line.description,
                    "amount": line.amount,
                    "splits": {s.donor.short_name: s.amount for s in line.splits}}
                   for line in proposal.budget_lines],
        "trips": [{"traveller": t.traveller.name, "from": t.origin_country,
                   "to": t.destination_country, "depart": t.depart_on.isoformat(),
                   "return": t.return_on.isoformat(), "purpose": t.purpose,
                   "visa": t.visa_needed, "invitation": t.invitation_needed}
                  for t in proposal.trips],
        "ip": {"background": [{"institute": b.institute.name, "description": b.description,
                               "restrictions": b.restrictions} for b in proposal.background_ip],
               "foreground": proposal.foreground_ip, "terms": proposal.foreground_ip_terms,
               "publication": proposal.publication_policy},
        "attachments": [{"kind": a.kind, "filename": a.filename, "sha256": a.sha256}
                        for a in proposal.attachments],
    }


def diff_versions(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Name the top-level parts that changed between two snapshots."""
    return [key for key in new if old.get(key) != new.get(key)]


# --- workflow hooks ------------------------------------------------------------------------

@workflow.guard("submit")
def _submit_guard(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    problems = []
    if not proposal.call.is_open(clock.now()):
        problems.append("The call closed; proposals are no longer accepted.")
    problems += [p.message for p in checklist(proposal)]
    return problems


@workflow.effect("submit")
def _freeze_version(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    now = clock.now()
    data = snapshot(proposal)
    proposal.version_no += 1
    proposal.submitted_at = now
    proposal.submitted_by_id = by.id
    proposal.versions.append(ProposalVersion(
        number=proposal.version_no, submitted_at=now, submitted_by_id=by.id, snapshot=data,
        sha256=hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest(),
    ))
    recipients = {proposal.owner.email} | {c.email for c in proposal.collaborators
                                           if c.accepted_at}
    for email in sorted(recipients):
        send_email(email, f"Proposal received: {proposal.title}", "proposal_submitted",
                   tenant_id=proposal.tenant_id, proposal=proposal, version=proposal.version_no)


@workflow.effect("withdraw")
def _tell_withdrawn(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    send_email(proposal.owner.email, f"Proposal withdrawn: {proposal.title}",
               "proposal_withdrawn", tenant_id=proposal.tenant_id, proposal=proposal, by=by)


def my_proposals(user: User) -> list[Proposal]:
    """The proposals a user leads or co-edits in the current tenant, newest first."""
    shared = select(Collaborator.proposal_id).where(Collaborator.user_id == user.id,
                                                    Collaborator.accepted_at.is_not(None))
    query = (select(Proposal)
             .where((Proposal.owner_id == user.id) | Proposal.id.in_(shared))
             .order_by(Proposal.created_at.desc()))
    return list(db.session.scalars(query))

