"""Forms for change requests, their review and the acknowledgement of amendments, and the
whole-days field that time cards share."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from center.amendments.models import CHANGE_KIND_LABELS, ChangeKind
from center.core.fields import MoneyField
from center.core.forms import Form
from center.core.hidden_fields import CounterField


class DaysField(StringField):
    """Whole working days, 1 to 31, typed as digits; ``data`` is an int or None.

    A decimal mark (``2,5`` or ``2.5``), a sign, an exponent or any other character is
    refused next to the field with what to type instead: time cards count whole days.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw:
            return
        if any(mark in self.raw for mark in ",."):
            raise ValueError(_l("Enter whole days, e.g. 12: time cards do not count parts "
                                "of a day."))
        if self.raw.startswith("-"):
            raise ValueError(_l("Days cannot be negative."))
        if not (self.raw.isascii() and self.raw.isdigit()):
            raise ValueError(_l("Enter the number of days in digits, e.g. 12."))
        if len(self.raw) > 2 or not 1 <= int(self.raw) <= 31:
            raise ValueError(_l("A month has at most 31 days; enter between 1 and 31."))
        self.data = int(self.raw)

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not self.process_errors:
            raise StopValidation(_l("Enter the days worked."))

    def _value(self) -> str:
        return getattr(self, "raw", None) or ("" if self.data is None else str(self.data))


class ChangeRequestForm(Form):
    """A new change request: one move of money, a new end date, or extra days (or both)."""

    kind = SelectField(_l("What changes"), choices=[
        SelectChoice(str(k), CHANGE_KIND_LABELS[k]) for k in ChangeKind])
    justification = TextAreaField(_l("Why the change is needed"),
                                  validators=[DataRequired(), Length(max=5000)])
    from_line = SelectField(_l("Move money from"), coerce=int, validate_choice=False)
    to_line = SelectField(_l("to"), coerce=int, validate_choice=False)
    amount = MoneyField(_l("Amount moved"), validators=[Optional()])
    new_end_on = DateField(_l("New end date"), validators=[Optional()])
    member = SelectField(_l("Team member given extra days"), coerce=int, validate_choice=False)
    task = SelectField(_l("Task"), coerce=int, validate_choice=False)
    extra_days = DaysField(_l("Additional working days"), validators=[Optional()])

    def __init__(self, *args: Any, lines: list[tuple[int, str]], members: list[Any],
                 tasks: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [SelectChoice(0, "—")]
        self.from_line.choices = none + [SelectChoice(i, label) for i, label in lines]
        self.to_line.choices = none + [SelectChoice(i, label) for i, label in lines]
        self.member.choices = none + [SelectChoice(m.id, m.name) for m in members]
        self.task.choices = none + [SelectChoice(t.id, t.title) for t in tasks]
        self.extra_days.pre_validate = lambda form: None  # optional here

    def moves(self) -> list[dict[str, int]]:
        if not (self.from_line.data and self.to_line.data and self.amount.data):
            return []
        return [{"from_line_id": self.from_line.data, "to_line_id": self.to_line.data,
                 "amount": self.amount.data}]

    def extra(self) -> list[dict[str, int]]:
        if not (self.member.data and self.task.data and self.extra_days.data):
            return []
        return [{"member_id": self.member.data, "task_id": self.task.data,
                 "days": self.extra_days.data}]


class ChangeActionForm(Form):
    version = CounterField(required=True)
    action = HiddenField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class AmendmentAcknowledgeForm(Form):
    party = HiddenField(validators=[DataRequired()])
    sha256 = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(_l("I have read the amendment with this fingerprint and "
                              "acknowledge it for the party named above."),
                           validators=[DataRequired()])
    typed_name = StringField(_l("Your full name"), validators=[DataRequired(),
                                                               Length(min=2, max=200)])
