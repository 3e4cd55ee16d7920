"""The proposal state machine: the only writer of `Proposal.status`.

Each transition names the states it leaves from, the state it reaches, the roles that may
fire it and the guards that must hold. `fire` checks all of that against the version the
actor saw (optimistic locking), sets the status with its timestamps, writes the audit event
and runs the transition's effects, inside the caller's transaction. An illegal or stale
transition raises and changes nothing: the caller rolls the transaction back.

Modules that own a step attach its rules with ``@guard(name)`` (what must hold: return the
problems, one sentence each, for the user) and its consequences with ``@effect(name)`` (what
follows: e-mails, reports, index updates). `check` asks the same questions as `fire` without
changing anything (the bulk decisions' confirmation list). Transitions marked ``system`` may
also be fired by the portal itself, as a `System` actor, when a rule makes them due (the last
country concurred, a concurrence deadline passed); their audit events have no person as
actor and name the rule instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
from center.core.labels import humanize
from center.proposals.models import DECIDED_STATES, Proposal, ProposalStatus
from center.tenants.models import Role

S = ProposalStatus


class TransitionError(Exception):
    """A transition that may not happen now; the message says why, for the user."""


class IllegalTransition(TransitionError):
    pass


class StaleTransition(TransitionError):
    """The proposal changed since the actor loaded it."""


class GuardFailed(TransitionError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class System:
    """The portal acting on its own because a rule made a transition due.

    Passed as ``by`` to `fire`; ``label`` names the rule in the audit trail ("all countries
    concurred", "concurrence deadline passed"). It has no id, so audit events and ``*_by``
    columns record no person.
    """

    label: str
    id: None = None
    email: str = ""

    @property
    def name(self) -> str:
        return f"System ({self.label})"


Actor = User | System
Guard = Callable[[Proposal, Actor, dict[str, Any]], list[str]]
Effect = Callable[[Proposal, Actor, dict[str, Any]], None]


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[ProposalStatus]
    target: ProposalStatus
    roles: frozenset[Role]
    label: str
    #: The actor must say why (the applicant is told): changes requested, ineligible, objected.
    needs_reason: bool = False
    #: The portal may fire it on its own (`System` actor) when its guards hold.
    system: bool = False
    #: Offered as a button on the proposal's page; False where another page owns the step
    #: (funding commitments, the agreement page) or only the portal fires it.
    manual: bool = True
    guards: list[Guard] = field(default_factory=list, compare=False)
    effects: list[Effect] = field(default_factory=list, compare=False)


TRANSITIONS: dict[str, Transition] = {}


def transition(name: str, sources: set[ProposalStatus], target: ProposalStatus,
               roles: set[Role], label: str, *, needs_reason: bool = False,
               system: bool = False, manual: bool = True) -> Transition:
    """Declare a transition; guards and effects attach with `guard` and `effect`."""
    if name in TRANSITIONS:
        raise ValueError(f"transition {name!r} is declared twice")
    t = Transition(name, frozenset(sources), target, frozenset(roles), label,
                   needs_reason=needs_reason, system=system, manual=manual)
    TRANSITIONS[name] = t
    return t


def guard(name: str) -> Callable[[Guard], Guard]:
    """Attach a rule that must hold before ``name``: it returns the problems, if any."""
    def register(func: Guard) -> Guard:
        TRANSITIONS[name].guards.append(func)
        return func
    return register


def effect(name: str) -> Callable[[Effect], Effect]:
    """Attach something that follows ``name``, run in the same transaction."""
    def register(func: Effect) -> Effect:
        TRANSITIONS[name].effects.append(func)
        return func
    return register


# The workflow of DESIGN.md. Modules that own a step attach its guards and effects.
transition("submit", {S.draft, S.changes_requested}, S.submitted, {Role.applicant},
           "Submit")
transition("withdraw", set(S) - DECIDED_STATES - {S.draft}, S.withdrawn, {Role.applicant},
           "Withdraw")
transition("start_screening", {S.submitted}, S.screening, {Role.officer}, "Start screening")
transition("request_changes", {S.screening}, S.changes_requested, {Role.officer},
           "Request changes", needs_reason=True)
transition("declare_ineligible", {S.screening}, S.ineligible, {Role.officer},
           "Declare ineligible", needs_reason=True)
transition("pass_screening", {S.screening}, S.concurrence, {Role.officer}, "Pass screening")
transition("object", {S.concurrence}, S.objected, {Role.concurrence}, "Object",
           needs_reason=True)
# Fired by the portal right after the last country concurred, or by the deadline command
# once silence counts as consent; an officer may fire it too when its guard holds.
transition("complete_concurrence", {S.concurrence}, S.under_review, {Role.officer},
           "All countries concurred", system=True, manual=False)
transition("complete_review", {S.under_review}, S.reviewed, {Role.officer}, "Close review")
transition("reject", {S.reviewed}, S.rejected, {Role.officer}, "Reject", needs_reason=True)
transition("recommend", {S.reviewed}, S.funding, {Role.officer}, "Recommend for funding",
           needs_reason=True)
# Fired by the donor commitment that covers the budget (center.reviews.funding).
transition("approve", {S.funding}, S.approved, {Role.reviewer, Role.officer},
           "Funding covered", manual=False)
# Both fired from the agreement page (center.agreements), where the PDF is.
transition("issue_agreement", {S.approved}, S.agreement_issued, {Role.admin},
           "Issue agreement", manual=False)
transition("activate", {S.agreement_issued}, S.active, {Role.admin}, "Countersign",
           manual=False)
transition("close", {S.active}, S.closed, {Role.admin}, "Close the project")


def allowed(proposal: Proposal, roles: frozenset[Role]) -> list[Transition]:
    """Return the transitions these roles could fire from the proposal's state."""
    return [t for t in TRANSITIONS.values()
            if proposal.status in t.sources and t.roles & roles]


def _get(name: str) -> Transition:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise IllegalTransition(f"unknown transition {name!r}") from None


def _refuse(proposal: Proposal, t: Transition, by: Actor, roles: frozenset[Role],
            expected_version: int | None, reason: str, context: dict[str, Any]) -> None:
    """Raise the first reason why ``t`` may not happen now; return when it may."""
    if expected_version is not None and proposal.version != expected_version:
        raise StaleTransition(_("The proposal changed since you opened it. Reload and check."))
    if proposal.status not in t.sources:
        raise IllegalTransition(_("“%(action)s” is not possible while the proposal is "
                                  "%(state)s.", action=_(t.label),
                                  state=proposal.status_label))
    if isinstance(by, System):
        if not t.system:
            raise IllegalTransition(_("“%(action)s” needs a person's decision.",
                                      action=_(t.label)))
    elif not t.roles & roles:
        raise IllegalTransition(_("Your role may not “%(action)s”.", action=_(t.label)))
    if t.needs_reason and not reason.strip():
        raise GuardFailed([_("Give the reason for “%(action)s”: the applicant is told.",
                             action=_(t.label))])
    problems = [p for g in t.guards for p in g(proposal, by, context)]
    if problems:
        raise GuardFailed(problems)


def check(proposal: Proposal, name: str, *, by: Actor, roles: frozenset[Role],
          expected_version: int | None = None, reason: str = "",
          **context: Any) -> list[str]:
    """Return why ``name`` may not be fired now (empty when it may); change nothing."""
    t = _get(name)
    context["reason"] = reason
    try:
        _refuse(proposal, t, by, roles, expected_version, reason, context)
    except GuardFailed as exc:
        return exc.problems
    except TransitionError as exc:
        return [str(exc)]
    return []


def fire(proposal: Proposal, name: str, *, by: Actor, roles: frozenset[Role],
         expected_version: int | None = None, reason: str = "", **context: Any) -> None:
    """Move ``proposal`` along transition ``name``.

    Effects: status and its timestamps set; an audit event with old and new state (and the
    rule's name when the `System` fires it); the transition's effects (e-mails, snapshots,
    reports, index updates); a flush, so that a concurrent change of the same proposal fails
    here (version check, raised as `StaleTransition`) rather than at commit. On any error the
    caller rolls back: nothing of the attempt is kept.
    """
    t = _get(name)
    context["reason"] = reason
    _refuse(proposal, t, by, roles, expected_version, reason, context)
    old = proposal.status
    now = clock.now()
    # The effects complete the new state (e.g. submitted_at); the row's CHECK constraints
    # hold only once they ran, so nothing is flushed in between.
    with db.session.no_autoflush:
        proposal.status = t.target
        if t.target == S.withdrawn:
            proposal.withdrawn_at = now
        if t.target in DECIDED_STATES:
            proposal.decided_at = now
        if reason:
            proposal.status_reason = reason
        for run in t.effects:
            run(proposal, by, context)
        system = {"system": by.label} if isinstance(by, System) else {}
        audit.record(f"proposal.{name}", proposal, actor=by, from_state=old,
                     to_state=t.target, reason=reason or None, **system)
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleTransition(_("Someone changed this proposal at the same moment. Reload "
                                "and check.")) from exc


def touch(proposal: Proposal) -> None:
    """Count a change of what the proposal's transitions depend on as a change of the proposal.

    Clearing a sanctions hit or recording a country's concurrence changes no column of the
    proposal, yet a transition decided on the earlier state must not go through: the next
    flush bumps the proposal's version, so a concurrent `fire` from the old version fails.
    """
    flag_modified(proposal, "status")


def diagram() -> list[dict[str, Any]]:
    """Describe every transition for the officers' workflow page, generated from the table."""
    return [{"name": t.name, "label": t.label, "from": sorted(t.sources), "to": t.target,
             "roles": sorted(t.roles), "needs_reason": t.needs_reason, "system": t.system,
             "guards": [_doc(g) for g in t.guards], "effects": [_doc(e) for e in t.effects]}
            for t in TRANSITIONS.values()]


def _doc(func: Callable[..., Any]) -> str:
    """The first line of a guard's or effect's docstring, else its name in words."""
    doc = (func.__doc__ or "").strip().splitlines()
    return doc[0] if doc else humanize(func.__name__)
