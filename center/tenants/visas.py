"""Visa rules as data: regimes (blocs, waivers) and pair rules, and what a trip needs.

Precedence, from first to last (`visa_needs`):

1. the same country (a domestic trip) needs neither visa nor letter;
2. a pair rule (citizenship → destination) decides, whatever the regimes say;
3. a regime covering the trip (a bloc both countries belong to, or a waiver of the
   destination for the traveller's nationality) means no visa; a letter only when every
   covering regime asks for one;
4. nothing covers the trip: a visa and an invitation letter, the safe default.

The portal ships rules in ``data/visa_rules.json``; `load_shipped_rules` copies them into a
tenant, which the tenant's administrators then edit. Every write is audited and flushed,
never committed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from center.auth.models import User
from center.core import audit
from center.core.db import db
from center.tenants.models import VisaRegime, VisaRegimeCountry, VisaRegimeKind, VisaRule

SHIPPED_RULES = Path(__file__).with_name("data") / "visa_rules.json"

#: Called with (by=user) after any rule changes: modules deriving data from the rules (the
#: trips' visa and letter needs) register here, as they register workflow effects.
_after_change: list[Callable[..., None]] = []


def after_change(fn: Callable[..., None]) -> Callable[..., None]:
    """Register ``fn(by=...)`` to run, in the same transaction, after the rules change."""
    _after_change.append(fn)
    return fn


def _changed(by: User | None) -> None:
    db.session.flush()
    for fn in _after_change:
        fn(by=by)

#: The sides of a regime each kind uses.
SIDES = {VisaRegimeKind.bloc: ("member",),
         VisaRegimeKind.waiver: ("destination", "nationality")}


class VisaRuleError(ValueError):
    """A rule that cannot be saved; ``field`` names the form field to show it next to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class VisaNeed:
    """What a trip needs, and why (for the applicant and the administrator)."""

    visa: bool
    invitation: bool
    basis: str  #: "domestic", "pair", "regime" or "default"
    rule: VisaRule | None = None
    regimes: tuple[VisaRegime, ...] = ()

    @property
    def explanation(self) -> str:
        if self.basis == "domestic":
            return str(_l("a trip within one country"))
        if self.basis == "pair" and self.rule is not None:
            return str(_l("the rule for this pair of countries"))
        if self.basis == "regime":
            return ", ".join(r.name for r in self.regimes)
        return str(_l("no rule covers this pair: planned with a visa and a letter"))


def regimes() -> list[VisaRegime]:
    """Return the tenant's regimes with their countries, by name."""
    return list(db.session.scalars(select(VisaRegime).options(
        selectinload(VisaRegime.countries)).order_by(VisaRegime.name)))


def visa_needs(citizenship: str, destination: str,
               known_regimes: list[VisaRegime] | None = None) -> VisaNeed:
    """Return what a citizen of one country needs to travel to another (see the module)."""
    citizenship, destination = citizenship.upper(), destination.upper()
    if citizenship == destination:
        return VisaNeed(False, False, "domestic")
    rule = db.session.scalar(select(VisaRule).where(VisaRule.citizenship == citizenship,
                                                    VisaRule.destination == destination))
    if rule is not None:
        return VisaNeed(rule.visa_required, rule.invitation_required, "pair", rule=rule)
    covering = tuple(r for r in (regimes() if known_regimes is None else known_regimes)
                     if r.covers(citizenship, destination))
    if covering:
        return VisaNeed(False, all(r.invitation_required for r in covering), "regime",
                        regimes=covering)
    return VisaNeed(True, True, "default")


# --- pair rules -----------------------------------------------------------------------------

def save_pair_rule(citizenship: str, destination: str, *, visa_required: bool,
                   invitation_required: bool, source: str = "",
                   source_date: dt.date | None = None, rule: VisaRule | None = None,
                   by: User | None) -> VisaRule:
    """Add a pair rule, or change ``rule``; refuse a second rule for the same pair."""
    citizenship, destination = citizenship.upper(), destination.upper()
    if citizenship == destination:
        raise VisaRuleError(str(_l("A trip within one country needs no visa rule.")),
                            "destination")
    existing = db.session.scalar(select(VisaRule).where(VisaRule.citizenship == citizenship,
                                                        VisaRule.destination == destination))
    if existing is not None and existing is not rule:
        if rule is not None:
            raise VisaRuleError(str(_l("Another rule already covers this pair: change that "
                                       "one instead.")), "destination")
        rule = existing  # adding a pair that exists changes it, as the form promises
    if rule is None:
        rule = VisaRule(citizenship=citizenship, destination=destination)
        db.session.add(rule)
    rule.citizenship, rule.destination = citizenship, destination
    rule.visa_required, rule.invitation_required = visa_required, invitation_required
    rule.source, rule.source_date = source.strip(), source_date
    db.session.flush()
    audit.record("visa_rule.set", rule, actor=by, citizenship=citizenship,
                 destination=destination, visa=visa_required, invitation=invitation_required,
                 source=rule.source)
    _changed(by)
    return rule


