"""The monitoring package's close-out condition: equipment bought under the project is seen
on a monitoring visit and handed over to the institute that keeps it before the project
closes (`center.projects.closeout.register_check`)."""

from __future__ import annotations

from flask_babel import gettext as _

from center.monitoring.services import equipment_outstanding
from center.projects.closeout import register_check
from center.projects.models import Project


@register_check
def equipment_handed_over(project: Project) -> list[str]:
    """Every registered item confirmed on a visit and handed over; one problem per item."""
    problems = []
    for item in equipment_outstanding(project.proposal):
        if not item.confirmed:
            problems.append(_("Equipment “%(item)s” is not confirmed on a monitoring visit "
                              "yet.", item=item.item))
        else:
            problems.append(_("Equipment “%(item)s” is not handed over yet: record who "
                              "keeps it.", item=item.item))
    return problems
