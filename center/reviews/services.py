"""Donor review: reviewer profiles, a call's review round, assignment suggestions, conflicts
of interest, reviewing, reminders, the panel's ranking, consensus and decisions.

Every function flushes, never commits, and audits what it changes. Proposal status changes
go through `center.proposals.workflow`; this module attaches the review guards and effects
to its transitions (``complete_review``, ``reject``, ``recommend``). Funding lives in
`center.reviews.funding`.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from center.auth.models import User
from center.calls.models import Call
from center.core import audit, clock
from center.core.db import db
from center.core.exports import money_cell
from center.core.links import external_url
from center.core.notifications import send_email
from center.proposals import services as proposal_services
from center.proposals import workflow
from center.proposals.models import (
    Collaborator,
    Proposal,
    ProposalInstitute,
    ProposalStatus,
    TeamMember,
)
from center.reviews import matching
from center.reviews.models import (
    Assignment,
    AssignmentStatus,
    NationalityRule,
    PanelEntry,
    ReminderKind,
    Review,
    ReviewerProfile,
    ReviewPhase,
    ReviewReminder,
    ReviewRound,
    ReviewStatus,
    weighted_score,
)
from center.reviews.permissions import (
    PANEL_DECIDED_STATES,
    READABLE_STATES,
    applicant_sees_feedback,
    sees_applicants,
)
from center.reviews.redaction import scrubber
from center.tenants.models import Donor, Membership, Role, Tenant, country_name

S = ProposalStatus

#: Past proposals this many years back count for conflicts of interest.
CONFLICT_LOOKBACK_YEARS = 3
#: What `ConflictChecker` reads of a proposal: load it with a list's proposals.
CONFLICT_LOADS = (joinedload(Proposal.call),
                  selectinload(Proposal.partners).joinedload(ProposalInstitute.institute),
                  selectinload(Proposal.collaborators), selectinload(Proposal.team))
#: Reviews whose weighted scores differ by at least this many points (of 100) disagree.
DISAGREEMENT_POINTS = 25.0


class ReviewError(Exception):
    """A review action that cannot be done now; the message is for the user."""


class StaleReview(ReviewError):
    """Someone saved the same thing after the form was loaded."""


class DecisionRefused(ReviewError):
    """A panel decision that could not be recorded for some proposals; nothing changed."""

    def __init__(self, problems: list[tuple[Proposal, str]]) -> None:
        super().__init__("; ".join(f"{p.title}: {m}" for p, m in problems))
        self.problems = problems


def _tenant(obj: Any) -> Tenant:
    return db.session.get(Tenant, obj.tenant_id)


def local_time(when: dt.datetime, user: User, tenant: Tenant) -> str:
    """``when`` in the user's zone (else the center's), with the zone named, for e-mails."""
    zone = user.timezone or tenant.timezone or "UTC"
    return f"{when.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def _applicant_emails(proposal: Proposal) -> list[str]:
    return sorted({proposal.owner.email} | {c.email for c in proposal.collaborators
                                            if c.accepted_at})


def _officer_emails() -> list[str]:
    return sorted(set(db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.officer, User.active.is_(True)))))


def reviewer_title(proposal: Proposal) -> str:
    """The proposal's title as a reviewer may read it (names struck in double-blind calls)."""
    if sees_applicants(proposal.call):
        return proposal.title
    return scrubber(proposal)(proposal.title)


# --- the call's review round and the reviewer's profile -------------------------------------

def round_for(call: Call) -> ReviewRound:
    """Return the call's review round, or an unsaved one with the defaults."""
    return rounds_for([call.id])[call.id]


def rounds_for(call_ids: Iterable[int]) -> dict[int, ReviewRound]:
    """{call id: its review round (`round_for`)} for several calls, in one query."""
    ids = set(call_ids)
    found = {r.call_id: r for r in db.session.scalars(
        select(ReviewRound).where(ReviewRound.call_id.in_(ids)))} if ids else {}
    return {i: found.get(i) or ReviewRound(call_id=i, **ReviewRound.DEFAULTS) for i in ids}


def round_version(review_round: ReviewRound) -> int:
    """The version a form carries: 0 for a round not saved yet."""
    return review_round.version if review_round.id else 0


def save_round(call: Call, *, by: User, expected_version: int, reviewers_per_proposal: int,
               max_per_reviewer: int, nationality_rule: NationalityRule, phase: ReviewPhase,
               due_at: dt.datetime | None, remind_days_before: int | None = None
               ) -> ReviewRound:
    """Save how ``call`` is reviewed.

    Effects: the round created or changed; a new due date moves the due date of every review
    not yet submitted that kept the round's date (one the officer set for an assignment
    stays); an audit event; a flush. Raises `StaleReview` when the round was saved after
    ``expected_version``.
    """
    current = round_for(call)
    if round_version(current) != expected_version:
        raise StaleReview(_("Someone saved these settings after you opened them. Check the "
                            "values shown and save again."))
    if current.id is None:
        db.session.add(current)
    old_due = current.due_at
    due_changed = old_due != due_at
    current.reviewers_per_proposal = reviewers_per_proposal
    current.max_per_reviewer = max_per_reviewer
    current.nationality_rule = nationality_rule
    current.phase = phase
    current.due_at = due_at
    if remind_days_before is not None:
        current.remind_days_before = remind_days_before
    current.updated_at = clock.now()
    if due_changed:
        for assignment in _open_assignments(call):
            if assignment.due_at is None or assignment.due_at == old_due:
                assignment.due_at = due_at
    audit.record("review.round_saved", current, actor=by, call=call.id,
                 reviewers_per_proposal=reviewers_per_proposal,
                 max_per_reviewer=max_per_reviewer, nationality_rule=str(nationality_rule),
                 phase=str(phase), due_at=due_at.isoformat() if due_at else None,
                 remind_days_before=current.remind_days_before)
    db.session.flush()
    return current


def reviewer_profile(user: User) -> ReviewerProfile:
    """Return the user's reviewer profile in this tenant, or an unsaved empty one."""
    found = db.session.scalar(select(ReviewerProfile).where(ReviewerProfile.user_id == user.id))
    return found or ReviewerProfile(user_id=user.id, expertise="", collaborators="", max_load=6)


