"""The audit trail for people: what each recorded action and detail key is called.

Audit rows keep machine keys (``proposal.submit``, ``fields``); the trail page and its CSV
show these labels instead. A key without a label is spelled out by `humanize`, never shown
raw, so a new action is readable before someone names it here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from center.calls.models import attachment_kind_label
from center.core.audit import AMOUNT_KEYS, AuditEvent, detail_text
from center.core.labels import humanize
from center.proposals import workflow
from center.proposals.forms import SECTION_LABELS
from center.proposals.models import (
    BUDGET_CATEGORY_LABELS,
    PARTNER_ROLE_LABELS,
    TEAM_ROLE_LABELS,
    status_label,
)
from center.tenants.models import country_name

#: Actions recorded about a proposal outside its state machine, with their labels.
ACTION_LABELS = {
    "proposal.created": _l("Proposal started"),
    "proposal.attachment_uploaded": _l("File uploaded"),
    "proposal.attachment_replaced": _l("File replaced"),
    "proposal.attachment_removed": _l("File removed"),
    "proposal.background_ip_added": _l("Background IP added"),
    "proposal.background_ip_changed": _l("Background IP changed"),
    "proposal.budget_line_added": _l("Budget line added"),
    "proposal.budget_line_changed": _l("Budget line changed"),
    "proposal.collaborator_invited": _l("Co-applicant invited"),
    "proposal.collaborator_joined": _l("Co-applicant joined"),
    "proposal.collaborator_refused": _l("Co-applicant invitation refused"),
    "proposal.lead_changed": _l("Lead institute changed"),
    "proposal.partner_added": _l("Institute added to the consortium"),
    "proposal.principal_investigator_changed": _l("Principal investigator changed"),
    "proposal.task_added": _l("Task added"),
    "proposal.task_changed": _l("Task changed"),
    "proposal.team_member_added": _l("Team member added"),
    "proposal.team_member_changed": _l("Team member changed"),
    "proposal.trip_added": _l("Trip added"),
    "proposal.trip_changed": _l("Trip changed"),
    "screening.computed": _l("Screening report computed"),
    "screening.refreshed": _l("Screening report refreshed"),
    "screening.hit_cleared": _l("Sanctions hit cleared"),
    "screening.sensitive_reviewed": _l("Sensitive terms reviewed"),
    "screening.duplicates_recorded": _l("Duplicate-effort matches recorded"),
    "concurrence.requested": _l("Government concurrence requested"),
    "concurrence.concurred": _l("A government concurred"),
    "concurrence.objected": _l("A government objected"),
    "concurrence.reminded": _l("Government reminded"),
    "concurrence.overdue": _l("Concurrence deadline passed"),
    "concurrence.silent_consent": _l("Silence counted as consent"),
    "dedup.checked": _l("Checked for duplicate effort"),
    "funding.committed": _l("Donor commitment recorded"),
    "funding.released": _l("Commitments released"),
    "funding.approved": _l("Funding approved"),
    "funding.split_confirmed": _l("Donors' shares confirmed"),
    "funding.split_kept": _l("Donors' shares kept as asked"),
}

#: Detail keys of audit rows, with their labels.
DETAIL_LABELS = {
    "fields": _l("Fields"), "item": _l("Item"), "item_id": _l("Item number"),
    "filename": _l("File"), "category": _l("Category"), "institute": _l("Institute"),
    "name": _l("Name"), "title": _l("Title"), "email": _l("E-mail"), "call": _l("Call"),
    "country": _l("Country"), "countries": _l("Countries"), "comment": _l("Comment"),
    "reason": _l("Reason"), "version": _l("Version"), "hits": _l("Sanctions hits"),
    "uncleared": _l("Hits to clear"), "sensitive": _l("Sensitive terms"),
    "ineligible": _l("Eligibility rules broken"), "over_committed": _l("Over-committed people"),
    "list": _l("Sanctions list"), "matches": _l("Matches"), "donor": _l("Donor"),
    "amount": _l("Amount"), "previous": _l("Before"),
    "proposal_committed": _l("Committed in all"), "budget": _l("Budget"),
    "asked": _l("Asked"), "above_asked": _l("Above what was asked"), "split": _l("Shares"),
    "commitments": _l("Commitments"), "role": _l("Role"), "partner": _l("Partner"),
    "kind": _l("Kind"), "hit": _l("Hit"), "note": _l("Note"), "deadline": _l("Deadline"),
    "silence_is_consent": _l("Silence counts as consent"), "request": _l("Request"),
    "reminder": _l("Reminder"), "destination": _l("Destination"), "cost": _l("Cost"),
    "terms": _l("Terms"), "replaced": _l("Replaced"), "user": _l("User"),
    "invitation": _l("Invitation"), "proposal": _l("Proposal"), "score": _l("Score"),
    "label": _l("Label"), "number": _l("Number"), "reference": _l("Reference"),
    "other": _l("Other"), "external": _l("External"), "subject": _l("Subject"),
    "changes": _l("Changes"), "created": _l("Created"), "updated": _l("Updated"),
    "active_content_removed": _l("Active content removed"), "sha256": _l("SHA-256"),
}

#: The rows a detail ``item`` names (a model's class name), with their labels.
ITEM_LABELS = {
    "ProposalInstitute": _l("Institute of the consortium"), "TeamMember": _l("Team member"),
    "Task": _l("Task"), "BudgetLine": _l("Budget line"), "Trip": _l("Trip"),
    "BackgroundIP": _l("Background IP"), "Attachment": _l("File"),
}


def action_label(action: str) -> str:
    """Name a recorded action for people."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    domain, _dot, name = action.partition(".")
    if domain == "proposal":
        if name in workflow.TRANSITIONS:
            return _(workflow.TRANSITIONS[name].label)
        for suffix, text in (("_saved", _l("Section saved: %(section)s")),
                             ("_item_removed", _l("Removed from %(section)s"))):
            section = name.removesuffix(suffix)
            if section != name and section in SECTION_LABELS:
                return str(text) % {"section": SECTION_LABELS[section]}
    return humanize(name or action)


