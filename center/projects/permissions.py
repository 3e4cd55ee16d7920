"""Who sees a project and what each may do with it.

Three kinds of readers: the center's staff (officers and administrators: every project), the
project's team (the proposal's applicants: their own projects) and the funding donors
(reviewers acting for a donor with a commitment to the project and no declared conflict of
interest with it). Anyone else gets 404 from the views, as for a proposal.
"""

from __future__ import annotations

import enum

from center.agreements.permissions import reviewer_donor_ids
from center.auth.models import User
from center.projects.models import Project, ProjectStatus, Report
from center.proposals.permissions import is_applicant_of
from center.reviews.funding import is_conflicted
from center.tenants.models import Role


class Access(enum.StrEnum):
    staff = "staff"
    team = "team"
    donor = "donor"


STAFF = frozenset({Role.admin, Role.officer})


def access(user: User, project: Project, roles: frozenset[Role]) -> Access | None:
    """How ``user`` reads ``project``, or None when they may not."""
    if roles & STAFF:
        return Access.staff
    if Role.applicant in roles and is_applicant_of(user, project.proposal):
        return Access.team
    if (Role.reviewer in roles and reviewer_donor_ids(user) & set(project.donor_ids)
            and not is_conflicted(user, project.proposal)):
        return Access.donor
    return None


def can_write_report(report: Report | None, project: Project, how: Access | None) -> bool:
    return (how == Access.team and project.status == ProjectStatus.active
            and (report is None or report.is_editable))


def report_roles(how: Access | None, roles: frozenset[Role]) -> frozenset[Role]:
    """The roles ``user`` acts in on a report of this project: staff keep theirs, the team
    acts as applicant, a funding donor's reviewer as reviewer. Roles held for other
    projects never count here."""
    if how == Access.staff:
        return roles & STAFF
    if how == Access.team:
        return frozenset({Role.applicant})
    if how == Access.donor:
        return frozenset({Role.reviewer})
    return frozenset()