def save_profile(user: User, *, by: User, expected_version: int, expertise: str,
                 institute_id: int | None, nationality: str | None, collaborators: str,
                 max_load: int) -> ReviewerProfile:
    """Save a reviewer's expertise, institute, nationality, collaborators and load limit."""
    profile = reviewer_profile(user)
    if (profile.version if profile.id else 0) != expected_version:
        raise StaleReview(_("You saved your profile in another window after opening this "
                            "one. Check the values shown and save again."))
    if profile.id is None:
        db.session.add(profile)
    profile.expertise = expertise.strip()
    profile.institute_id = institute_id
    profile.nationality = nationality.upper() if nationality else None
    profile.collaborators = "\n".join(profile_lines(collaborators))
    profile.max_load = max_load
    profile.updated_at = clock.now()
    audit.record("review.profile_saved", profile, actor=by, max_load=max_load,
                 institute=institute_id, nationality=profile.nationality)
    db.session.flush()
    return profile


def profile_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


# --- who may review what ------------------------------------------------------------------

def call_reviewers(call: Call) -> list[Membership]:
    """The reviewer memberships of the donors taking part in ``call``, by name."""
    donor_ids = [cd.donor_id for cd in call.donors]
    if not donor_ids:
        return []
    query = (select(Membership).join(User, User.id == Membership.user_id)
             .where(Membership.role == Role.reviewer, Membership.donor_id.in_(donor_ids),
                    User.active.is_(True))
             .options(selectinload(Membership.user), selectinload(Membership.donor))
             .order_by(User.name, User.id))
    return list(db.session.scalars(query))


def _profiles(user_ids: Iterable[int]) -> dict[int, ReviewerProfile]:
    ids = list(user_ids)
    if not ids:
        return {}
    return {p.user_id: p for p in db.session.scalars(
        select(ReviewerProfile).where(ReviewerProfile.user_id.in_(ids)))}


def _names_match(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


@dataclass(frozen=True)
class _PastProposal:
    proposal_id: int
    title: str
    year: int


class ConflictChecker:
    """Find conflicts of interest between reviewers and proposals, loading each reviewer's
    recent proposals and each proposal's people once however many pairs are checked.

    Rules: the reviewer applies in the proposal (by account, e-mail or ORCID iD); works at
    one of its institutes; applied together with one of them, or their institute did, in
    the proposals of the last `CONFLICT_LOOKBACK_YEARS` years; lists one of its people as a
    collaborator; is a national of a consortium country when the call's nationality rule
    says so.
    """

    def __init__(self, review_round: ReviewRound,
                 profiles: dict[int, ReviewerProfile]) -> None:
        self.review_round = review_round
        self.profiles = profiles
        self.since = clock.now() - dt.timedelta(days=365 * CONFLICT_LOOKBACK_YEARS)
        self._people: dict[int, list[str]] = {}
        self._history: dict[int, tuple[dict[int, list[_PastProposal]],
                                       dict[int, list[_PastProposal]]]] = {}

    def for_round(self, review_round: ReviewRound) -> ConflictChecker:
        """This checker for the proposals of another call (its ``review_round``), sharing the
        profiles and what it has looked up of the reviewers and the proposals."""
        other = copy.copy(self)
        other.review_round = review_round
        return other

    def people(self, proposal: Proposal) -> list[str]:
        if proposal.id not in self._people:
            names = [proposal.owner.name] + [m.name for m in proposal.team]
            ids = [c.user_id for c in proposal.collaborators if c.user_id]
            if ids:
                names += list(db.session.scalars(select(User.name).where(User.id.in_(ids))))
            self._people[proposal.id] = names
        return self._people[proposal.id]

    def _partners_of(self, condition: Any) -> dict[int, list[_PastProposal]]:
        """Institute id -> recent proposals (matching ``condition``) it took part in."""
        rows = db.session.execute(
            select(ProposalInstitute.institute_id, Proposal.id, Proposal.title,
                   Proposal.submitted_at)
            .join(Proposal, Proposal.id == ProposalInstitute.proposal_id)
            .where(Proposal.status != S.draft, Proposal.submitted_at >= self.since, condition)
            .order_by(Proposal.submitted_at.desc(), Proposal.id))
        found: dict[int, list[_PastProposal]] = defaultdict(list)
        for institute_id, proposal_id, title, submitted_at in rows:
            found[institute_id].append(_PastProposal(proposal_id, title, submitted_at.year))
        return found

    def history(self, reviewer: User) -> tuple[dict[int, list[_PastProposal]],
                                               dict[int, list[_PastProposal]]]:
        """(institutes the reviewer applied with, institutes their institute applied with)."""
        if reviewer.id not in self._history:
            applied = self._partners_of(or_(
                Proposal.owner_id == reviewer.id,
                Proposal.id.in_(select(Collaborator.proposal_id).where(
                    Collaborator.user_id == reviewer.id, Collaborator.accepted_at.is_not(None))),
                Proposal.id.in_(select(TeamMember.proposal_id).where(
                    or_(func.lower(TeamMember.email) == reviewer.email.casefold(),
                        TeamMember.orcid == reviewer.orcid if reviewer.orcid else false()))),
            ))
            own = self._own_institute(reviewer)
            theirs = aliased(ProposalInstitute)
            with_own = self._partners_of(Proposal.id.in_(
                select(theirs.proposal_id).where(theirs.institute_id == own))) if own else {}
            self._history[reviewer.id] = (applied, with_own)
        return self._history[reviewer.id]

    def _own_institute(self, reviewer: User) -> int | None:
        profile = self.profiles.get(reviewer.id)
        return profile.institute_id if profile is not None else None

    def __call__(self, proposal: Proposal, reviewer: User) -> list[str]:
        """Return why ``reviewer`` may not review ``proposal`` (empty: no known conflict)."""
        reasons: list[str] = []
        consortium = {p.institute_id: p.institute for p in proposal.partners}
        profile = self.profiles.get(reviewer.id)
        own = self._own_institute(reviewer)
        email = reviewer.email.casefold()
        if (proposal.owner_id == reviewer.id
                or any(c.user_id == reviewer.id or c.email.casefold() == email
                       for c in proposal.collaborators)
                or any(m.email and m.email.casefold() == email for m in proposal.team)
                or (reviewer.orcid and any(m.orcid == reviewer.orcid for m in proposal.team))):
            reasons.append(_("Applies in this proposal."))
        if own in consortium:
            reasons.append(_("Works at %(institute)s, which is in the consortium.",
                             institute=consortium[own].name))
        applied, with_own = self.history(reviewer)
        for institute_id, institute in consortium.items():
            for past in applied.get(institute_id, []):
                if past.proposal_id != proposal.id:
                    reasons.append(_("Applied with %(institute)s in “%(title)s” (%(year)s).",
                                     institute=institute.name, title=past.title,
                                     year=past.year))
            for past in with_own.get(institute_id, []) if institute_id != own else []:
                if past.proposal_id != proposal.id:
                    reasons.append(_("Their institute applied with %(institute)s in "
                                     "“%(title)s” (%(year)s).", institute=institute.name,
                                     title=past.title, year=past.year))
        if profile is not None:
            for listed in profile.collaborator_names:
                for person in self.people(proposal):
                    if _names_match(listed, person):
                        reasons.append(_("Lists %(name)s as a collaborator.", name=person))
        if self.review_round.nationality_rule == NationalityRule.not_consortium_country:
            nationality = profile.nationality if profile is not None else None
            if not nationality:
                reasons.append(_("The call's nationality rule applies and the reviewer's "
                                 "profile gives no nationality."))
            elif nationality in proposal.countries:
                reasons.append(_("A national of %(country)s, a country of the consortium.",
                                 country=country_name(nationality)))
        return list(dict.fromkeys(reasons))


def conflicts(proposal: Proposal, reviewer: User, profile: ReviewerProfile | None,
              review_round: ReviewRound) -> list[str]:
    """Return why ``reviewer`` may not review ``proposal`` (see `ConflictChecker`)."""
    profiles = {reviewer.id: profile} if profile is not None else {}
    return ConflictChecker(review_round, profiles)(proposal, reviewer)


def _active_in_call(call: Call) -> list[Assignment]:
    return list(db.session.scalars(
        select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Proposal.call_id == call.id, Assignment.status != AssignmentStatus.conflict)))