def detail_label(key: str) -> str:
    return str(DETAIL_LABELS.get(key) or humanize(key))


def _value(key: str, value: Any) -> str:
    """A detail's value for people: keys and codes named, other values as recorded."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(key, v)}" for k, v in value.items())
    text = "" if value is None else str(value)
    if key == "deadline" and text:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        return f"{format_date(moment, 'medium')}, {format_time(moment, 'short')}"
    if key == "fields" or key == "ineligible":
        return humanize(text)
    if key == "item":
        return str(ITEM_LABELS.get(text) or humanize(text))
    if key == "category":
        return str(BUDGET_CATEGORY_LABELS.get(text) or text)
    if key == "role":
        return str(TEAM_ROLE_LABELS.get(text) or PARTNER_ROLE_LABELS.get(text) or text)
    if key == "kind":
        return attachment_kind_label(text)
    if key in ("country", "countries") and len(text) == 2:
        return country_name(text)
    return text


def details(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details worth showing, as (label, value) pairs."""
    return [(detail_label(key), detail_text(key, value, event.details)
             if key in AMOUNT_KEYS else _value(key, value))
            for key, value in event.details.items()
            if value not in (None, "", [], {}) and key not in ("system", "currency")]


def state(value: str | None) -> str:
    return status_label(value) if value else "—"


def audit_table(events: list[AuditEvent], names: dict[int, str]
                ) -> tuple[list[str], list[list[str]]]:
    """The audit trail as headers and rows for `center.core.exports`.

    Spreadsheets get the same words as the page; the time stays UTC (named in the header)
    so rows sort and compare, and the action's code is kept for filtering.
    """
    rows = []
    for e in events:
        system = e.details.get("system", "")
        actor = names.get(e.actor_id, "") if e.actor_id else (
            f"{_('System')} ({system})" if system else _("System"))
        rows.append([e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), actor,
                     action_label(e.action),
                     state(e.from_state) if e.from_state else "",
                     state(e.to_state) if e.to_state else "",
                     "; ".join(f"{label}: {value}" for label, value in details(e)),
                     e.action])
    return ([_("Time (UTC)"), _("Who"), _("What"), _("From"), _("To"), _("Details"),
             _("Action code")], rows)
