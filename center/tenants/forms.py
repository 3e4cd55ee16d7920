"""Forms for tenants, members, institutes and donors."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from center.auth.forms import PASSWORD_RULES
from center.core.countries import COUNTRY_REQUIRED, ISO_CODES
from center.core.fields import RorField
from center.core.forms import Form
from center.tenants.models import (
    DONOR_KIND_LABELS,
    INSTITUTE_KIND_LABELS,
    INVITABLE_ROLES,
    Country,
    Donor,
    Institute,
    VisaRegimeKind,
)


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


class DocumentLanguageForm(Form):
    legal_language = SelectField(
        _l("Language of legal documents"),
        description=_l("Agreements, invitation letters, proposal printouts, project summaries "
                       "and amendments are written in it, whatever language the person who "
                       "prints them reads the portal in."),
        choices=[SelectChoice("en", "English"), SelectChoice("ko", "한국어"),
                 SelectChoice("ru", "Русский")])
    bilingual = BooleanField(
        _l("Bilingual agreements and invitation letters"),
        description=_l("Print English beside the language above: consulates and ministries "
                       "often ask for both. Has no effect when the language is English."))


class InviteForm(Form):
    """An administrator invites an e-mail address to a role; the person accepts by link."""

    email = EmailField(_l("E-mail"), validators=[
        DataRequired(_l("Enter the person's e-mail address.")),
        Email(_l("This is not an e-mail address.")), Length(max=255)])
    role = SelectField(_l("Role"), choices=[SelectChoice(k, v) for k, v in INVITABLE_ROLES.items()])
    donor_id = SelectField(_l("Donor"), coerce=int,
                           description=_l("For donor reviewers and delegates."))
    country_code = SelectField(_l("Country"),
                               description=_l("For government concurrence officials."))
    institute_id = SelectField(_l("Institute"), coerce=int,
                               description=_l("For authorised signatories."))

    def __init__(self, *args: Any, donors: list[Donor], countries: list[Country],
                 institutes: list[Institute], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.donor_id.choices = [SelectChoice(0, "—")] + [SelectChoice(d.id, d.name)
                                                          for d in donors]
        self.country_code.choices = [SelectChoice("", "—")] + [SelectChoice(c.code, c.name)
                                                               for c in countries]
        self.institute_id.choices = [SelectChoice(0, "—")] + [
            SelectChoice(i.id, f"{i.name} ({i.country_name})") for i in institutes]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        role = self.role.data
        if role in ("reviewer", "delegate") and not self.donor_id.data:
            self.donor_id.errors = [*self.donor_id.errors, _l("Choose the donor they act for.")]
            ok = False
        if role == "concurrence" and not self.country_code.data:
            self.country_code.errors = [*self.country_code.errors,
                                        _l("Choose the country they speak for.")]
            ok = False
        if role == "signatory" and not self.institute_id.data:
            self.institute_id.errors = [*self.institute_id.errors,
                                        _l("Choose the institute they sign for.")]
            ok = False
        return ok


class ConfirmForm(Form):
    """A button that acts: cancel an invitation, revoke a role, accept an invitation."""


class JoinForm(Form):
    """The invited person creates their account; the e-mail is the invited one, not typed."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class InstituteForm(Form):
    name = StringField(_l("Name (Latin script)"), validators=[DataRequired(), Length(max=300)])
    local_name = StringField(_l("Name in its own script"), validators=[Optional(),
                                                                      Length(max=300)])
    country_code = SelectField(_l("Country"),
                               validators=[DataRequired(message=_l("Choose a country."))])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(k.value, label) for k, label in INSTITUTE_KIND_LABELS.items()])
    ror_id = RorField(_l("ROR id"))


class DonorForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=20)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, label)
                                            for k, label in DONOR_KIND_LABELS.items()])
    country_code = StringField(_l("Country (if a government)"),
                               validators=[Optional(), Regexp(r"^[A-Za-z]{2}$")])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email()])


def split_codes(text: str | None) -> list[str]:
    """Return the upper-cased codes of a list typed with spaces, commas or new lines."""
    return [c.upper() for c in re.split(r"[\s,;]+", text or "") if c]


def iso_codes(form: Form, field: TextAreaField) -> None:
    """Refuse anything in a list of codes that is not an ISO 3166 alpha-2 country code."""
    unknown = [c for c in split_codes(field.data) if c not in ISO_CODES]
    if unknown:
        raise ValidationError(ngettext(
            "%(codes)s is not an ISO 3166 country code.",
            "%(codes)s are not ISO 3166 country codes.", len(unknown),
            codes=", ".join(unknown[:10])))


class _SourcedRuleForm(Form):
    """Every rule says where it comes from and of when."""

    source = StringField(
        _l("Source"), description=_l("The treaty, regulation or ministry page title."),
        validators=[DataRequired(), Length(max=500)])
    source_date = DateField(_l("Date of the source"), validators=[DataRequired()])


class VisaRuleForm(_SourcedRuleForm):
    """A pair rule: citizens of one country travelling to another."""

    rule_id = HiddenField()
    citizenship = SelectField(_l("Citizens of"), validators=[COUNTRY_REQUIRED])
    destination = SelectField(_l("Travelling to"), validators=[COUNTRY_REQUIRED])
    visa_required = BooleanField(_l("A visa is required"))
    invitation_required = BooleanField(_l("An invitation letter is required"))

    def validate_destination(self, field: SelectField) -> None:
        if field.data and field.data == self.citizenship.data:
            raise ValidationError(_l("A trip within one country needs no visa rule."))


class VisaRegimeForm(_SourcedRuleForm):
    """A bloc (visa-free among members) or a waiver (nationalities → destinations)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, k.label)
                                            for k in VisaRegimeKind])
    member = TextAreaField(
        _l("Members (blocs)"), description=_l("ISO codes separated by spaces, e.g. AM KZ KG."),
        validators=[Optional(), iso_codes])
    destination = TextAreaField(
        _l("Destinations (waivers)"), description=_l("The countries that waive the visa."),
        validators=[Optional(), iso_codes])
    nationality = TextAreaField(
        _l("Nationalities (waivers)"), description=_l("Whose citizens enter without a visa."),
        validators=[Optional(), iso_codes])
    invitation_required = BooleanField(_l("Trips under this regime still need an invitation "
                                          "letter"))
    version = HiddenField()


class RorImportForm(Form):
    file = FileField(_l("ROR data dump"), description=_l(
        "The registry's published file: the zip as downloaded, or the .json inside it."),
        validators=[FileRequired(_l("Choose the dump file."))])
    countries = StringField(_l("Countries"), description=_l(
        "ISO codes separated by spaces; only organisations in these countries are imported. "
        "Leave empty for every country."), validators=[Optional(), iso_codes])