def _open_assignments(call: Call) -> list[Assignment]:
    return [a for a in _active_in_call(call) if not a.submitted]


def _loads(call: Call) -> dict[int, int]:
    """Active assignments per reviewer on proposals of ``call`` still under review."""
    rows = db.session.execute(
        select(Assignment.reviewer_id, func.count())
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Proposal.call_id == call.id, Proposal.status == S.under_review,
               Assignment.status != AssignmentStatus.conflict)
        .group_by(Assignment.reviewer_id)).all()
    return {user_id: count for user_id, count in rows}


def _cap(review_round: ReviewRound, profile: ReviewerProfile | None) -> int:
    own = profile.max_load if profile is not None else review_round.max_per_reviewer
    return min(review_round.max_per_reviewer, own)


# --- suggestions --------------------------------------------------------------------------

@dataclass
class ReviewerOption:
    """A reviewer the officer may add to a proposal, with how well they fit."""

    membership: Membership
    match: matching.Match
    load: int
    cap: int

    @property
    def full(self) -> bool:
        return self.load >= self.cap


@dataclass
class ProposalPlan:
    """One proposal on the officer's assignment page."""

    proposal: Proposal
    assignments: list[Assignment]
    suggested: list[ReviewerOption] = field(default_factory=list)
    options: list[ReviewerOption] = field(default_factory=list)
    excluded: list[tuple[Membership, list[str]]] = field(default_factory=list)
    short: int = 0
    unrepresented: list[Donor] = field(default_factory=list)

    @property
    def active(self) -> list[Assignment]:
        return [a for a in self.assignments if a.is_active]

    @property
    def country_names(self) -> list[str]:
        return [country_name(code) for code in self.proposal.countries]


def assignment_plan(call: Call) -> list[ProposalPlan]:
    """Suggest reviewers for every proposal of ``call`` under review.

    Each proposal gets the round's number of reviewers, every donor of the call represented
    where one of its reviewers is free, reviewers ranked by expertise and balanced by load
    within their cap, and reviewers with a conflict left out with the reasons.
    """
    review_round = round_for(call)
    proposals = list(db.session.scalars(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.status == S.under_review)
        .order_by(Proposal.id)))
    reviewers = [m for m in call_reviewers(call)]
    profiles = _profiles(m.user_id for m in reviewers)
    loads = _loads(call)
    existing: dict[int, list[Assignment]] = defaultdict(list)
    if proposals:
        for a in db.session.scalars(select(Assignment).where(
                Assignment.proposal_id.in_([p.id for p in proposals])).order_by(Assignment.id)):
            existing[a.proposal_id].append(a)
    index = matching.ExpertiseIndex(
        {p.id: matching.proposal_terms(p.title, p.abstract, p.topic, p.keywords)
         for p in proposals},
        {m.user_id: matching.terms(profiles[m.user_id].expertise if m.user_id in profiles
                                   else "") for m in reviewers})
    checker = ConflictChecker(review_round, profiles)
    plans, needs = [], []
    for proposal in proposals:
        plan = ProposalPlan(proposal, existing[proposal.id])
        taken = {a.reviewer_id for a in plan.assignments}
        excluded = set()
        for m in reviewers:
            if m.user_id in taken:
                continue
            reasons = checker(proposal, m.user)
            if reasons:
                plan.excluded.append((m, reasons))
                excluded.add(m.user_id)
        plans.append(plan)
        needs.append(matching.Need(proposal.id, {a.reviewer_id: a.donor_id
                                                 for a in plan.active},
                                   excluded | (taken - {a.reviewer_id for a in plan.active})))
    candidates = [matching.Candidate(m.user_id, m.donor_id, loads.get(m.user_id, 0),
                                     _cap(review_round, profiles.get(m.user_id)))
                  for m in reviewers]
    result = matching.suggest(needs, candidates,
                              per_proposal=review_round.reviewers_per_proposal,
                              donor_ids=[cd.donor_id for cd in call.donors], index=index)
    by_user = {m.user_id: m for m in reviewers}
    donors = {cd.donor_id: cd.donor for cd in call.donors}
    caps = {c.user_id: c.cap for c in candidates}
    for plan in plans:
        pid = plan.proposal.id
        picked = {p.user_id for p in result.picks if p.proposal_id == pid}
        plan.suggested = [ReviewerOption(by_user[p.user_id], p.match, loads.get(p.user_id, 0),
                                         caps[p.user_id])
                          for p in result.picks if p.proposal_id == pid]
        unavailable = ({a.reviewer_id for a in plan.assignments}
                       | {m.user_id for m, _r in plan.excluded} | picked)
        plan.options = sorted(
            (ReviewerOption(m, index.match(pid, m.user_id), loads.get(m.user_id, 0),
                            caps[m.user_id])
             for m in reviewers if m.user_id not in unavailable),
            key=lambda o: (-o.match.score, o.load, o.membership.user.name))
        plan.short = result.short[pid]
        plan.unrepresented = [donors[d] for d in result.unrepresented[pid]]
    return plans


