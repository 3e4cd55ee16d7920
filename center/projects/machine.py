"""A small state machine for one model's ``status``: the report's and the tranche's.

Shaped like `center.proposals.workflow`: a table of transitions (from which states, to
which, fired by which roles or by the portal itself, whether a reason is needed), guards
that return the problems in words for the user, effects run in the same transaction. `fire`
checks the version the actor saw (optimistic locking), sets the status, runs the effects,
writes the audit event and flushes; anything refused raises and changes nothing (the caller
rolls back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from center.core import audit
from center.core.db import db
from center.proposals.workflow import (
    GuardFailed,
    IllegalTransition,
    StaleTransition,
    System,
    TransitionError,
)
from center.tenants.models import Role

__all__ = ["GuardFailed", "IllegalTransition", "Machine", "StaleTransition", "System",
           "TransitionError"]

Guard = Callable[[Any, Any, dict[str, Any]], list[str]]
Effect = Callable[[Any, Any, dict[str, Any]], None]


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    roles: frozenset[Role]
    label: str
    needs_reason: bool = False
    #: The portal may fire it on its own (`System` actor).
    system: bool = False
    guards: list[Guard] = field(default_factory=list, compare=False)
    effects: list[Effect] = field(default_factory=list, compare=False)


class Machine:
    """The transitions of one model; ``prefix`` names its audit events (``report.submit``)."""

    def __init__(self, prefix: str, noun: Any) -> None:
        self.prefix = prefix
        self.noun = noun  # a lazy string: "report", "tranche"
        self.transitions: dict[str, Transition] = {}

    def add(self, name: str, sources: set[str], target: str, roles: set[Role], label: str,
            *, needs_reason: bool = False, system: bool = False) -> Transition:
        if name in self.transitions:
            raise ValueError(f"transition {name!r} is declared twice")
        t = Transition(name, frozenset(sources), target, frozenset(roles), label,
                       needs_reason=needs_reason, system=system)
        self.transitions[name] = t
        return t

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def register(func: Guard) -> Guard:
            self.transitions[name].guards.append(func)
            return func
        return register

    def effect(self, name: str) -> Callable[[Effect], Effect]:
        def register(func: Effect) -> Effect:
            self.transitions[name].effects.append(func)
            return func
        return register

    def get(self, name: str) -> Transition:
        try:
            return self.transitions[name]
        except KeyError:
            raise IllegalTransition(f"unknown transition {name!r}") from None

    def allowed(self, obj: Any, roles: frozenset[Role]) -> list[Transition]:
        """The person-fired transitions these roles could fire from ``obj``'s state."""
        return [t for t in self.transitions.values()
                if obj.status in t.sources and t.roles & roles]

    def _refuse(self, obj: Any, t: Transition, by: Any, roles: frozenset[Role],
                expected_version: int | None, reason: str, context: dict[str, Any]) -> None:
        if expected_version is not None and obj.version != expected_version:
            raise StaleTransition(_("The %(noun)s changed since you opened it. Reload and "
                                    "check.", noun=self.noun))
        if obj.status not in t.sources:
            raise IllegalTransition(_("“%(action)s” is not possible while the %(noun)s is "
                                      "%(state)s.", action=_(t.label), noun=self.noun,
                                      state=obj.status_label))
        if isinstance(by, System):
            if not t.system:
                raise IllegalTransition(_("“%(action)s” needs a person's decision.",
                                          action=_(t.label)))
        elif not t.roles & roles:
            raise IllegalTransition(_("Your role may not “%(action)s”.", action=_(t.label)))
        if t.needs_reason and not reason.strip():
            raise GuardFailed([_("Give the reason for “%(action)s”.", action=_(t.label))])
        problems = [p for g in t.guards for p in g(obj, by, context)]
        if problems:
            raise GuardFailed(problems)

    def check(self, obj: Any, name: str, *, by: Any, roles: frozenset[Role],
              reason: str = "", **context: Any) -> list[str]:
        """Why ``name`` may not be fired now (empty when it may); changes nothing."""
        context["reason"] = reason
        try:
            self._refuse(obj, self.get(name), by, roles, None, reason, context)
        except GuardFailed as exc:
            return exc.problems
        except TransitionError as exc:
            return [str(exc)]
        return []

    def fire(self, obj: Any, name: str, *, by: Any, roles: frozenset[Role],
             expected_version: int | None = None, reason: str = "", **context: Any) -> None:
        """Move ``obj`` along ``name``: status, effects, audit event, flush."""
        t = self.get(name)
        context["reason"] = reason.strip()
        self._refuse(obj, t, by, roles, expected_version, reason, context)
        old = obj.status
        with db.session.no_autoflush:
            obj.status = t.target
            for run in t.effects:
                run(obj, by, context)
            system = {"system": by.label} if isinstance(by, System) else {}
            audit.record(f"{self.prefix}.{name}", obj, actor=by, from_state=old,
                         to_state=t.target, reason=reason.strip() or None,
                         project=obj.project_id, **system)
        try:
            db.session.flush()
        except StaleDataError as exc:
            raise StaleTransition(_("Someone changed this %(noun)s at the same moment. "
                                    "Reload and check.", noun=self.noun)) from exc

    def table(self) -> list[dict[str, Any]]:
        """The transitions as rows, for tests and a diagram."""
        return [{"name": t.name, "from": sorted(t.sources), "to": t.target,
                 "roles": sorted(t.roles), "system": t.system, "needs_reason": t.needs_reason}
                for t in self.transitions.values()]
