"""One form per thing done to a project, a report or a tranche."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from center.core.forms import Form
from center.core.hidden_fields import CounterField
from center.projects.reports import MAX_COMMENT, MAX_SECTION, SECTIONS


class ActionForm(Form):
    """A button acting on a report, a tranche or a project, with the version the page showed
    and, where the action needs one, a reason."""

    version = CounterField()
    action = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class ReportForm(Form):
    """The team's report: one text area per section; the task rows are read by name
    (``progress-<task id>`` and ``note-<task id>``) because their number varies."""

    version = CounterField()


for _key, _label, _needed in SECTIONS:
    setattr(ReportForm, _key, TextAreaField(_label, validators=[Optional(),
                                                                Length(max=MAX_SECTION)]))


class CommentForm(Form):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=MAX_COMMENT)])


class FileForm(Form):
    file = FileField(_l("File (PDF, Word, Excel, PNG or JPEG)"), validators=[FileRequired()])


class PaymentForm(Form):
    version = CounterField()
    reference = StringField(_l("Payment reference"), validators=[DataRequired(),
                                                                 Length(max=100)])
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()])
