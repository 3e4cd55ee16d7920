"""The proposal state machine: the only writer of `Proposal.status`.

Each transition names the states it leaves from, the state it reaches, the roles that may
fire it and a guard that must hold. `fire` checks all of that against the version the actor
saw (optimistic locking), sets the status with its timestamps, writes the audit event and
runs the transition's effects, inside the caller's transaction. An illegal or stale
transition raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from center.auth.models import User
from center.core import audit, clock
from center.core.db import db
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


Guard = Callable[[Proposal, User, dict[str, Any]], list[str]]
Effect = Callable[[Proposal, User, dict[str, Any]], None]


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[ProposalStatus]
    target: ProposalStatus
    roles: frozenset[Role]
    label: str
    guards: list[Guard] = field(default_factory=list, compare=False)
    effects: list[Effect] = field(default_factory=list, compare=False)


TRANSITIONS: dict[str, Transition] = {}


def transition(name: str, sources: set[ProposalStatus], target: ProposalStatus,
               roles: set[Role], label: str) -> Transition:
    """Declare a transition; guards and effects attach with `guard` and `effect`."""
    t = Transition(name, frozenset(sources), target, frozenset(roles), label)
    TRANSITIONS[name] = t
    return t


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(func: Guard) -> Guard:
        TRANSITIONS[name].guards.append(func)
        return func
    return register


def effect(name: str) -> Callable[[Effect], Effect]:
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
           "Request changes")
transition("declare_ineligible", {S.screening}, S.ineligible, {Role.officer},
           "Declare ineligible")
transition("pass_screening", {S.screening}, S.concurrence, {Role.officer}, "Pass screening")
transition("object", {S.concurrence}, S.objected, {Role.concurrence}, "Object")
transition("complete_concurrence", {S.concurrence}, S.under_review,
           {Role.concurrence, Role.officer}, "All countries concurred")
transition("complete_review", {S.under_review}, S.reviewed, {Role.officer}, "Close review")
transition("reject", {S.reviewed}, S.rejected, {Role.officer}, "Reject")
transition("recommend", {S.reviewed}, S.funding, {Role.officer}, "Recommend for funding")
transition("approve", {S.funding}, S.approved, {Role.reviewer, Role.officer},
           "Funding covered")
transition("issue_agreement", {S.approved}, S.agreement_issued, {Role.admin},
           "Issue agreement")
transition("activate", {S.agreement_issued}, S.active, {Role.admin}, "Countersign")
transition("close", {S.active}, S.closed, {Role.admin}, "Close the project")


def allowed(proposal: Proposal, roles: frozenset[Role]) -> list[Transition]:
    """Return the transitions these roles could fire from the proposal's state."""
    return [t for t in TRANSITIONS.values()
            if proposal.status in t.sources and t.roles & roles]


def fire(proposal: Proposal, name: str, *, by: User, roles: frozenset[Role],
         expected_version: int | None = None, reason: str = "", **context: Any) -> None:
    """Move ``proposal`` along transition ``name``.

    Effects: status and its timestamps set; an audit event with old and new state; the
    transition's effects (e-mails, snapshots, index updates); a flush, so that a concurrent
    change of the same proposal fails here (version check) rather than later.
    """
    try:
        t = TRANSITIONS[name]
    except KeyError:
        raise IllegalTransition(f"unknown transition {name!r}") from None
    if expected_version is not None and proposal.version != expected_version:
        raise StaleTransition("The proposal changed since you opened it. Reload and check.")
    if proposal.status not in t.sources:
        state = proposal.status.replace("_", " ")
        raise IllegalTransition(f"“{t.label}” is not possible while the proposal is {state}.")
    if not t.roles & roles:
        raise IllegalTransition(f"Your role may not “{t.label}”.")
    context["reason"] = reason
    problems = [p for g in t.guards for p in g(proposal, by, context)]
    if problems:
        raise GuardFailed(problems)
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
        audit.record(f"proposal.{name}", proposal, actor=by, from_state=old,
                     to_state=t.target, reason=reason or None)
    db.session.flush()


def diagram() -> list[dict[str, Any]]:
    """Describe every transition for the officers' workflow page, generated from the table."""
    return [{"name": t.name, "label": t.label, "from": sorted(t.sources), "to": t.target,
             "roles": sorted(t.roles)} for t in TRANSITIONS.values()]
