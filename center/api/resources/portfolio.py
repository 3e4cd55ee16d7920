"""The funded portfolio: projects with what their donors committed and paid, for the
center's staff and the donors' reviewers (each donor's reviewers see the projects it funds)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from center.api.auth import api_blueprint, token_roles
from center.api.resources.common import money, page_of_query, refuse, with_items
from center.api.schemas import PageArgs, ProjectSchema, paged
from center.core.db import db
from center.core.links import external_url
from center.projects import services
from center.projects.models import Project
from center.projects.permissions import access
from center.tenants.models import Role
from center.tenants.permissions import current_roles

blp = api_blueprint("api_portfolio", "Portfolio",
                    "The funded portfolio: projects, commitments, payments.")

#: Who reads the portfolio: the staff, and the donors' reviewers.
READERS = (Role.officer, Role.admin, Role.reviewer)


def present_project(project: Project) -> dict[str, Any]:
    figures = services.figures(project)
    currency = project.currency
    return {
        "id": project.id, "proposal_id": project.proposal_id, "title": project.title,
        "status": project.status, "opened_at": project.opened_at,
        "committed": money(figures.committed, currency), "paid": money(figures.paid, currency),
        "reports_accepted": figures.reports_accepted, "reports_total": figures.reports_total,
        "donors": [{"donor_id": row["donor"].id, "donor": row["donor"].short_name,
                    "committed": money(row["committed"], currency),
                    "paid": money(row["paid"], currency)}
                   for row in services.donor_figures(project)],
        "url": external_url("projects.show", project_id=project.id),
    }


def _portfolio_roles() -> frozenset[Role]:
    """The roles the portfolio is read with: an applicant's own projects are theirs to read
    on the pages, not part of the portfolio."""
    return current_roles() - {Role.applicant}


@blp.route("/projects", endpoint="list")
@token_roles(*READERS)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, paged(ProjectSchema, "ProjectPage"))
def list_projects(**args: Any) -> dict[str, Any]:
    """The projects you may read, newest first."""
    rows, page = page_of_query(services.visible_projects(current_user, _portfolio_roles())
                               .options(*services.FIGURE_LOADS), args)
    return with_items(page, [present_project(p) for p in rows])


def load_project(project_id: int) -> Project:
    project = db.get_or_404(Project, project_id)
    if access(current_user, project, _portfolio_roles()) is None:
        refuse(404, _("No such project."))
    return project


@blp.route("/projects/<int:project_id>", endpoint="show")
@token_roles(*READERS, loads=load_project)
@blp.response(200, ProjectSchema)
def show_project(project_id: int) -> dict[str, Any]:
    """One project."""
    return present_project(load_project(project_id))