def delete_pair_rule(rule: VisaRule, *, by: User) -> None:
    audit.record("visa_rule.deleted", rule, actor=by, citizenship=rule.citizenship,
                 destination=rule.destination)
    db.session.delete(rule)
    _changed(by)


def pair_rules() -> list[VisaRule]:
    return list(db.session.scalars(select(VisaRule).order_by(VisaRule.citizenship,
                                                             VisaRule.destination)))


# --- regimes ---------------------------------------------------------------------------------

def save_regime(*, name: str, kind: VisaRegimeKind, countries: dict[str, list[str]],
                invitation_required: bool = False, source: str = "",
                source_date: dt.date | None = None, regime: VisaRegime | None = None,
                expected_version: int | None = None, by: User | None) -> VisaRegime:
    """Add a regime or change ``regime``; ``countries`` maps each side to ISO codes.

    Effects: the regime's countries replaced by ``countries`` (members added and removed);
    an audit event naming the codes added and removed.
    """
    name = name.strip()
    if regime is not None and expected_version is not None and regime.version != expected_version:
        raise VisaRuleError(str(_l("Someone changed this regime after you opened it; what you "
                                   "typed is still here: compare and save again.")), "name")
    clash = db.session.scalar(select(VisaRegime.id).where(VisaRegime.name == name))
    if clash is not None and (regime is None or clash != regime.id):
        raise VisaRuleError(str(_l("Another regime already has this name.")), "name")
    wanted = {(side, code.upper()) for side in SIDES[kind]
              for code in countries.get(side, [])}
    for side in SIDES[kind]:
        if not any(s == side for s, _code in wanted):
            raise VisaRuleError(str(_l("Name at least one country.")), side)
    if kind == VisaRegimeKind.bloc and len(wanted) < 2:
        raise VisaRuleError(str(_l("A bloc needs at least two members.")), "member")
    if regime is None:
        regime = VisaRegime(name=name, kind=kind)
        db.session.add(regime)
        before: set[tuple[str, str]] = set()
    else:
        before = {(c.side, c.code) for c in regime.countries}
        flag_modified(regime, "name")  # a change of members alone also moves the version
    regime.name, regime.kind = name, kind
    regime.invitation_required = invitation_required
    regime.source, regime.source_date = source.strip(), source_date
    for country in list(regime.countries):
        if (country.side, country.code) not in wanted:
            regime.countries.remove(country)
    regime.countries += [VisaRegimeCountry(side=side, code=code)
                         for side, code in sorted(wanted - before)]
    db.session.flush()
    audit.record("visa_regime.saved", regime, actor=by, name=name, kind=str(kind),
                 added=sorted(f"{s}:{c}" for s, c in wanted - before),
                 removed=sorted(f"{s}:{c}" for s, c in before - wanted))
    _changed(by)
    return regime


def delete_regime(regime: VisaRegime, *, by: User) -> None:
    audit.record("visa_regime.deleted", regime, actor=by, name=regime.name)
    db.session.delete(regime)
    _changed(by)


# --- the shipped rules ------------------------------------------------------------------------

def shipped_rules() -> dict[str, Any]:
    return json.loads(SHIPPED_RULES.read_text(encoding="utf-8"))


def load_shipped_rules(*, by: User | None) -> int:
    """Copy the portal's visa rules into the current tenant; return how many were added.

    Regimes and pairs the tenant already has (by name, by pair) are left as edited.
    """
    data = shipped_rules()
    have = {r.name for r in regimes()}
    pairs = {(r.citizenship, r.destination) for r in pair_rules()}
    added = 0
    for item in data["regimes"]:
        if item["name"] in have:
            continue
        kind = VisaRegimeKind(item["kind"])
        countries = ({"member": item["members"]} if kind == VisaRegimeKind.bloc else
                     {"destination": item["destinations"],
                      "nationality": item["nationalities"]})
        regime = VisaRegime(name=item["name"], kind=kind, source=item["source"],
                            source_date=dt.date.fromisoformat(item["source_date"]),
                            invitation_required=item.get("invitation_required", False))
        regime.countries = [VisaRegimeCountry(side=side, code=code)
                            for side, codes in countries.items() for code in sorted(set(codes))]
        db.session.add(regime)
        added += 1
    for item in data["pairs"]:
        if (item["citizenship"], item["destination"]) in pairs:
            continue
        db.session.add(VisaRule(
            citizenship=item["citizenship"], destination=item["destination"],
            visa_required=item["visa_required"], invitation_required=item["invitation_required"],
            source=item["source"], source_date=dt.date.fromisoformat(item["source_date"])))
        added += 1
    db.session.flush()
    if added:
        audit.record("visa_rules.loaded", None, actor=by, added=added, file=SHIPPED_RULES.name)
        _changed(by)
    return added
