"""The form that issues a personal API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from center.api.models import SCOPE_LABELS, TokenScope
from center.core.forms import Form

#: How long a new token lasts, in days ("" for until revoked).
LIFETIMES = [SelectChoice("30", _l("30 days")), SelectChoice("90", _l("90 days")),
             SelectChoice("365", _l("One year")), SelectChoice("", _l("Until I revoke it"))]


class TokenForm(Form):
    name = StringField(_l("What the token is for"),
                       description=_l("For example: the ministry's reporting spreadsheet."),
                       validators=[DataRequired(), Length(max=80)])
    scope = RadioField(_l("It may"), default=TokenScope.read.value, choices=[
        SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        validators=[DataRequired()])
    lifetime = SelectField(_l("It stops working after"), default="90", choices=LIFETIMES)

    @property
    def days(self) -> int | None:
        return int(self.lifetime.data) if self.lifetime.data else None


class RevokeForm(Form):
    """A button: revoke one token."""
