"""Forms for resolving matches, importing funded projects and linking centers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length

from center.core.forms import Form
from center.core.hidden_fields import CounterField
from center.dedup.models import MatchStatus


class ResolveForm(Form):
    version = CounterField()
    status = RadioField(_l("Is it the same work?"), choices=[
        SelectChoice(MatchStatus.cleared.value, _l("Cleared: not the same work")),
        SelectChoice(MatchStatus.complementary.value,
                     _l("Complementary: coordinate the two teams")),
        SelectChoice(MatchStatus.duplicate.value, _l("Duplicate: the same work; reject or merge")),
    ], validators=[DataRequired(_l("Choose a verdict."))])
    comment = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Explain the verdict.")),
                                                      Length(max=4000)])


class ImportProjectsForm(Form):
    file = FileField(_l("CSV file of funded projects"),
                     description=_l("Columns: reference, title, abstract, lang, donor, country, "
                                    "lead_institute, pi, start_year (UTF-8)."),
                     validators=[FileRequired(_l("Choose a CSV file."))])


class ConfirmForm(Form):
    """A bare POST with CSRF protection (check a call, change a coordination link)."""
