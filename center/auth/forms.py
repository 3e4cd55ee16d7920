"""Sign-in, registration and password forms."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from center.auth.passwords import is_common_password
from center.core.fields import OrcidField
from center.core.forms import Form


def not_common(form: Form, field: PasswordField) -> None:
    if field.data and is_common_password(field.data):
        raise ValidationError(_l("This password is one of the most commonly used, so it is "
                                 "guessed first. Choose another."))


PASSWORD_RULES = [
    DataRequired(),
    Length(min=10, message=_l("Use at least 10 characters.")),
    Length(max=200, message=_l("Use at most 200 characters.")),
    not_common,
]
#: Longer than any address or password we accept, short enough to refuse abuse early.
EMAIL_RULES = [DataRequired(), Length(max=255), Email()]


class LoginForm(Form):
    email = EmailField(_l("E-mail"), validators=EMAIL_RULES)
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this computer"))


class RegistrationForm(Form):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=EMAIL_RULES)
    password = PasswordField(_l("Password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ResetRequestForm(Form):
    email = EmailField(_l("E-mail"), validators=EMAIL_RULES)


class ResetPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class PasswordChangeForm(Form):
    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class SignOutOthersForm(Form):
    """A button: end every session of the user but this one."""


LANGUAGES = [SelectChoice("", _l("As my browser asks")), SelectChoice("en", "English"),
             SelectChoice("ko", "한국어"), SelectChoice("ru", "Русский")]


class AccountForm(Form):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    orcid = OrcidField(_l("ORCID iD"), description=_l(
        "If you have one. Conflict-of-interest checks use it to find you in proposals' teams."))
    locale = SelectField(_l("Interface language"), choices=LANGUAGES)
    timezone = SelectField(_l("Show times in"))

    def validate_timezone(self, field: SelectField) -> None:
        if field.data and field.data not in available_timezones():
            raise ValidationError(_l("Unknown time zone."))