# --- assigning ----------------------------------------------------------------------------

def assign(proposal: Proposal, membership: Membership, *, by: User) -> Assignment:
    """Ask the reviewer of ``membership`` to review ``proposal``.

    Refused (`ReviewError`, nothing changed) unless the proposal is under review, the
    reviewer acts for a donor of the call, has no known conflict, is not already on the
    proposal and is below their cap. Effects: a pending assignment due at the round's due
    date; an e-mail asking the reviewer to declare any conflict; an audit event; a flush.
    """
    call = proposal.call
    if proposal.status != S.under_review:
        raise ReviewError(_("Only proposals under review get reviewers."))
    if membership.role != Role.reviewer or not any(
            cd.donor_id == membership.donor_id for cd in call.donors):
        raise ReviewError(_("%(name)s acts for a donor that does not take part in this call.",
                            name=membership.user.name))
    previous = db.session.scalar(select(Assignment).where(
        Assignment.proposal_id == proposal.id, Assignment.reviewer_id == membership.user_id))
    if previous is not None:
        raise ReviewError(
            _("%(name)s declared a conflict with this proposal.", name=membership.user.name)
            if previous.status == AssignmentStatus.conflict else
            _("%(name)s is already a reviewer of this proposal.", name=membership.user.name))
    review_round = round_for(call)
    profile = _profiles([membership.user_id]).get(membership.user_id)
    reasons = conflicts(proposal, membership.user, profile, review_round)
    if reasons:
        raise ReviewError(_("%(name)s has a conflict of interest: %(reasons)s",
                            name=membership.user.name, reasons=" ".join(reasons)))
    cap = _cap(review_round, profile)
    if _loads(call).get(membership.user_id, 0) >= cap:
        raise ReviewError(_("%(name)s already has %(n)d proposals of this call, their limit.",
                            name=membership.user.name, n=cap))
    now = clock.now()
    assignment = Assignment(proposal_id=proposal.id, reviewer_id=membership.user_id,
                            donor_id=membership.donor_id, status=AssignmentStatus.pending,
                            assigned_at=now, assigned_by_id=by.id, due_at=review_round.due_at,
                            conflict_reason="")
    db.session.add(assignment)
    db.session.flush()
    audit.record("review.assigned", assignment, actor=by, proposal=proposal.id,
                 reviewer=membership.user.email, donor=membership.donor_id)
    tenant = _tenant(proposal)
    send_email(membership.user.email, _l("Review request: %(title)s",
                                        title=reviewer_title(proposal)),
               "review_assigned", tenant_id=proposal.tenant_id, reviewer=membership.user,
               title=reviewer_title(proposal), call=call, tenant=tenant,
               due=(local_time(review_round.due_at, membership.user, tenant)
                    if review_round.due_at else None),
               url=external_url("reviews.declare", tenant=tenant.slug,
                              assignment_id=assignment.id))
    db.session.flush()
    return assignment


def assign_many(pairs: list[tuple[Proposal, Membership]], *,
                by: User) -> tuple[list[Assignment], list[str]]:
    """Assign each (proposal, reviewer) pair; return the assignments and the refusals."""
    done, refused = [], []
    for proposal, membership in pairs:
        try:
            done.append(assign(proposal, membership, by=by))
        except ReviewError as exc:
            refused.append(str(exc))
    return done, refused


def unassign(assignment: Assignment, *, by: User) -> None:
    """Take a reviewer off a proposal; a submitted review stays (reopen it instead)."""
    if assignment.submitted:
        raise ReviewError(_("This review is submitted; it stays part of the panel's record."))
    audit.record("review.unassigned", assignment, actor=by, proposal=assignment.proposal_id,
                 reviewer=assignment.reviewer.email, status=str(assignment.status))
    db.session.delete(assignment)
    db.session.flush()


def declare(assignment: Assignment, *, by: User, conflict: bool, reason: str = "") -> None:
    """Record the reviewer's declaration before they see the proposal.

    Effects: with no conflict, the assignment is accepted and the proposal opens to the
    reviewer; with a conflict, the assignment stops counting, the reason is kept, and the
    officers are told by e-mail to find another reviewer. An audit event; a flush.
    """
    if assignment.status != AssignmentStatus.pending:
        raise ReviewError(_("You already answered for this proposal."))
    reason = reason.strip()
    if conflict and not reason:
        raise ReviewError(_("Say briefly what the conflict is."))
    assignment.declared_at = clock.now()
    if conflict:
        assignment.status = AssignmentStatus.conflict
        assignment.conflict_reason = reason
        tenant = _tenant(assignment)
        url = external_url("reviews.assign", tenant=tenant.slug,
                         call_id=assignment.proposal.call_id)
        for email in _officer_emails():
            send_email(email, _l("Conflict declared: %(title)s", title=assignment.proposal.title),
                       "review_conflict_declared", tenant_id=assignment.tenant_id,
                       assignment=assignment, reviewer=by, reason=reason, url=url)
    else:
        assignment.status = AssignmentStatus.accepted
    audit.record("review.declared", assignment, actor=by, conflict=conflict,
                 reason=reason or None)
    db.session.flush()


