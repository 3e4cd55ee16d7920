"""Writing a proposal: sections, consortium, team, work plan, budget, travel, IP, files,
co-applicants; the completeness checklist; submission and withdrawal through the workflow.

Every function flushes, never commits; every change is audited and stamped on the section it
touched ("who last changed what"). Section forms carry the section revision they were loaded
at, so a save from a stale tab is refused with `StaleEdit` instead of overwriting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock
from center.core.db import db
from center.core.filetypes import PDF, sniff
from center.core.money import format_money
from center.core.notifications import send_email
from center.core.pdf_safety import UnsafePdf, neutralise_pdf
from center.core.storage import delete_after_commit, discard_on_rollback
from center.extensions import current_storage
from center.proposals import travel, workflow
from center.proposals.models import (
    PRINCIPAL_INVESTIGATOR,
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
from center.tenants.models import Institute, Tenant

#: What the applicant declares by submitting; stored with each submitted version.
DECLARATION = _l(
    "I declare, for every applicant of this consortium, that the information in this "
    "proposal is true and complete; that the work it describes is not funded, and not "
    "proposed for funding, elsewhere, except as the proposal states; and that every person "
    "named in it has agreed to be named and to the use of their data for this proposal.")

SECTIONS = ("overview", "consortium", "team", "workplan", "budget", "travel", "ip",
            "attachments")


class ProposalError(Exception):
    """A change that cannot be made; the message is for the user."""


class NotEditable(ProposalError):
    """The proposal's state, not the user, forbids the change."""


class FieldError(ProposalError):
    """A refusal about one field of the form: the view shows it next to that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
        raise ProposalError(_("This call is not open for proposals."))
    proposal = Proposal(call_id=call.id, owner_id=by.id, created_at=clock.now(),
                        title="", section_edits={})
    proposal.call = call
    db.session.add(proposal)
    db.session.flush()
    audit.record("proposal.created", proposal, actor=by, call=call.id)
    return proposal


def not_editable_reason(proposal: Proposal) -> str:
    """Why the applicants cannot change the proposal now: its state."""
    return _("This proposal is %(state)s, so it can no longer be changed.",
             state=proposal.status_label)


def stale_message(proposal: Proposal, section: str) -> str:
    """Say who saved ``section`` after the user's form was opened."""
    last = (proposal.section_edits or {}).get(section, {})
    return (f"{last.get('by', 'Someone')} saved this section at {last.get('at', '?')[:16]} "
            "UTC after you opened it. Your text is still in the form: compare and save again.")


def section_revision(proposal: Proposal, section: str) -> int:
    return int((proposal.section_edits or {}).get(section, {}).get("rev", 0))


def _touch(proposal: Proposal, section: str, by: User, expected_revision: int | None) -> None:
    """Check the proposal may change and the form is current; stamp who changed the section."""
    if not proposal.is_editable:
        raise NotEditable(not_editable_reason(proposal))
    current = section_revision(proposal, section)
    if expected_revision is not None and expected_revision != current:
        raise StaleEdit(stale_message(proposal, section))
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


def add_partner(proposal: Proposal, institute: Institute, *, by: User, lead: bool = False,
                foreign: bool = False) -> ProposalInstitute:
    """Add an institute to the consortium as the lead, a partner or a foreign collaborator.

    The lead and partners are in the call's eligible countries; a foreign collaborator (an
    institute of a donor country) is outside them. A second lead is refused: the lead
    changes only with `make_lead`, which says whom it replaces.
    """
    _touch(proposal, "consortium", by, None)
    if any(p.institute_id == institute.id for p in proposal.partners):
        raise FieldError("institute_id", _("%(name)s is already in the consortium.",
                                           name=institute.name))
    eligible = institute.country_code in proposal.call.eligible_countries
    if foreign and lead:
        raise FieldError("role", _("A foreign collaborator cannot lead the consortium."))
    if foreign and eligible:
        raise FieldError("role", _(
            "%(name)s is in %(country)s, a country this call funds: add it as a partner.",
            name=institute.name, country=institute.country_name))
    if not foreign and not eligible:
        raise FieldError("role", _(
            "%(name)s is in %(country)s, which this call does not fund: it can take part "
            "only as a foreign collaborator, without grant money.",
            name=institute.name, country=institute.country_name))
    current = proposal.lead
    if lead and current is not None:
        raise FieldError("role", _(
            "%(name)s is the lead institute. Add this institute as a partner, then choose "
            "“Make lead” if it should lead instead.", name=current.institute.name))
    partner = ProposalInstitute(institute_id=institute.id, is_lead=lead,
                                foreign_collaborator=foreign, institute=institute)
    proposal.partners.append(partner)
    audit.record("proposal.partner_added", proposal, actor=by, institute=institute.name,
                 role=str(partner.role))
    db.session.flush()
    return partner


