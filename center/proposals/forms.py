"""One form per thing an applicant does to a proposal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from center.calls.models import ATTACHMENT_KINDS
from center.core import clock
from center.core.countries import COUNTRY_REQUIRED
from center.core.fields import MoneyField, OrcidField, RorField
from center.core.forms import Form
from center.core.hidden_fields import CounterField
from center.core.money import format_money, precision
from center.proposals.models import (
    BUDGET_CATEGORY_LABELS,
    FOREGROUND_IP_LABELS,
    PARTNER_ROLE_LABELS,
    TEAM_ROLE_LABELS,
    BudgetCategory,
    PartnerRole,
)
from center.proposals.travel import trip_errors

#: The editor's sections, in order, with their names.
SECTION_LABELS = {
    "overview": _l("Overview"), "consortium": _l("Consortium"), "team": _l("Team"),
    "workplan": _l("Work plan"), "budget": _l("Budget"), "travel": _l("Travel"),
    "ip": _l("IP plan"), "attachments": _l("Files and co-applicants"),
}


def preview_labels() -> dict[str, dict[str, Any]]:
    """Labels of the values a proposal's snapshot holds, for its preview and PDF."""
    return {
        "category": {str(k): v for k, v in BUDGET_CATEGORY_LABELS.items()},
        "foreground": {str(k): v for k, v in FOREGROUND_IP_LABELS.items()},
        "role": {c.value: c.label for c in TEAM_ROLES},
        "partner": {str(k): v for k, v in PARTNER_ROLE_LABELS.items()},
        "kind": dict(ATTACHMENT_KINDS),
    }


#: A country select's validator: the blank first choice is refused.

TEAM_ROLES = [SelectChoice(role, label) for role, label in TEAM_ROLE_LABELS.items()]


class SectionForm(Form):
    """A form saving a whole section, carrying the revision it was loaded at."""

    revision = CounterField()


#: The fields of the single-form sections, as the forms below and the API save them.
OVERVIEW_FIELDS = ("title", "acronym", "topic", "abstract", "objectives", "keywords",
                   "duration_months")
IP_PLAN_FIELDS = ("foreground_ip", "foreground_ip_terms", "publication_policy")
#: Section fields stored as NULL when left empty; every other one is text, stored as "".
NULLABLE_FIELDS = {"duration_months", "foreground_ip"}


def section_value(name: str, value: Any) -> Any:
    """What a section field's form value is stored as."""
    if name in NULLABLE_FIELDS:
        return value or None
    return "" if value is None else value


class OverviewForm(SectionForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=40)])
    topic = SelectField(_l("Topic of the call"), validators=[Optional()])
    abstract = TextAreaField(_l("Abstract"), description=_l("At least 50 words."),
                             validators=[Optional(), Length(max=6000)])
    objectives = TextAreaField(_l("Objectives"), validators=[Optional(), Length(max=6000)])
    keywords = StringField(_l("Keywords"), description=_l("Separated by commas."),
                           validators=[Optional(), Length(max=500)])
    duration_months = IntegerField(_l("Duration (months)"),
                                   validators=[Optional(), NumberRange(min=1, max=120)])

    def __init__(self, *args: Any, call: Any = None, **kwargs: Any) -> None:
        """With ``call``, the duration field states and enforces the call's maximum."""
        super().__init__(*args, **kwargs)
        if call is not None:
            maximum = call.max_duration_months
            self.duration_months.description = _l("At most %(n)d months, the call's maximum.",
                                                  n=maximum)
            self.duration_months.validators = [Optional(), NumberRange(
                min=1, max=maximum,
                message=_l("Between 1 and %(n)d months, the call's maximum.", n=maximum))]
            self.duration_months.render_kw = {"min": 1, "max": maximum}