# --- reviewing ----------------------------------------------------------------------------

def clean_scores(scores: dict[str, Any], rubric: list[dict[str, Any]]) -> dict[str, int]:
    """Keep the scores of the rubric's criteria, as whole numbers within each scale."""
    cleaned = {}
    for criterion in rubric:
        value = scores.get(criterion["name"])
        if value in (None, ""):
            continue
        number = int(value)
        if not 1 <= number <= int(criterion["scale"]):
            raise ReviewError(_("“%(name)s” is scored from 1 to %(top)d.",
                                name=criterion["name"], top=int(criterion["scale"])))
        cleaned[criterion["name"]] = number
    return cleaned


def submission_problems(review: Review, rubric: list[dict[str, Any]]) -> list[str]:
    missing = [c["name"] for c in rubric if c["name"] not in review.scores]
    problems = [_("Score “%(name)s”.", name=name) for name in missing]
    if not review.comments_to_applicants.strip():
        problems.append(_("Write your comments to the applicants."))
    return problems


def save_review(assignment: Assignment, *, by: User, expected_version: int,
                scores: dict[str, Any], comments_to_applicants: str,
                confidential_comments: str, submit: bool) -> Review:
    """Save the reviewer's draft, or submit it.

    Refused (`ReviewError`) once submitted, when the round is closed or the proposal left
    review; `StaleReview` when the review was saved after ``expected_version`` (another tab,
    or an officer reopened it). Submitting needs every criterion scored and comments to the
    applicants. Effects: the review saved (submitted: read-only from now on); an audit
    event; a flush.
    """
    proposal = assignment.proposal
    rubric = proposal.call.rubric
    if assignment.status != AssignmentStatus.accepted or proposal.status != S.under_review:
        raise ReviewError(_("This proposal is no longer under review."))
    if round_for(proposal.call).phase == ReviewPhase.closed:
        raise ReviewError(_("The officer closed the review round; reviews can no longer "
                            "be changed."))
    review = assignment.review
    if (review.version if review is not None else 0) != expected_version:
        raise StaleReview(_("This review was saved elsewhere after you opened it. Your text "
                            "is still in the form: compare it with the saved review and save "
                            "again."))
    if review is not None and review.status == ReviewStatus.submitted:
        raise ReviewError(_("This review is submitted and can no longer be changed."))
    now = clock.now()
    if review is None:
        review = Review(created_at=now, scores={}, comments_to_applicants="",
                        confidential_comments="", status=ReviewStatus.draft)
        assignment.review = review
    review.scores = clean_scores(scores, rubric)
    review.comments_to_applicants = comments_to_applicants.strip()
    review.confidential_comments = confidential_comments.strip()
    review.updated_at = now
    if submit:
        problems = submission_problems(review, rubric)
        if problems:
            raise ReviewError(" ".join(problems))
        review.status = ReviewStatus.submitted
        review.submitted_at = now
    db.session.flush()
    audit.record("review.submitted" if submit else "review.saved", review, actor=by,
                 proposal=proposal.id, score=weighted_score(review.scores, rubric))
    db.session.flush()
    return review


def reopen(assignment: Assignment, *, by: User, reason: str) -> None:
    """Let the reviewer change a submitted review again, telling them why by e-mail."""
    review = assignment.review
    if review is None or review.status != ReviewStatus.submitted:
        raise ReviewError(_("Only a submitted review can be reopened."))
    if assignment.proposal.status != S.under_review:
        raise ReviewError(_("The review of this proposal is closed."))
    if not reason.strip():
        raise ReviewError(_("Tell the reviewer why the review is reopened."))
    review.status = ReviewStatus.draft
    review.submitted_at = None
    review.reopened_at = clock.now()
    review.reopen_reason = reason.strip()
    tenant = _tenant(assignment)
    send_email(assignment.reviewer.email, _l("Review reopened: %(title)s",
                                            title=reviewer_title(assignment.proposal)),
               "review_reopened", tenant_id=assignment.tenant_id, reviewer=assignment.reviewer,
               title=reviewer_title(assignment.proposal), reason=review.reopen_reason,
               url=external_url("reviews.review", tenant=tenant.slug,
                              assignment_id=assignment.id))
    audit.record("review.reopened", review, actor=by, proposal=assignment.proposal_id,
                 reason=review.reopen_reason)
    db.session.flush()


def proposal_assignments(proposal: Proposal) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).where(
        Assignment.proposal_id == proposal.id).order_by(Assignment.id)))


def reviewer_labels(proposal: Proposal) -> dict[int, str]:
    """Anonymous labels, "Reviewer 1, 2 ...", by assignment id, stable for a proposal."""
    active = [a for a in proposal_assignments(proposal) if a.is_active]
    return {a.id: _("Reviewer %(n)d", n=n) for n, a in enumerate(active, start=1)}


def other_reviews(assignment: Assignment) -> list[tuple[str, Review]]:
    """The other submitted reviews of the proposal, labelled anonymously."""
    labels = reviewer_labels(assignment.proposal)
    return [(labels.get(a.id, ""), a.review) for a in proposal_assignments(assignment.proposal)
            if a.id != assignment.id and a.is_active and a.submitted]


def my_assignments(user: User) -> list[Assignment]:
    """The user's assignments in this tenant that are not withdrawn by a conflict, with
    their proposal, its call and the call's donors, and the review (what the list reads)."""
    return list(db.session.scalars(
        select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Assignment.reviewer_id == user.id,
               Assignment.status != AssignmentStatus.conflict,
               Proposal.status.in_(list(READABLE_STATES)))
        .options(joinedload(Assignment.proposal).joinedload(Proposal.call)
                 .selectinload(Call.donors), joinedload(Assignment.review))
        .order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.id)))