def make_lead(proposal: Proposal, partner: ProposalInstitute, *, by: User,
              expected_revision: int | None) -> None:
    """Make ``partner`` the lead institute; the previous lead becomes a partner.

    Effects: the old lead's flag cleared and flushed before the new one is set (the partial
    unique index allows one lead at a time); an audit event naming both.
    """
    _touch(proposal, "consortium", by, expected_revision)
    if partner.is_lead:
        raise ProposalError(_("%(name)s is already the lead institute.",
                              name=partner.institute.name))
    if partner.foreign_collaborator:
        raise ProposalError(_("A foreign collaborator cannot lead the consortium."))
    previous = proposal.lead
    if previous is not None:
        previous.is_lead = False
        db.session.flush()
    partner.is_lead = True
    audit.record("proposal.lead_changed", proposal, actor=by, institute=partner.institute.name,
                 previous=previous.institute.name if previous else None)
    db.session.flush()


def make_principal_investigator(proposal: Proposal, member: TeamMember, *, by: User,
                                expected_revision: int | None) -> None:
    """Make ``member`` the principal investigator; the previous one becomes a scientist.

    Effects: the previous PI's role changed and flushed first (the partial unique index
    allows one PI at a time); an audit event naming both.
    """
    _touch(proposal, "team", by, expected_revision)
    if member.role == PRINCIPAL_INVESTIGATOR:
        raise ProposalError(_("%(name)s is already the principal investigator.",
                              name=member.name))
    previous = proposal.principal_investigator
    if previous is not None:
        previous.role = "scientist"
        db.session.flush()
    member.role = PRINCIPAL_INVESTIGATOR
    audit.record("proposal.principal_investigator_changed", proposal, actor=by,
                 name=member.name, previous=previous.name if previous else None)
    db.session.flush()


def _check_single_pi(proposal: Proposal, role: str, member: TeamMember | None) -> None:
    current = proposal.principal_investigator
    if role == PRINCIPAL_INVESTIGATOR and current is not None and current is not member:
        raise FieldError("role", _(
            "%(name)s is the principal investigator. Add this person in another role, then "
            "choose “Make PI” if they should lead instead.", name=current.name))


def remove_item(proposal: Proposal, section: str, item: Any, *, by: User) -> None:
    """Remove a row (partner, team member, task, line, trip, IP item) from a list section."""
    _touch(proposal, section, by, None)
    if isinstance(item, ProposalInstitute) and _institute_in_use(proposal, item.institute_id):
        raise ProposalError(_("Team members, tasks, budget lines or IP items still name this "
                              "institute: remove or change them first."))
    if isinstance(item, TeamMember) and any(t.traveller_id == item.id for t in proposal.trips):
        raise ProposalError(_("This person has trips in the travel plan: remove them first."))
    db.session.delete(item)
    audit.record(f"proposal.{section}_item_removed", proposal, actor=by,
                 item=type(item).__name__, item_id=item.id)
    db.session.flush()
    db.session.expire(proposal)


def _institute_in_use(proposal: Proposal, institute_id: int) -> bool:
    return any(m.institute_id == institute_id for m in proposal.team) or any(
        t.institute_id == institute_id for t in proposal.tasks) or any(
        b.institute_id == institute_id for b in proposal.background_ip) or any(
        line.institute_id == institute_id for line in proposal.budget_lines)


def add_team_member(proposal: Proposal, *, by: User, **fields: Any) -> TeamMember:
    _touch(proposal, "team", by, None)
    _check_single_pi(proposal, fields.get("role", ""), None)
    member = TeamMember(**fields)
    proposal.team.append(member)
    audit.record("proposal.team_member_added", proposal, actor=by, name=member.name)
    db.session.flush()
    return member


