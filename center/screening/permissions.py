"""Who may see and do what in screening and concurrence: named predicates for views and
templates."""

from __future__ import annotations

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
