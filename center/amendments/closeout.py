"""The amendments package's close-out condition: no change request of the project still
waits for the officer or the donors (`center.projects.closeout.register_check`)."""

from __future__ import annotations

from flask_babel import gettext as _

from center.amendments.models import ChangeStatus
from center.amendments.services import changes_of
from center.projects.closeout import register_check
from center.projects.models import Project


@register_check
def no_open_change_requests(project: Project) -> list[str]:
    """Each request still open is decided or withdrawn before the project closes."""
    return [_("Change request %(n)s is %(state)s: it must be decided or withdrawn first.",
              n=c.id, state=c.status_label)
            for c in reversed(changes_of(project.proposal))
            if c.status in (ChangeStatus.submitted, ChangeStatus.donor_review)]