def add_task(proposal: Proposal, *, by: User, efforts: dict[int, int], **fields: Any) -> Task:
    """Add a work-plan task with working days per team member."""
    _touch(proposal, "workplan", by, None)
    _check_days(fields["start_month"], fields["end_month"], efforts)
    task = Task(**fields)
    proposal.tasks.append(task)
    for member_id, days in efforts.items():
        if days:
            task.efforts.append(TaskEffort(member_id=member_id, days=days))
    audit.record("proposal.task_added", proposal, actor=by, title=task.title)
    db.session.flush()
    return task


#: About 22 working days a month: nobody works more on a task than 22 x its months.
WORKING_DAYS_PER_MONTH = 22


def max_task_days(start_month: int, end_month: int) -> int:
    """The most working days one person can give a task running these months."""
    return WORKING_DAYS_PER_MONTH * max(end_month - start_month + 1, 1)


def _check_days(start_month: int, end_month: int, efforts: dict[int, int]) -> None:
    limit = max_task_days(start_month, end_month)
    for member_id, days in efforts.items():
        if days < 0:
            raise FieldError(f"days_{member_id}", _("Working days cannot be negative."))
        if days > limit:
            raise FieldError(f"days_{member_id}", _(
                "At most %(limit)d working days in %(months)d months (22 a month).",
                limit=limit, months=end_month - start_month + 1))


def _budget_institute(proposal: Proposal, institute_id: int | None) -> int:
    """The institute a budget line is for: one of the consortium that may receive money."""
    if institute_id is None:  # callers outside the editor: the lead institute's line
        if proposal.lead is None:
            raise FieldError("institute_id", _("Add the lead institute to the consortium "
                                               "first."))
        return proposal.lead.institute_id
    partner = next((p for p in proposal.partners if p.institute_id == institute_id), None)
    if partner is None:
        raise FieldError("institute_id", _("Choose an institute of the consortium."))
    if partner.foreign_collaborator:
        raise FieldError("institute_id", _(
            "%(name)s is a foreign collaborator: foreign collaborators receive no grant "
            "money, so they have no budget lines.", name=partner.institute.name))
    return institute_id


def _check_splits(proposal: Proposal, amount: int, splits: dict[int, int]) -> None:
    # The form refuses it too; the service must not leave the refusal to the CHECK constraint.
    if amount <= 0:
        raise FieldError("amount", _("A budget line's amount must be more than zero."))
    if any(share < 0 for share in splits.values()):
        raise FieldError("amount", _("A donor's share cannot be negative."))
    if sum(splits.values()) != amount:
        raise ProposalError(_("The donors' shares must add up to the line's amount."))
    call_donors = {d.donor_id for d in proposal.call.donors}
    if not set(splits) <= call_donors:
        raise ProposalError(_("Only donors taking part in the call can fund a line."))


def _currency(proposal: Proposal) -> str:
    """The currency of the proposal's tenant: its amounts are in its minor units."""
    return db.session.get(Tenant, proposal.tenant_id).currency


def add_budget_line(proposal: Proposal, *, by: User, category: BudgetCategory,
                    description: str, amount: int, splits: dict[int, int],
                    institute_id: int | None = None) -> BudgetLine:
    """Add an institute's budget line split between donors; the split must add up to the
    amount. Without ``institute_id`` the line is the lead institute's."""
    _touch(proposal, "budget", by, None)
    institute_id = _budget_institute(proposal, institute_id)
    _check_splits(proposal, amount, splits)
    line = BudgetLine(category=category, description=description, amount=amount,
                      institute_id=institute_id)
    line.splits = [BudgetSplit(donor_id=d, amount=a) for d, a in splits.items() if a]
    proposal.budget_lines.append(line)
    audit.record("proposal.budget_line_added", proposal, actor=by, category=str(category),
                 amount=amount, currency=_currency(proposal))
    db.session.flush()
    return line


def _check_trip(fields: dict[str, Any]) -> None:
    """Refuse an impossible trip (the form says it next to the field; this is the guard)."""
    errors = travel.trip_errors(
        origin_country=fields["origin_country"], origin_city=fields.get("origin_city", ""),
        destination_country=fields["destination_country"],
        destination_city=fields.get("destination_city", ""), depart_on=fields["depart_on"],
        return_on=fields["return_on"], today=clock.now().date())
    if errors:
        raise ProposalError(" ".join(errors.values()))


