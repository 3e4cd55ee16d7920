"""Time-card forms: entering days, and the officer's decision on a card."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from center.amendments.forms import DaysField
from center.core.forms import Form
from center.core.hidden_fields import CounterField


class TimeCardForm(Form):
    member = SelectField(_l("Team member"), coerce=int, validate_choice=True)
    task = SelectField(_l("Task"), coerce=int, validate_choice=True)
    month = DateField(_l("Month"), format="%Y-%m", validators=[DataRequired()],
                      render_kw={"type": "month"},
                      description=_l("The calendar month worked, e.g. 2027-03."))
    days = DaysField(_l("Working days"), render_kw={"inputmode": "numeric"},
                     description=_l("Whole days worked on the task in that month."))

    def __init__(self, *args: Any, members: list[Any], tasks: list[Any], **kwargs: Any
                 ) -> None:
        super().__init__(*args, **kwargs)
        self.member.choices = [SelectChoice(m.id, m.name) for m in members]
        self.task.choices = [SelectChoice(t.id, t.title) for t in tasks]


class CardDecisionForm(Form):
    card = CounterField(required=True)
    version = CounterField(required=True)
    action = SelectField(choices=[SelectChoice("accept", _l("Accept")),
                                  SelectChoice("return", _l("Return"))])
    reason = TextAreaField(_l("Reason for returning"), validators=[Optional(),
                                                                   Length(max=2000)])
