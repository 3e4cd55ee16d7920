"""Forms for equipment, monitoring visits, their actions, and double-claim verdicts."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from center.core.fields import MoneyField
from center.core.forms import Form
from center.core.hidden_fields import CounterField
from center.dedup.models import MATCH_STATUS_LABELS, MatchStatus


class EquipmentForm(Form):
    line = SelectField(_l("Budget line"), coerce=int, validate_choice=False)
    item = StringField(_l("Item"), validators=[DataRequired(), Length(max=300)])
    cost = MoneyField(_l("Cost"), validators=[DataRequired()])
    location = StringField(_l("Where it is"), validators=[DataRequired(), Length(max=300)])
    serial = StringField(_l("Serial number"), validators=[Optional(), Length(max=120)])

    def __init__(self, *args: Any, lines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line.choices = [SelectChoice(i, label) for i, label in lines]


class VisitForm(Form):
    visited_on = DateField(_l("Date of the visit"), validators=[DataRequired()])
    visitor = StringField(_l("Visitor"), validators=[DataRequired(), Length(max=200)])
    findings = TextAreaField(_l("Findings"), validators=[DataRequired(), Length(max=10000)])
    confirmed = SelectMultipleField(_l("Equipment seen in place"), coerce=int,
                                    validate_choice=False)
    action = TextAreaField(_l("Follow-up action"), validators=[Optional(), Length(max=2000)])
    owner = StringField(_l("Who does it"), validators=[Optional(), Length(max=200)])
    due_on = DateField(_l("Due"), validators=[Optional()])

    def __init__(self, *args: Any, equipment: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.confirmed.choices = [SelectChoice(e.id, f"{e.item} ({e.serial or '—'})")
                                  for e in equipment]


class RowActionForm(Form):
    """A button acting on one row of the page (an action done, an item handed over)."""

    row = CounterField(required=True)
    version = CounterField(required=True)
    to = StringField(_l("Handed over to"), validators=[Optional(), Length(max=300)])


class ClaimVerdictForm(Form):
    version = CounterField(required=True)
    status = RadioField(_l("Verdict"), choices=[
        SelectChoice(str(s), MATCH_STATUS_LABELS[s]) for s in MatchStatus
        if s != MatchStatus.open], validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])