def add_trip(proposal: Proposal, *, by: User, traveller: TeamMember, **fields: Any) -> Trip:
    """Add a trip; its visa and letter needs come from the tenant's visa rules."""
    _touch(proposal, "travel", by, None)
    _check_trip(fields)
    visa, invitation = travel.trip_needs(traveller, fields["destination_country"])
    trip = Trip(traveller_id=traveller.id, visa_needed=visa, invitation_needed=invitation,
                **fields)
    proposal.trips.append(trip)
    audit.record("proposal.trip_added", proposal, actor=by,
                 destination=fields["destination_country"], cost=fields.get("cost", 0))
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
    _check_single_pi(proposal, fields.get("role", member.role), member)
    changed = _change(proposal, "team", member, by=by, expected_revision=expected_revision,
                      fields=fields)
    if "citizenship" in changed:
        for trip in proposal.trips:
            if trip.traveller_id == member.id:
                trip.visa_needed, trip.invitation_needed = travel.trip_needs(
                    member, trip.destination_country)
    audit.record("proposal.team_member_changed", proposal, actor=by, item_id=member.id,
                 fields=changed)
    db.session.flush()
    return changed


def update_budget_line(proposal: Proposal, line: BudgetLine, *, by: User,
                       expected_revision: int | None, category: BudgetCategory,
                       description: str, amount: int, splits: dict[int, int],
                       institute_id: int | None = None) -> list[str]:
    """Correct a budget line, its institute and its split between donors."""
    institute_id = _budget_institute(proposal, institute_id or line.institute_id)
    _check_splits(proposal, amount, splits)
    changed = _change(proposal, "budget", line, by=by, expected_revision=expected_revision,
                      fields={"category": category, "description": description,
                              "amount": amount, "institute_id": institute_id})
    if _set_shares(line.splits, splits, "donor_id", "amount", BudgetSplit):
        changed.append("splits")
    audit.record("proposal.budget_line_changed", proposal, actor=by, item_id=line.id,
                 fields=changed, amount=amount, currency=_currency(proposal))
    db.session.flush()
    return changed


def update_trip(proposal: Proposal, trip: Trip, *, by: User, expected_revision: int | None,
                traveller: TeamMember, **fields: Any) -> list[str]:
    """Correct a trip; its visa and invitation needs follow the traveller and destination."""
    _check_trip(fields)
    changed = _change(proposal, "travel", trip, by=by, expected_revision=expected_revision,
                      fields={"traveller_id": traveller.id, **fields})
    trip.visa_needed, trip.invitation_needed = travel.trip_needs(traveller,
                                                                 trip.destination_country)
    audit.record("proposal.trip_changed", proposal, actor=by, item_id=trip.id, fields=changed)
    db.session.flush()
    return changed


def update_task(proposal: Proposal, task: Task, *, by: User, expected_revision: int | None,
                efforts: dict[int, int], **fields: Any) -> list[str]:
    """Correct a work-plan task and the working days each team member gives it."""
    _check_days(fields.get("start_month", task.start_month),
                fields.get("end_month", task.end_month), efforts)
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


