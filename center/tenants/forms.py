"""Forms for tenants, members, institutes and donors."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from center.core.forms import Form
from center.tenants.models import DonorKind, InstituteKind, Role


class TenantForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=40)])
    slug = StringField(
        _l("Address name"),
        description=_l("Lower-case letters, digits and hyphens; the center's pages live "
                       "under /<address name>/."),
        validators=[DataRequired(), Length(min=2, max=40),
                    Regexp(r"^[a-z0-9][a-z0-9-]*$", message=_l("Use a-z, 0-9 and hyphens."))],
    )
    currency = StringField(_l("Currency (ISO 4217)"), default="EUR",
                           validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$")])
    partner_countries = StringField(
        _l("Partner countries"),
        description=_l("ISO 3166 alpha-2 codes separated by spaces, e.g. AM GE KZ."),
        validators=[Optional(), Regexp(r"^([A-Za-z]{2}[ ,]*)*$",
                                       message=_l("Two-letter codes separated by spaces."))],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class MemberForm(Form):
    email = EmailField(_l("E-mail of an existing account"), validators=[DataRequired(), Email()])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, r.label) for r in Role])
    donor_id = SelectField(_l("Donor (reviewers only)"), coerce=int, validate_choice=False)
    country_code = StringField(_l("Country (concurrence officials only)"),
                               validators=[Optional(), Regexp(r"^[A-Za-z]{2}$")])


class InstituteForm(Form):
    name = StringField(_l("Name (Latin script)"), validators=[DataRequired(), Length(max=300)])
    local_name = StringField(_l("Name in its own script"), validators=[Optional(),
                                                                      Length(max=300)])
    country_code = SelectField(_l("Country"),
                               validators=[DataRequired(message=_l("Choose a country."))])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(k.value, k.value.replace("_", " ").capitalize()) for k in InstituteKind])


class DonorForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=20)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, k.value.capitalize())
                                            for k in DonorKind])
    country_code = StringField(_l("Country (if a government)"),
                               validators=[Optional(), Regexp(r"^[A-Za-z]{2}$")])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email()])


class VisaRuleForm(Form):
    citizenship = StringField(_l("Citizens of (ISO code)"),
                              validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$",
                                                                 message=_l("Two letters."))])
    destination = StringField(_l("Travelling to (ISO code)"),
                              validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$",
                                                                 message=_l("Two letters."))])
    visa_required = BooleanField(_l("A visa is required"))
    invitation_required = BooleanField(_l("An invitation letter is required"))
