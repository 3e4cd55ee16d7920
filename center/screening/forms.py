"""One form per thing an officer, an administrator or an official does in screening."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from center.core.forms import Form
from center.core.hidden_fields import CounterField


class VersionedForm(Form):
    """A form that carries the version of the proposal (or request) the page showed."""

    version = CounterField(required=True)

    def loaded_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class RefreshForm(VersionedForm):
    pass


class ClearHitForm(VersionedForm):
    reason = TextAreaField(_l("Why this is not the listed person or body"),
                           description=_l("E.g. other date of birth, other country, "
                                          "checked with the passport copy."),
                           validators=[DataRequired(), Length(max=2000)])


class SensitiveReviewForm(VersionedForm):
    note = TextAreaField(_l("Outcome of the security review"),
                         validators=[DataRequired(), Length(max=4000)])


#: The officer's screening decisions, by workflow transition, with their labels.
DECISION_CHOICES = [
    SelectChoice("pass_screening", _l("Pass screening: ask the governments to concur")),
    SelectChoice("request_changes", _l("Request changes: the applicant edits and resubmits")),
    SelectChoice("declare_ineligible", _l("Declare ineligible")),
]


class DecisionForm(VersionedForm):
    decision = RadioField(_l("What to do"), choices=DECISION_CHOICES,
                          validators=[InputRequired(message=_l("Choose a decision."))])
    reason = TextAreaField(_l("Reason, told to the applicant"),
                           description=_l("Needed to request changes or declare the "
                                          "proposal ineligible."),
                           validators=[Optional(), Length(max=4000)])


class StartForm(VersionedForm):
    pass


class BulkForm(Form):
    """Choose proposals of a call and one decision for all of them."""

    proposals = SelectMultipleField(_l("Proposals"), coerce=int,
                                    widget=ListWidget(prefix_label=False),
                                    option_widget=CheckboxInput(),
                                    validators=[DataRequired(message=_l(
                                        "Tick at least one proposal."))])
    action = SelectField(_l("Decision for all of them"), choices=[
        SelectChoice("start_screening", _l("Start screening")), *DECISION_CHOICES])
    reason = TextAreaField(_l("Reason, told to each applicant"),
                           description=_l("Needed to request changes or declare ineligible."),
                           validators=[Optional(), Length(max=4000)])


class BulkConfirmForm(Form):
    token = HiddenField(validators=[DataRequired()])


class SanctionsImportForm(Form):
    label = StringField(_l("Name of this version"),
                        description=_l("E.g. “Consolidated list, March 2027”."),
                        validators=[Optional(), Length(max=200)])
    file = MultipleFileField(
        _l("Consolidated list"),
        description=_l("The file as its publisher publishes it: the UN Security Council's "
                       "XML, OFAC's sdn.csv with alt.csv and add.csv (select the three, or "
                       "their zip), the EU's CSV or OpenSanctions' CSV. Or a CSV with the "
                       "columns name, aliases (separated by ;), country (ISO code or name), "
                       "type (person or entity), list, reference."),
        validators=[FileRequired(message=_l("Choose the list's file."))])
    skip_bad_rows = BooleanField(_l("Import the readable rows and leave out the lines "
                                    "listed as errors"))


class ListSourceForm(Form):
    """Where the list is fetched from on a schedule: its files' addresses, one per line."""

    urls = TextAreaField(_l("Addresses of the list's files"), description=_l(
        "One per line, as the publisher publishes them (for OFAC: sdn.csv, alt.csv and "
        "add.csv). Leave empty to stop fetching."), validators=[Optional(), Length(max=2000)])
    source_label = StringField(_l("Name of the versions fetched"),
                               description=_l("E.g. “UN Security Council consolidated list”."),
                               validators=[Optional(), Length(max=150)])

    @property
    def url_list(self) -> list[str]:
        return [line.strip() for line in (self.urls.data or "").splitlines() if line.strip()]


class ConcurrenceForm(VersionedForm):
    decision = RadioField(_l("Your government's answer"), choices=[
        SelectChoice("concur", _l("Concur")), SelectChoice("object", _l("Object"))],
        validators=[InputRequired(message=_l("Choose concur or object."))])
    comment = TextAreaField(_l("Comment"),
                            description=_l("Required for an objection: the applicant is told "
                                           "the reason."),
                            validators=[Optional(), Length(max=4000)])


class SettingsForm(Form):
    #: A fingerprint of the settings the page showed (not a number).
    revision = HiddenField(validators=[Length(max=64)])
    concurrence_deadline_days = IntegerField(
        _l("Days a government has to answer a concurrence request"),
        validators=[InputRequired(), NumberRange(min=1, max=365)])
    negative_concurrence = BooleanField(
        _l("Silence after the deadline counts as consent (negative concurrence)"))
    effort_limit_days_per_year = IntegerField(
        _l("Working days per year that count as 100% of a scientist's time"),
        validators=[InputRequired(), NumberRange(min=1, max=366)])
    sensitive_keywords = TextAreaField(
        _l("Sensitive topics"), description=_l("One keyword or phrase per line; proposals "
                                               "that mention one need a security review."),
        validators=[Optional(), Length(max=4000)])

    def keywords(self) -> list[str]:
        seen: list[str] = []
        for line in (self.sensitive_keywords.data or "").splitlines():
            word = " ".join(line.split())
            if word and word.casefold() not in {s.casefold() for s in seen}:
                seen.append(word)
        return seen


class MergeInstituteForm(Form):
    """Merge an unconfirmed institute into an existing one (after a confirmation page)."""

    into = SelectField(_l("The same institute as"), coerce=int,
                       validators=[DataRequired(message=_l("Choose the institute it "
                                                           "duplicates."))])


class ConfirmInstituteForm(Form):
    """Confirm an applicant's institute as real."""