def clean_filename(filename: str, extension: str) -> str:
    """Return a file name safe to store, show and send back: no path, no control characters
    (CR, LF, NUL ... would break the download's headers), at most 150 characters before the
    canonical ``extension`` of the type found in the bytes."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    stem = " ".join(name.rsplit(".", 1)[0].split()).strip(" .")[:150].strip(" .")
    return f"{stem or 'file'}.{extension}"


def _checked_upload(filename: str, data: bytes) -> tuple[str, str, bytes, str]:
    """Check an upload's size and type by content and take active content out of a PDF.

    Returns the clean file name, the MIME type, the bytes to store and a note of what was
    removed (empty when nothing was). Raises `UploadRejected` and changes nothing.
    """
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if not data:
        raise UploadRejected(_("The file is empty."))
    if len(data) > limit:
        raise UploadRejected(_("The file is %(size).1f MB; the limit is %(limit).0f MB.",
                               size=len(data) / 1048576, limit=limit / 1048576))
    kind_found = sniff(data)
    if kind_found is None:
        raise UploadRejected(_("This file is not a PDF, Word (DOCX), Excel (XLSX), PNG or "
                               "JPEG document, whatever its name says."))
    note = ""
    if kind_found == PDF:
        try:
            data, findings = neutralise_pdf(data)
        except UnsafePdf:
            raise UploadRejected(_("This PDF cannot be read or is password-protected, so it "
                                   "cannot be checked. Save or print it as a new PDF without "
                                   "a password and upload that.")) from None
        if findings:
            note = _("Scripts, automatic actions and embedded files were removed from this "
                     "PDF; its text and pages are unchanged.")
    return clean_filename(filename, kind_found.extension), kind_found.mime, data, note


def _store(proposal: Proposal, data: bytes, mime: str, extension: str) -> Any:
    storage = current_storage()
    key = f"t{proposal.tenant_id}/proposals/{proposal.id}/{uuid.uuid4().hex}.{extension}"
    stored = storage.put(key, data, mime)
    discard_on_rollback(db.session, storage, key)
    return stored


def upload_attachment(proposal: Proposal, *, by: User, kind: str, filename: str,
                      data: bytes) -> Attachment:
    """Store an uploaded file after checking its size and its type by content.

    Effects: active content taken out of a PDF; the bytes stored under a fresh key (never
    overwriting another file, deleted again if the transaction rolls back); an Attachment
    row with the sha256; an audit event. A rejected file changes nothing.
    """
    clean_name, mime, data, note = _checked_upload(filename, data)
    _touch(proposal, "attachments", by, None)
    stored = _store(proposal, data, mime, clean_name.rsplit(".", 1)[1])
    attachment = Attachment(kind=kind, filename=clean_name, content_type=mime,
                            size=stored.size, sha256=stored.sha256, storage_key=stored.key,
                            uploaded_at=clock.now(), uploaded_by_id=by.id)
    attachment.upload_note = note
    proposal.attachments.append(attachment)
    audit.record("proposal.attachment_uploaded", proposal, actor=by, filename=clean_name,
                 sha256=stored.sha256, active_content_removed=bool(note) or None)
    db.session.flush()
    return attachment


def _release_file(proposal: Proposal, key: str) -> None:
    """Delete a stored file the proposal no longer names, once the change commits; a file
    that went into a submitted version stays, as the record of what was submitted."""
    if not proposal.version_no:
        delete_after_commit(db.session, current_storage(), key)


def replace_attachment(proposal: Proposal, attachment: Attachment, *, by: User,
                       filename: str, data: bytes) -> Attachment:
    """Put a new file in place of ``attachment`` (same document kind).

    Effects: the new file checked and stored as by `upload_attachment`; the row points at
    it; the old file deleted after commit (kept if a submitted version holds it); an audit
    event with both fingerprints. A rejected file leaves the old one in place.
    """
    clean_name, mime, data, note = _checked_upload(filename, data)
    _touch(proposal, "attachments", by, None)
    stored = _store(proposal, data, mime, clean_name.rsplit(".", 1)[1])
    old_key, old_sha = attachment.storage_key, attachment.sha256
    attachment.filename, attachment.content_type = clean_name, mime
    attachment.size, attachment.sha256, attachment.storage_key = (
        stored.size, stored.sha256, stored.key)
    attachment.uploaded_at, attachment.uploaded_by_id = clock.now(), by.id
    attachment.upload_note = note
    audit.record("proposal.attachment_replaced", proposal, actor=by, filename=clean_name,
                 old_sha256=old_sha, sha256=stored.sha256,
                 active_content_removed=bool(note) or None)
    db.session.flush()
    _release_file(proposal, old_key)
    return attachment


def remove_attachment(proposal: Proposal, attachment: Attachment, *, by: User) -> None:
    """Take a file off the proposal.

    Effects: the row deleted; the stored file deleted after commit (kept if a submitted
    version holds it); an audit event with its name and fingerprint.
    """
    _touch(proposal, "attachments", by, None)
    key = attachment.storage_key
    audit.record("proposal.attachment_removed", proposal, actor=by,
                 filename=attachment.filename, sha256=attachment.sha256)
    proposal.attachments.remove(attachment)
    db.session.delete(attachment)
    db.session.flush()
    _release_file(proposal, key)


def invite_collaborator(proposal: Proposal, email: str, *, by: User, tenant: Tenant,
                        accept_url_for: Any) -> Collaborator:
    """Invite a co-applicant by e-mail to edit the proposal together."""
    email = email.strip().lower()
    if any(c.email == email for c in proposal.collaborators) or email == by.email:
        raise ProposalError(_("This person is already invited."))
    invitation = Collaborator(email=email, token=secrets.token_urlsafe(24),
                              invited_at=clock.now())
    proposal.collaborators.append(invitation)
    db.session.flush()
    send_email(email, _l("Invitation to co-edit a proposal to %(center)s",
                         center=tenant.short_name),
               "collaborator_invitation", tenant_id=tenant.id, proposal=proposal, inviter=by,
               url=accept_url_for(invitation.token))
    audit.record("proposal.collaborator_invited", proposal, actor=by, email=email)
    return invitation


class InvitationRefused(ProposalError):
    """A co-applicant invitation that this user cannot accept; ``reason`` says why:
    ``accepted`` (used already), ``expired``, ``closed`` (the proposal is no longer
    editable) or ``other_address`` (it was sent to another e-mail address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def find_invitation(token: str) -> Collaborator | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Collaborator).where(Collaborator.token == token))