class IPPlanForm(SectionForm):
    foreground_ip = SelectField(_l("Foreground IP belongs to"), choices=[
        SelectChoice("", "—"),
        *(SelectChoice(value.value, label) for value, label in FOREGROUND_IP_LABELS.items()),
    ], validators=[Optional()])
    foreground_ip_terms = TextAreaField(_l("Terms of the allocation"),
                                        validators=[Optional(), Length(max=4000)])
    publication_policy = TextAreaField(_l("Publication policy"),
                                       validators=[Optional(), Length(max=4000)])


PARTNER_ROLES = [SelectChoice(r.value, r.label) for r in (
    PartnerRole.partner, PartnerRole.lead, PartnerRole.foreign_collaborator)]


class PartnerForm(Form):
    institute_id = SelectField(_l("Institute"), coerce=int)
    role = SelectField(_l("Role in the consortium"), choices=PARTNER_ROLES,
                       description=_l("Foreign collaborators are institutes of donor "
                                      "countries; they receive no grant money."))


class ProposeInstituteForm(Form):
    name = StringField(_l("Institute not listed? Its name"),
                       validators=[DataRequired(), Length(max=300)])
    country_code = SelectField(_l("Country"), validators=[COUNTRY_REQUIRED])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    ror_id = RorField(_l("ROR id"))
    role = SelectField(_l("Taking part as"), choices=PARTNER_ROLES)


class ConfirmForm(Form):
    """A confirmation of a change the page spelled out (make lead, make PI)."""

    revision = CounterField()


class RowForm(Form):
    """A row of a list section: empty ``item_id`` adds one, a row's id changes that row.

    ``revision`` carries the section's revision the form was opened at, so that a change
    saved meanwhile by a co-applicant is not silently overwritten.
    """

    item_id = CounterField()
    revision = CounterField()


class TeamMemberForm(RowForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=255)])
    orcid = OrcidField(_l("ORCID iD"), description=_l(
        "If the person has one: the center then recognises them in other proposals by it."))
    role = SelectField(_l("Role"), choices=TEAM_ROLES)
    institute_id = SelectField(_l("Institute"), coerce=int)
    citizenship = SelectField(_l("Citizenship"), validators=[COUNTRY_REQUIRED])
    # What a consulate needs for an invitation letter; seen only by this proposal's
    # applicants, officers and administrators.
    position = StringField(_l("Position or title"), description=_l("As the letter names it."),
                           validators=[Optional(), Length(max=120)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    passport_number = StringField(
        _l("Passport number"), validators=[Optional(), Length(min=3, max=40), Regexp(
            r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
            message=_l("Latin letters and digits, as printed in the passport."))])
    passport_expires_on = DateField(_l("Passport valid until"), validators=[Optional()])

    def validate_date_of_birth(self, field: DateField) -> None:
        if field.data and not (dt.date(1900, 1, 1) <= field.data <= clock.now().date()):
            raise ValidationError(_l("Give a date of birth in the past."))


class TaskForm(RowForm):
    title = StringField(_l("Task"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    institute_id = SelectField(_l("Carried out by"), coerce=int)
    start_month = IntegerField(_l("From month"), validators=[InputRequired(),
                                                             NumberRange(min=1, max=120)])
    end_month = IntegerField(_l("To month"), validators=[InputRequired(),
                                                         NumberRange(min=1, max=120)])

    def validate_end_month(self, field: IntegerField) -> None:
        if self.start_month.data and field.data and field.data < self.start_month.data:
            raise ValidationError(_l("The task cannot end before it starts."))


class BudgetLineForm(RowForm):
    institute_id = SelectField(_l("Institute"), coerce=int,
                               description=_l("The institute that spends this line."))
    category = SelectField(_l("Category"), choices=[SelectChoice(c.value, BUDGET_CATEGORY_LABELS[c])
                                                    for c in BudgetCategory])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=300)])
    #: Replaced by `budget_line_form`, which knows the currency.
    amount = MoneyField(_l("Amount"), validators=[DataRequired(_l("Enter the line's amount."))])


class TripForm(RowForm):
    traveller_id = SelectField(_l("Traveller"), coerce=int)
    origin_country = SelectField(_l("From (country)"), validators=[COUNTRY_REQUIRED])
    origin_city = StringField(_l("From (city)"), validators=[Optional(), Length(max=120)])
    destination_country = SelectField(_l("To (country)"), validators=[COUNTRY_REQUIRED])
    destination_city = StringField(_l("To (city)"), validators=[Optional(), Length(max=120)])
    depart_on = DateField(_l("Departure"), validators=[DataRequired()])
    return_on = DateField(_l("Return"), validators=[DataRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)])
    #: The estimated cost in the center's currency, in minor units.
    cost = MoneyField(_l("Estimated cost"), allow_zero=True,
                      description=_l("Tickets, per-diem and insurance for this trip."),
                      validators=[InputRequired()])

    #: More than this for one trip is a typing mistake, not a trip (major units).
    MAX_TRIP_COST = 1_000_000

    def validate_cost(self, field: MoneyField) -> None:
        if field.data is not None and field.data > self.MAX_TRIP_COST * 10 ** precision(
                field.currency):
            raise ValidationError(_l("One trip costs at most %(max)s.", max=format_money(
                self.MAX_TRIP_COST * 10 ** precision(field.currency), field.currency)))

    def validate(self, extra_validators: Any = None) -> bool:
        """Check each field, then the trip as a whole (past, to itself, back before out)."""
        valid = super().validate(extra_validators)
        errors = trip_errors(
            origin_country=self.origin_country.data or "",
            origin_city=self.origin_city.data or "",
            destination_country=self.destination_country.data or "",
            destination_city=self.destination_city.data or "",
            depart_on=self.depart_on.data, return_on=self.return_on.data,
            today=clock.now().date())
        for name, message in errors.items():
            getattr(self, name).errors.append(message)
        return valid and not errors


