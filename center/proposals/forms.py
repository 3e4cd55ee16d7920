"""One form per thing an applicant does to a proposal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
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
    ValidationError,
)

from center.core.fields import MoneyField
from center.core.forms import Form
from center.proposals.models import BudgetCategory, ForegroundIP

TEAM_ROLES = [SelectChoice("principal_investigator", _l("Principal investigator")),
              SelectChoice("scientist", _l("Scientist")), SelectChoice("engineer", _l("Engineer")),
              SelectChoice("technician", _l("Technician")), SelectChoice("student", _l("Student"))]


class SectionForm(Form):
    """A form saving a whole section, carrying the revision it was loaded at."""

    revision = HiddenField()


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


class IPPlanForm(SectionForm):
    foreground_ip = SelectField(_l("Foreground IP belongs to"), choices=[
        SelectChoice("", "—"),
        SelectChoice(ForegroundIP.joint.value, _l("The consortium, jointly")),
        SelectChoice(ForegroundIP.inventor.value, _l("The inventing institute")),
        SelectChoice(ForegroundIP.licensed_to_donors.value,
                     _l("The institutes, with a licence to the donors")),
    ], validators=[Optional()])
    foreground_ip_terms = TextAreaField(_l("Terms of the allocation"),
                                        validators=[Optional(), Length(max=4000)])
    publication_policy = TextAreaField(_l("Publication policy"),
                                       validators=[Optional(), Length(max=4000)])


class PartnerForm(Form):
    institute_id = SelectField(_l("Institute"), coerce=int)
    role = SelectField(_l("Role in the consortium"),
                       choices=[SelectChoice("partner", _l("Partner")),
                                SelectChoice("lead", _l("Lead institute"))])


class ProposeInstituteForm(Form):
    name = StringField(_l("Institute not listed? Its name"),
                       validators=[DataRequired(), Length(max=300)])
    country_code = SelectField(_l("Country"))
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])


class RowForm(Form):
    """A row of a list section: empty ``item_id`` adds one, a row's id changes that row.

    ``revision`` carries the section's revision the form was opened at, so that a change
    saved meanwhile by a co-applicant is not silently overwritten.
    """

    item_id = HiddenField()
    revision = HiddenField()


class TeamMemberForm(RowForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=255)])
    role = SelectField(_l("Role"), choices=TEAM_ROLES)
    institute_id = SelectField(_l("Institute"), coerce=int)
    citizenship = SelectField(_l("Citizenship"))


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
    category = SelectField(_l("Category"), choices=[SelectChoice(c.value, c.value.capitalize())
                                                    for c in BudgetCategory])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=300)])
    #: Replaced by `budget_line_form`, which knows the currency.
    amount = MoneyField(_l("Amount"), validators=[DataRequired(_l("Enter the line's amount."))])


class TripForm(RowForm):
    traveller_id = SelectField(_l("Traveller"), coerce=int)
    origin_country = SelectField(_l("From (country)"))
    origin_city = StringField(_l("From (city)"), validators=[Optional(), Length(max=120)])
    destination_country = SelectField(_l("To (country)"))
    destination_city = StringField(_l("To (city)"), validators=[Optional(), Length(max=120)])
    depart_on = DateField(_l("Departure"), validators=[DataRequired()])
    return_on = DateField(_l("Return"), validators=[DataRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)])

    def validate_return_on(self, field: DateField) -> None:
        if self.depart_on.data and field.data and field.data < self.depart_on.data:
            raise ValidationError(_l("The return cannot be before the departure."))


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


class InviteForm(Form):
    email = EmailField(_l("Co-applicant's e-mail"), validators=[DataRequired(), Email()])


class TransitionForm(Form):
    """Submit, withdraw and other state changes: carries the version the user saw."""

    version = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])


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