def invitation_refusal(invitation: Collaborator, *, user: User) -> str | None:
    """Return why ``user`` cannot accept the invitation (see `InvitationRefused`), or None.

    An invitation is bound to the address it was sent to (compared case-insensitively),
    works for COLLABORATOR_INVITATION_DAYS and only while the proposal is editable.
    """
    if invitation.accepted_at is not None:
        return "accepted"
    days = current_app.config["COLLABORATOR_INVITATION_DAYS"]
    if clock.now() - invitation.invited_at > dt.timedelta(days=days):
        return "expired"
    if not invitation.proposal.is_editable:
        return "closed"
    if invitation.email.strip().lower() != user.email.strip().lower():
        return "other_address"
    return None


def accept_invitation(invitation: Collaborator, *, user: User) -> Proposal:
    """Let ``user`` co-edit the invitation's proposal.

    Effects: the invitation is bound to the user and marked accepted, and the acceptance is
    audited. Raises `InvitationRefused` (nothing changes) when `invitation_refusal` says so;
    a refusal for another address is audited too.
    """
    refusal = invitation_refusal(invitation, user=user)
    if refusal == "other_address":
        audit.record("proposal.collaborator_refused", invitation.proposal, actor=user,
                     invitation=invitation.id, reason=refusal)
    if refusal is not None:
        raise InvitationRefused(refusal)
    invitation.user_id = user.id
    invitation.accepted_at = clock.now()
    audit.record("proposal.collaborator_joined", invitation.proposal, actor=user,
                 invitation=invitation.id, email=invitation.email)
    db.session.flush()
    return invitation.proposal


# --- reading -------------------------------------------------------------------------------

def budget_totals(proposal: Proposal) -> dict[str, Any]:
    """Totals by donor, by category, by institute (and by institute and donor) and overall,
    in minor units. ``by_institute`` is keyed by institute id (None: a line without one)."""
    by_donor: dict[int, int] = defaultdict(int)
    by_category: dict[str, int] = defaultdict(int)
    by_institute: dict[int | None, int] = defaultdict(int)
    by_institute_donor: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for line in proposal.budget_lines:
        by_category[line.category] += line.amount
        by_institute[line.institute_id] += line.amount
        for split in line.splits:
            by_donor[split.donor_id] += split.amount
            by_institute_donor[line.institute_id][split.donor_id] += split.amount
    return {"by_donor": dict(by_donor), "by_category": dict(by_category),
            "by_institute": dict(by_institute),
            "by_institute_donor": {k: dict(v) for k, v in by_institute_donor.items()},
            "total": proposal.total_budget}