class BackgroundIPForm(RowForm):
    institute_id = SelectField(_l("Brought by"), coerce=int)
    description = TextAreaField(_l("Background IP"), validators=[DataRequired(),
                                                                 Length(max=4000)])
    restrictions = TextAreaField(_l("Restrictions on its use"),
                                 validators=[Optional(), Length(max=4000)])


class AttachmentForm(Form):
    kind = SelectField(_l("Document"))
    file = FileField(_l("File"), description=_l("PDF, DOCX, XLSX, PNG or JPEG."),
                     validators=[FileRequired(_l("Choose a file."))])


class ReplaceAttachmentForm(Form):
    """A new file in place of one already uploaded (same kind of document)."""

    file = FileField(_l("New file"), description=_l("PDF, DOCX, XLSX, PNG or JPEG."),
                     validators=[FileRequired(_l("Choose a file."))])


class InviteForm(Form):
    email = EmailField(_l("Co-applicant's e-mail"), validators=[DataRequired(), Email()])


class TransitionForm(Form):
    """Submit, withdraw and other state changes: carries the version the user saw."""

    version = CounterField(required=True)
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    #: Ticked on the preview page to submit (the workflow refuses a submission without it).
    declaration = BooleanField()


def budget_line_form(donors: list[tuple[int, str]], currency: str,
                     formdata: object = None) -> BudgetLineForm:
    """Return a budget-line form with one share field per donor of the call."""

    class Form_(BudgetLineForm):
        pass

    Form_.amount = MoneyField(_l("Amount (%(currency)s)", currency=currency),
                              currency=currency,
                              validators=[DataRequired(_l("Enter the line's amount."))])
    for donor_id, name in donors:
        setattr(Form_, f"split_{donor_id}", MoneyField(
            _l("Share asked of %(donor)s (%(currency)s)", donor=name, currency=currency),
            currency=currency, allow_zero=True, default=0, validators=[Optional()]))
    return Form_() if formdata is None else Form_(formdata=formdata)