def set_due_date(assignment: Assignment, due_at: dt.datetime | None, *, by: User,
                 expected_version: int) -> None:
    """Give one assignment its own due date (None: the round's again).

    Refused (`ReviewError`) once the review is submitted or the proposal left review;
    `StaleReview` when the assignment changed after ``expected_version``. Effects: the due
    date set, so the reviewer is reminded against it; an audit event; a flush.
    """
    if assignment.version != expected_version:
        raise StaleReview(_("This assignment changed after you opened the page. Check the "
                            "due date shown and save again."))
    if assignment.submitted or assignment.proposal.status != S.under_review:
        raise ReviewError(_("This review is no longer open; its due date stays as it was."))
    if assignment.status == AssignmentStatus.conflict:
        raise ReviewError(_("The reviewer declared a conflict with this proposal."))
    old = assignment.due_at
    assignment.due_at = due_at if due_at is not None else round_for(
        assignment.proposal.call).due_at
    audit.record("review.due_date_set", assignment, actor=by, proposal=assignment.proposal_id,
                 reviewer=assignment.reviewer.email,
                 old=old.isoformat() if old else None,
                 new=assignment.due_at.isoformat() if assignment.due_at else None)
    db.session.flush()


def reminder_due(assignment: Assignment, review_round: ReviewRound,
                 now: dt.datetime) -> ReminderKind | None:
    """Which reminder an open assignment is due for now, if any: overdue once its due date
    passed, before within the round's reminder days."""
    if assignment.due_at is None:
        return None
    if assignment.due_at < now:
        return ReminderKind.overdue
    days = review_round.remind_days_before or 0
    if days and assignment.due_at - now <= dt.timedelta(days=days):
        return ReminderKind.before
    return None


def send_reminders(*, now: dt.datetime | None = None, call: Call | None = None) -> int:
    """E-mail each reviewer with an open review the reminders it is due for; return how
    many were sent. Runs in the tenant in scope.

    Each reminder (before the due date, overdue) goes once per assignment and due date,
    however often this runs and even when two runs overlap: the `ReviewReminder` row is
    recorded in a savepoint first, and a row already there (committed by another run)
    means this run skips it. Effects per reminder: the row, an e-mail, ``reminded_at``, an
    audit event; a flush.
    """
    now = now or clock.now()
    query = (select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
             .where(Proposal.status == S.under_review,
                    Assignment.status != AssignmentStatus.conflict,
                    Assignment.due_at.is_not(None))
             .options(selectinload(Assignment.review))
             .order_by(Assignment.id))
    if call is not None:
        query = query.where(Proposal.call_id == call.id)
    rounds: dict[int, ReviewRound] = {}
    sent = 0
    for assignment in db.session.scalars(query).all():
        if assignment.submitted:
            continue
        proposal = assignment.proposal
        if proposal.call_id not in rounds:
            rounds[proposal.call_id] = round_for(proposal.call)
        kind = reminder_due(assignment, rounds[proposal.call_id], now)
        if kind is None:
            continue
        known = db.session.scalar(select(ReviewReminder.id).where(
            ReviewReminder.assignment_id == assignment.id, ReviewReminder.kind == kind,
            ReviewReminder.due_at == assignment.due_at))
        if known is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(ReviewReminder(assignment_id=assignment.id, kind=kind,
                                              due_at=assignment.due_at, sent_at=now))
        except IntegrityError:
            continue  # another run recorded (and sends) this reminder
        tenant = _tenant(assignment)
        endpoint = ("reviews.declare" if assignment.status == AssignmentStatus.pending
                    else "reviews.review")
        overdue = kind == ReminderKind.overdue
        title = reviewer_title(proposal)
        send_email(assignment.reviewer.email,
                   _l("Review overdue: %(title)s", title=title) if overdue else
                   _l("Review due: %(title)s", title=title),
                   "review_reminder", tenant_id=assignment.tenant_id,
                   reviewer=assignment.reviewer, title=title, tenant=tenant,
                   due=local_time(assignment.due_at, assignment.reviewer, tenant),
                   overdue=overdue,
                   url=external_url(endpoint, tenant=tenant.slug, assignment_id=assignment.id))
        assignment.reminded_at = now
        audit.record("review.reminded", assignment, actor=None, kind=str(kind),
                     due_at=assignment.due_at.isoformat())
        sent += 1
    db.session.flush()
    return sent


# --- the panel ----------------------------------------------------------------------------

@dataclass
class RankRow:
    """One proposal in the panel's ranking."""

    proposal: Proposal
    scores: list[float]  #: weighted scores (0–100) of the submitted reviews
    criteria: dict[str, float | None]  #: mean score per criterion
    assigned: int  #: active assignments
    disagreement: bool
    entry: PanelEntry | None = None
    rank: int | None = None
    budget: int = 0  #: the proposal's total budget, minor units
    asks: dict[int, int] = field(default_factory=dict)  #: donor id -> amount asked of it

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return round(statistics.fmean(self.scores), 1) if self.scores else None

    @property
    def spread(self) -> float | None:
        return round(max(self.scores) - min(self.scores), 1) if self.scores else None


PANEL_STATES = frozenset({S.under_review, S.reviewed}) | PANEL_DECIDED_STATES
SORT_KEYS = ("score", "spread", "reviews", "title", "status")


