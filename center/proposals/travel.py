"""The travel plan's rules: what a trip needs (from the visa rules), what makes a trip
impossible, passports that will not last the trip, and whether the travel budget covers the
trips' costs.

Pure reading functions, plus `refresh_visa_needs`, which keeps every trip's stored needs in
step with the tenant's visa rules (registered with `center.tenants.visas.after_change`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from center.core.db import db
from center.proposals.models import BudgetCategory, Proposal, TeamMember, Trip
from center.tenants import visas

#: A passport must stay valid this many months after the trip's return (common consular rule).
PASSPORT_MARGIN_MONTHS = 6


def trip_needs(traveller: TeamMember, destination_country: str,
               known_regimes: list[Any] | None = None) -> tuple[bool, bool]:
    """Return (visa needed, invitation letter needed) for ``traveller`` going there."""
    need = visas.visa_needs(traveller.citizenship, destination_country, known_regimes)
    return need.visa, need.invitation


@visas.after_change
def refresh_visa_needs(*, by: Any = None) -> int:
    """Re-derive every trip's needs of the current tenant from the rules; return the changes."""
    known = visas.regimes()
    changed = 0
    for trip in db.session.scalars(select(Trip)):
        needs = trip_needs(trip.traveller, trip.destination_country, known)
        if needs != (trip.visa_needed, trip.invitation_needed):
            trip.visa_needed, trip.invitation_needed = needs
            changed += 1
    db.session.flush()
    return changed


def trip_errors(*, origin_country: str, origin_city: str, destination_country: str,
                destination_city: str, depart_on: dt.date | None, return_on: dt.date | None,
                today: dt.date) -> dict[str, str]:
    """Return {field: message} for what makes a trip impossible; empty when it is fine."""
    errors: dict[str, str] = {}
    if depart_on is not None and depart_on < today:
        errors["depart_on"] = str(_l("The departure is in the past."))
    if depart_on is not None and return_on is not None and return_on < depart_on:
        errors["return_on"] = str(_l("The return cannot be before the departure."))
    same_country = origin_country == destination_country
    if same_country and origin_city.strip().casefold() == destination_city.strip().casefold():
        errors["destination_city"] = str(_l("A trip goes somewhere else: the destination is "
                                            "the place of departure."))
    return errors


def add_months(day: dt.date, months: int) -> dt.date:
    """Return ``day`` moved by ``months`` calendar months (clamped to the month's end)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class PassportFlag:
    """A traveller whose passport will not do for a trip."""

    member: TeamMember
    trip: Trip
    message: str


def passport_flags(proposal: Proposal) -> list[PassportFlag]:
    """Flag each trip abroad whose traveller's passport is missing or expires too early."""
    flags = []
    for trip in proposal.trips:
        member = trip.traveller
        if trip.origin_country == trip.destination_country:
            continue
        expires = member.passport_expires_on
        if trip.invitation_needed and not member.passport_number:
            message = _l("%(name)s's passport number is missing: the invitation letter needs "
                         "it.", name=member.name)
        elif expires is None:
            continue
        elif expires < trip.return_on:
            message = _l("%(name)s's passport expires on %(day)s, before the return of the "
                         "trip to %(to)s.", name=member.name, day=expires.isoformat(),
                         to=trip.destination_country)
        elif expires < add_months(trip.return_on, PASSPORT_MARGIN_MONTHS):
            message = _l("%(name)s's passport expires on %(day)s, less than %(months)d months "
                         "after the trip to %(to)s: many consulates refuse it.",
                         name=member.name, day=expires.isoformat(),
                         months=PASSPORT_MARGIN_MONTHS, to=trip.destination_country)
        else:
            continue
        flags.append(PassportFlag(member, trip, str(message)))
    return flags


@dataclass(frozen=True)
class TravelCoverage:
    """The trips' estimated costs against the travel budget lines, in minor units."""

    trips: int
    budget: int

    @property
    def shortfall(self) -> int:
        return max(0, self.trips - self.budget)

    @property
    def covered(self) -> bool:
        return self.shortfall == 0


def travel_coverage(proposal: Proposal) -> TravelCoverage:
    return TravelCoverage(
        trips=sum(t.cost for t in proposal.trips),
        budget=sum(line.amount for line in proposal.budget_lines
                   if line.category == BudgetCategory.travel))
