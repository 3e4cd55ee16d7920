"""Who may see and do what in screening and concurrence: named predicates for views and
templates."""

from __future__ import annotations

from center.auth.models import User
from center.proposals.models import Proposal
from center.proposals.permissions import is_applicant_of
from center.tenants.models import Role

#: Read screening reports, sanctions lists, the audit trail and the workflow diagram.
READERS = (Role.officer, Role.admin)
#: Take screening decisions, clear hits, import lists.
SCREENERS = (Role.officer,)
#: Change the tenant's screening and concurrence settings.
SETTINGS_EDITORS = (Role.admin,)


def can_screen(roles: frozenset[Role]) -> bool:
    """Programme officers screen: decide, refresh, clear hits, review sensitive topics."""
    return Role.officer in roles


def can_import_lists(roles: frozenset[Role]) -> bool:
    return bool(roles & {Role.officer, Role.admin})


def can_answer(countries: set[str], country_code: str) -> bool:
    """An official answers the concurrence requests of the countries they act for."""
    return country_code in countries


def can_read_request(countries: set[str], country_code: str) -> bool:
    """An official reads their own government's request only, never another country's
    answer on the same proposal."""
    return country_code in countries


def sees_every_government(user: User, proposal: Proposal, roles: frozenset[Role]) -> bool:
    """Officers, administrators and the proposal's applicants follow every country's
    concurrence; anyone else (an official) only their own country's."""
    return bool(roles & {Role.officer, Role.admin}) or is_applicant_of(user, proposal)