def budget_groups(proposal: Proposal) -> list[tuple[Institute | None, list[BudgetLine]]]:
    """The budget lines grouped by institute, in the consortium's order (the lead first);
    lines without an institute (written before lines had one) come last."""
    partners = sorted(proposal.partners, key=lambda p: (not p.is_lead, p.id))
    groups: list[tuple[Institute | None, list[BudgetLine]]] = []
    for partner in partners:
        lines = [b for b in proposal.budget_lines if b.institute_id == partner.institute_id]
        if lines:
            groups.append((partner.institute, lines))
    known = {p.institute_id for p in partners}
    stray = [b for b in proposal.budget_lines if b.institute_id not in known]
    if stray:
        groups.append((None, stray))
    return groups


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
    for p in proposal.partners:  # foreign collaborators are outside the eligible countries
        need(p.foreign_collaborator or p.institute.country_code in call.eligible_countries,
             "consortium", f"{p.institute.name} is in a country this call does not fund.")

    in_consortium = {p.institute_id for p in proposal.partners}
    need(proposal.principal_investigator is not None, "team",
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
        limit = max_task_days(t.start_month, t.end_month)
        for e in t.efforts:
            need(e.days <= limit, "workplan",
                 _("%(name)s works %(days)d days on “%(task)s”, more than the %(limit)d "
                   "working days of its months.", name=e.member.name, days=e.days,
                   task=t.title, limit=limit))

    problems += budget_problems(proposal)
    coverage = travel.travel_coverage(proposal)
    if not coverage.covered:
        currency = db.session.get(Tenant, proposal.tenant_id).currency
        problems.append(Problem("travel", (
            f"The trips are estimated at {format_money(coverage.trips, currency)} but the "
            f"travel budget lines hold {format_money(coverage.budget, currency)}: add "
            f"{format_money(coverage.shortfall, currency)} to the travel budget or plan "
            "cheaper trips.")))

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
    partners = {p.institute_id: p for p in proposal.partners}
    for line in proposal.budget_lines:
        partner = partners.get(line.institute_id)
        if partner is None:
            problems.append(Problem("budget", _(
                "Say which institute of the consortium spends “%(line)s”.",
                line=line.description)))
        elif partner.foreign_collaborator:
            problems.append(Problem("budget", _(
                "“%(line)s” is for %(name)s, a foreign collaborator: foreign collaborators "
                "receive no grant money.", line=line.description, name=partner.institute.name)))
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
                        "lead": p.is_lead, "role": str(p.role)} for p in proposal.partners],
        "team": [{"name": m.name, "role": m.role, "institute": m.institute.name,
                  "citizenship": m.citizenship, "email": m.email} for m in proposal.team],
        "tasks": [{"title": t.title, "description": t.description,
                   "institute": t.institute.name, "months": [t.start_month, t.end_month],
                   "days": {e.member.name: e.days for e in t.efforts}}
                  for t in proposal.tasks],
        "budget": [{"category": line.category, "description": line.description,
                    "amount": line.amount,
                    "institute": line.institute.name if line.institute else None,
                    "splits": {s.donor.short_name: s.amount for s in line.splits}}
                   for line in proposal.budget_lines],
        "trips": [{"traveller": t.traveller.name, "from": t.origin_country,
                   "from_city": t.origin_city, "to_city": t.destination_city,
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
        problems.append(_("The call closed; proposals are no longer accepted."))
    problems += [p.message for p in checklist(proposal)]
    if not context.get("declaration"):
        problems.append(_("Tick the declaration at the end of the preview to submit."))
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
        declaration=str(context["declaration"]),
    ))
    recipients = {proposal.owner.email} | {c.email for c in proposal.collaborators
                                           if c.accepted_at}
    for email in sorted(recipients):
        send_email(email, _l("Proposal received: %(title)s", title=proposal.title),
                   "proposal_submitted",
                   tenant_id=proposal.tenant_id, proposal=proposal, version=proposal.version_no)


@workflow.effect("withdraw")
def _tell_withdrawn(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    send_email(proposal.owner.email, _l("Proposal withdrawn: %(title)s", title=proposal.title),
               "proposal_withdrawn", tenant_id=proposal.tenant_id, proposal=proposal, by=by)


#: What `checklist` reads of a proposal, loaded for a whole list in a few queries.
CHECKLIST_LOADING = (
    joinedload(Proposal.call),
    selectinload(Proposal.partners).joinedload(ProposalInstitute.institute),
    selectinload(Proposal.team),
    selectinload(Proposal.tasks).selectinload(Task.efforts).joinedload(TaskEffort.member),
    selectinload(Proposal.budget_lines).selectinload(BudgetLine.splits),
    selectinload(Proposal.trips),
    selectinload(Proposal.attachments),
)


def my_proposals(user: User) -> list[Proposal]:
    """The proposals a user leads or co-edits in the current tenant, newest first, with
    what their checklists read (`CHECKLIST_LOADING`)."""
    shared = select(Collaborator.proposal_id).where(Collaborator.user_id == user.id,
                                                    Collaborator.accepted_at.is_not(None))
    query = (select(Proposal)
             .where((Proposal.owner_id == user.id) | Proposal.id.in_(shared))
             .options(*CHECKLIST_LOADING)
             .order_by(Proposal.created_at.desc()))
    return list(db.session.scalars(query))