def ranking(call: Call, *, sort: str = "score", descending: bool = True) -> list[RankRow]:
    """Rank the call's reviewed proposals by weighted mean score; sort for display.

    A proposal's rank is its place by mean score whatever the display order; proposals
    without a submitted review come last, unranked. Disagreement: two reviews' weighted
    scores `DISAGREEMENT_POINTS` or more apart, or two scores of one criterion at least
    half its scale apart.
    """
    rubric = call.rubric
    proposals = list(db.session.scalars(
        select(Proposal).where(Proposal.call_id == call.id,
                               Proposal.status.in_(list(PANEL_STATES)))
        .order_by(Proposal.id)))
    ids = [p.id for p in proposals]
    by_proposal: dict[int, list[Assignment]] = defaultdict(list)
    entries: dict[int, PanelEntry] = {}
    if ids:
        for a in db.session.scalars(select(Assignment).where(
                Assignment.proposal_id.in_(ids)).options(selectinload(Assignment.review))):
            by_proposal[a.proposal_id].append(a)
        entries = {e.proposal_id: e for e in db.session.scalars(
            select(PanelEntry).where(PanelEntry.proposal_id.in_(ids)))}
    rows = []
    for proposal in proposals:
        reviews = [a.review for a in by_proposal[proposal.id] if a.is_active and a.submitted]
        scores = [s for s in (weighted_score(r.scores, rubric) for r in reviews)
                  if s is not None]
        criteria: dict[str, float | None] = {}
        split = False
        for c in rubric:
            values = [r.scores[c["name"]] for r in reviews if c["name"] in r.scores]
            criteria[c["name"]] = round(statistics.fmean(values), 2) if values else None
            if values and max(values) - min(values) >= math.ceil(int(c["scale"]) / 2):
                split = True
        far = bool(scores) and max(scores) - min(scores) >= DISAGREEMENT_POINTS
        totals = proposal_services.budget_totals(proposal)
        rows.append(RankRow(proposal, scores, criteria,
                            sum(1 for a in by_proposal[proposal.id] if a.is_active),
                            far or split, entries.get(proposal.id),
                            budget=totals["total"], asks=totals["by_donor"]))
    ranked = sorted((r for r in rows if r.scores), key=lambda r: (-r.mean, r.proposal.id))
    for place, row in enumerate(ranked, start=1):
        row.rank = place
    keys = {
        "score": lambda r: (r.mean is None, -(r.mean or 0) if descending else (r.mean or 0)),
        "spread": lambda r: (r.spread is None,
                             -(r.spread or 0) if descending else (r.spread or 0)),
        "reviews": lambda r: -r.count if descending else r.count,
        "title": lambda r: r.proposal.title.casefold(),
        "status": lambda r: str(r.proposal.status),
    }
    key = keys.get(sort, keys["score"])
    rows.sort(key=lambda r: (key(r), r.proposal.id))
    if sort in ("title", "status") and descending:
        rows.reverse()
    return rows


def ranking_donors(call: Call, rows: list[RankRow]) -> list[Donor]:
    """The donors the panel's budget columns show: the call's, then any other a proposal
    asks (a donor that left the call after the proposal was written)."""
    donors = [cd.donor for cd in call.donors]
    known = {d.id for d in donors}
    extra = sorted({d for row in rows for d in row.asks if d not in known})
    return donors + [db.session.get(Donor, d) for d in extra]


def ranking_table(call: Call, rows: list[RankRow], currency: str
                  ) -> tuple[list[str], list[list[Any]]]:
    """The panel's table as headers and rows, for `center.core.exports`."""
    criteria = [c["name"] for c in call.rubric]
    donors = ranking_donors(call, rows)
    headers = ["rank", "proposal_id", "acronym", "title", "status", "lead_institute",
               "reviews", "assigned", "mean_score", "spread", "disagreement",
               *[f"mean: {name}" for name in criteria], f"budget ({currency})",
               *[f"asked of {d.short_name} ({currency})" for d in donors]]
    table = []
    for row in rows:
        p = row.proposal
        table.append([row.rank or "", p.id, p.acronym, p.title, str(p.status),
                      p.lead.institute.name if p.lead else "", row.count, row.assigned,
                      "" if row.mean is None else f"{row.mean:.1f}",
                      "" if row.spread is None else f"{row.spread:.1f}",
                      "yes" if row.disagreement else "no",
                      *["" if row.criteria[n] is None else f"{row.criteria[n]:.2f}"
                        for n in criteria],
                      money_cell(row.budget, currency),
                      *[money_cell(row.asks.get(d.id, 0), currency) for d in donors]])
    return headers, table


def panel_entry(proposal: Proposal) -> PanelEntry | None:
    return db.session.scalar(select(PanelEntry).where(PanelEntry.proposal_id == proposal.id))


def set_rapporteur(proposal: Proposal, assignment: Assignment, *, by: User) -> PanelEntry:
    """Make the reviewer of ``assignment`` the proposal's rapporteur, and tell them."""
    if assignment.proposal_id != proposal.id or assignment.status != AssignmentStatus.accepted:
        raise ReviewError(_("The rapporteur must be one of the proposal's reviewers."))
    if proposal.status not in (S.under_review, S.reviewed):
        raise ReviewError(_("The panel has decided on this proposal."))
    entry = panel_entry(proposal)
    if entry is None:
        entry = PanelEntry(proposal_id=proposal.id, consensus="")
        db.session.add(entry)
    entry.rapporteur_id = assignment.reviewer_id
    db.session.flush()
    tenant = _tenant(proposal)
    send_email(assignment.reviewer.email, _l("You are the rapporteur: %(title)s",
                                            title=reviewer_title(proposal)),
               "review_rapporteur", tenant_id=proposal.tenant_id, reviewer=assignment.reviewer,
               title=reviewer_title(proposal),
               url=external_url("reviews.consensus", tenant=tenant.slug, proposal_id=proposal.id))
    audit.record("review.rapporteur_set", entry, actor=by, proposal=proposal.id,
                 rapporteur=assignment.reviewer.email)
    db.session.flush()
    return entry


def write_consensus(entry: PanelEntry, text: str, *, by: User, expected_version: int) -> None:
    """Save the rapporteur's consensus summary (shown to the applicants with the decision)."""
    if entry.version != expected_version:
        raise StaleReview(_("The summary was saved elsewhere after you opened it. Your text "
                            "is still in the form: compare and save again."))
    if not text.strip():
        raise ReviewError(_("Write the summary."))
    entry.consensus = text.strip()
    entry.consensus_at = clock.now()
    audit.record("review.consensus_written", entry, actor=by, proposal=entry.proposal_id)
    db.session.flush()


class Decision(enum.StrEnum):
    recommend = "recommend"
    reject = "reject"


def decide(items: list[tuple[Proposal, int]], decision: str, reason: str, *, by: User,
           roles: frozenset[Role]) -> None:
    """Record the panel's decision on each (proposal, version the officer saw), all or none.

    A proposal still under review has its review closed first (``complete_review``), then
    goes through ``recommend`` or ``reject`` with ``reason``. Raises `DecisionRefused` naming
    every proposal that could not move; the caller rolls back, so nothing changes.
    """
    if decision not in (Decision.recommend, Decision.reject):
        raise ValueError(f"unknown decision {decision!r}")
    problems: list[tuple[Proposal, str]] = []
    for proposal, version in items:
        try:
            if proposal.status == S.under_review:
                workflow.fire(proposal, "complete_review", by=by, roles=roles,
                              expected_version=version)
                version = proposal.version
            workflow.fire(proposal, decision, by=by, roles=roles, expected_version=version,
                          reason=reason.strip())
        except workflow.TransitionError as exc:
            problems.append((proposal, str(exc)))
    if problems:
        raise DecisionRefused(problems)


# --- what applicants learn ----------------------------------------------------------------

@dataclass
class Feedback:
    """What the applicants read: comments written to them and the panel's summary; never
    who wrote them nor the confidential comments."""

    comments: list[str]
    consensus: str


def applicant_feedback(proposal: Proposal) -> Feedback | None:
    """The feedback applicants may read, once the panel decided; None before."""
    if not applicant_sees_feedback(proposal.status):
        return None
    comments = [a.review.comments_to_applicants for a in proposal_assignments(proposal)
                if a.is_active and a.submitted and a.review.comments_to_applicants]
    entry = panel_entry(proposal)
    return Feedback(comments, entry.consensus if entry is not None else "")


def _tell_outcome(proposal: Proposal, outcome: str, reason: str) -> None:
    feedback = applicant_feedback(proposal) or Feedback([], "")
    subjects = {"recommend": _l("Recommended for funding: %(title)s", title=proposal.title),
                "reject": _l("Not selected: %(title)s", title=proposal.title)}
    tenant = _tenant(proposal)
    for email in _applicant_emails(proposal):
        send_email(email, subjects[outcome], "review_outcome", tenant_id=proposal.tenant_id,
                   proposal=proposal, outcome=outcome, reason=reason, feedback=feedback,
                   url=external_url("proposals.show", tenant=tenant.slug,
                                  proposal_id=proposal.id))


# --- workflow hooks -----------------------------------------------------------------------

@workflow.guard("complete_review")
def _reviews_are_in(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    active = [a for a in proposal_assignments(proposal) if a.is_active]
    if not any(a.submitted for a in active):
        return [_("No review of this proposal is submitted yet.")]
    waiting = [a for a in active if not a.submitted]
    if waiting:
        return [ngettext("%(num)d review of “%(title)s” is not submitted yet: wait for it "
                         "or take that reviewer off the proposal.",
                         "%(num)d reviews of “%(title)s” are not submitted yet: wait for "
                         "them or take those reviewers off the proposal.", len(waiting),
                         title=proposal.title)]
    return []


@workflow.guard("reject")
@workflow.guard("recommend")
def _decision_has_reason(proposal: Proposal, by: User, context: dict[str, Any]) -> list[str]:
    if not (context.get("reason") or "").strip():
        return [_("Give the reason for the decision (the applicants read it); record it on "
                  "the call's panel page.")]
    return []


@workflow.effect("reject")
def _tell_rejected(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    _tell_outcome(proposal, "reject", context.get("reason", ""))


@workflow.effect("recommend")
def _tell_recommended(proposal: Proposal, by: User, context: dict[str, Any]) -> None:
    _tell_outcome(proposal, "recommend", context.get("reason", ""))


# --- overview -----------------------------------------------------------------------------

@dataclass
class CallProgress:
    """Where the review of one call stands, for the officers' overview."""

    call: Call
    under_review: int = 0
    reviewed: int = 0  #: review closed, decision pending
    decided: int = 0
    pending: int = 0  #: assignments waiting for the reviewer's declaration
    writing: int = 0  #: accepted assignments without a submitted review
    submitted: int = 0
    conflicts: int = 0  #: declared conflicts

    @property
    def proposals(self) -> int:
        return self.under_review + self.reviewed + self.decided


def review_progress() -> list[CallProgress]:
    """Calls with proposals under review or later, newest first, with their counts."""
    rows: dict[int, CallProgress] = {}
    proposals = db.session.execute(
        select(Proposal.call_id, Proposal.status, func.count())
        .where(Proposal.status.in_(list(PANEL_STATES)))
        .group_by(Proposal.call_id, Proposal.status)).all()
    if not proposals:
        return []
    calls = {c.id: c for c in db.session.scalars(
        select(Call).where(Call.id.in_({call_id for call_id, _s, _n in proposals})))}
    for call_id, status, count in proposals:
        progress = rows.setdefault(call_id, CallProgress(calls[call_id]))
        if status == S.under_review:
            progress.under_review += count
        elif status == S.reviewed:
            progress.reviewed += count
        else:
            progress.decided += count
    for assignment, call_id in db.session.execute(
            select(Assignment, Proposal.call_id)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .where(Proposal.call_id.in_(list(rows)))
            .options(selectinload(Assignment.review))):
        progress = rows[call_id]
        if assignment.status == AssignmentStatus.conflict:
            progress.conflicts += 1
        elif assignment.status == AssignmentStatus.pending:
            progress.pending += 1
        elif assignment.submitted:
            progress.submitted += 1
        else:
            progress.writing += 1
    return sorted(rows.values(), key=lambda p: (-p.call.closes_at.timestamp(), p.call.id))


def declared_conflicts(call: Call) -> list[Assignment]:
    """Conflicts reviewers declared on the call's proposals still under review."""
    return list(db.session.scalars(
        select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Proposal.call_id == call.id, Proposal.status == S.under_review,
               Assignment.status == AssignmentStatus.conflict)
        .order_by(Assignment.declared_at.desc())))


def rapporteur_tasks(user: User) -> list[PanelEntry]:
    """Proposals whose consensus summary ``user`` writes, before the decision."""
    return list(db.session.scalars(
        select(PanelEntry).join(Proposal, Proposal.id == PanelEntry.proposal_id)
        .where(PanelEntry.rapporteur_id == user.id,
               Proposal.status.in_([S.under_review, S.reviewed]))
        .order_by(PanelEntry.id)))
