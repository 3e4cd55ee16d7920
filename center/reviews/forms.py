"""One form per thing reviewers, officers and donors' delegates do in review and funding."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from center.calls.forms import LOCAL_FORMATS
from center.core.fields import MoneyField
from center.core.forms import Form
from center.reviews.models import (
    NATIONALITY_RULE_LABELS,
    REVIEW_PHASE_LABELS,
    ReviewerProfile,
    ReviewRound,
)
from center.reviews.services import Decision


def _version(text: str | None) -> int:
    """The version a form carried; -1, which never matches, if garbled."""
    text = text or ""
    return int(text) if text.isascii() and text.isdigit() else -1


class VersionedForm(Form):
    #: The version of the object when the form was loaded (optimistic locking).
    version = HiddenField()

    def loaded_version(self) -> int:
        return _version(self.version.data)


class ActionForm(Form):
    """A button that only needs the CSRF token (send reminders, remove an assignment)."""


class ProfileForm(VersionedForm):
    expertise = TextAreaField(
        _l("Fields of expertise"),
        description=_l("Keywords or short phrases, e.g. “tuberculosis, genomic epidemiology, "
                       "drug resistance”. Proposals are suggested to you by these words."),
        validators=[Optional(), Length(max=4000)])
    institute_id = SelectField(_l("Your institute"), coerce=int,
                               description=_l("Proposals with your institute in the "
                                              "consortium are never assigned to you."))
    nationality = SelectField(_l("Nationality"), validators=[Optional()])
    collaborators = TextAreaField(
        _l("People you work with"),
        description=_l("One name per line. Their proposals are not assigned to you."),
        validators=[Optional(), Length(max=4000)])
    max_load = IntegerField(
        _l("Most proposals per call"),
        description=_l("0 if you are not available for reviewing."),
        validators=[InputRequired(), NumberRange(min=0, max=100)])

    @classmethod
    def build(cls, profile: ReviewerProfile, *, institutes: list[tuple[int, str]],
              countries: list[tuple[str, str]]) -> ProfileForm:
        data = {"version": str(profile.version if profile.id else 0),
                "expertise": profile.expertise, "institute_id": profile.institute_id or 0,
                "nationality": profile.nationality or "",
                "collaborators": profile.collaborators, "max_load": profile.max_load}
        form = cls(data=data)
        form.institute_id.choices = [SelectChoice(0, "—")] + [
            SelectChoice(value, label) for value, label in institutes]
        form.nationality.choices = [SelectChoice("", "—")] + [
            SelectChoice(value, label) for value, label in countries]
        return form


def sane_year(form: Any, field: Any) -> None:
    """A due date within this century: "0001-01-01" is a slip, not a deadline."""
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_("Give a date between the years 2000 and 2100."))


class RoundForm(VersionedForm):
    reviewers_per_proposal = IntegerField(_l("Reviewers per proposal"),
                                          validators=[InputRequired(),
                                                      NumberRange(min=1, max=10)])
    max_per_reviewer = IntegerField(
        _l("Most proposals per reviewer"),
        description=_l("A reviewer's own limit, if lower, applies instead."),
        validators=[InputRequired(), NumberRange(min=1, max=100)])
    nationality_rule = SelectField(
        _l("Nationality rule"),
        choices=[SelectChoice(rule.value, label) for rule, label
                 in NATIONALITY_RULE_LABELS.items()])
    phase = SelectField(_l("Phase"), choices=[SelectChoice(phase.value, label) for phase, label
                                              in REVIEW_PHASE_LABELS.items()])
    remind_days_before = IntegerField(
        _l("Remind this many days before the due date"),
        description=_l("Reviewers with an open review get one reminder then, and one more "
                       "once it is overdue. 0: only the overdue reminder."),
        validators=[InputRequired(), NumberRange(min=0, max=60)])

    @classmethod
    def build(cls, review_round: ReviewRound, *, timezone: str,
              version: int) -> RoundForm:
        zone = ZoneInfo(timezone)
        fields = {"due_at": DateTimeLocalField(
            _l("Reviews due"), format=LOCAL_FORMATS, tz=zone,
            validators=[Optional(), sane_year],
            description=_l("Time in %(zone)s. An assignment given its own due date on the "
                           "proposal's panel page keeps it.", zone=timezone))}
        form_class = type("TenantRoundForm", (cls,), fields)
        return form_class(data={
            "version": str(version),
            "reviewers_per_proposal": review_round.reviewers_per_proposal,
            "max_per_reviewer": review_round.max_per_reviewer,
            "nationality_rule": review_round.nationality_rule,
            "phase": review_round.phase,
            "due_at": review_round.due_at.astimezone(zone) if review_round.due_at else None,
            "remind_days_before": review_round.remind_days_before,
        })

    def due_at_utc(self) -> dt.datetime | None:
        value = self["due_at"].data
        return value.astimezone(dt.UTC) if value else None


class DueDateForm(VersionedForm):
    """One assignment's own due date, in the center's zone; empty: the round's date."""

    @classmethod
    def build(cls, assignment: Any, *, timezone: str, formdata: Any = None) -> DueDateForm:
        zone = ZoneInfo(timezone)
        fields = {"due_at": DateTimeLocalField(
            _l("Due"), format=LOCAL_FORMATS, tz=zone, validators=[Optional(), sane_year],
            description=_l("Time in %(zone)s. Empty: the call's due date.", zone=timezone))}
        form_class = type("TenantDueDateForm", (cls,), fields)
        data = {"version": str(assignment.version),
                "due_at": assignment.due_at.astimezone(zone) if assignment.due_at else None}
        if formdata is not None:
            return form_class(formdata=formdata, prefix=f"due{assignment.id}")
        return form_class(formdata=None, data=data, prefix=f"due{assignment.id}")

    def due_at_utc(self) -> dt.datetime | None:
        value = self["due_at"].data
        return value.astimezone(dt.UTC) if value else None


class BulkAssignForm(Form):
    """The officer's ticks on the suggestions: values are ``<proposal id>:<user id>``."""

    picks = SelectMultipleField(_l("Suggested reviewers"), choices=[])

    def pairs(self) -> list[tuple[int, int]]:
        return [tuple(int(part) for part in value.split(":")) for value in self.picks.data]


class AssignOneForm(Form):
    reviewer_id = SelectField(_l("Add a reviewer"), coerce=int,
                              validators=[DataRequired(_l("Choose a reviewer."))])


class DeclarationForm(VersionedForm):
    answer = RadioField(
        _l("Do you have a conflict of interest with this proposal?"),
        choices=[SelectChoice("none", _l("No: I have no conflict of interest with this proposal")),
                 SelectChoice("conflict", _l("Yes: I have a conflict of interest"))],
        validators=[InputRequired(_l("Choose one answer."))])
    reason = TextAreaField(_l("What is the conflict?"),
                           description=_l("Only the programme officers read this."),
                           validators=[Length(max=2000)])

    def validate_reason(self, field: TextAreaField) -> None:
        if self.answer.data == "conflict" and not (field.data or "").strip():
            raise ValidationError(_("Say briefly what the conflict is."))


class ReviewForm(VersionedForm):
    """The rubric's scores and the two kinds of comment. Build it with `ReviewForm.build`."""

    comments_to_applicants = TextAreaField(
        _l("Comments to the applicants"),
        description=_l("The applicants read these with the decision, without your name."),
        validators=[Optional(), Length(max=20000)])
    confidential_comments = TextAreaField(
        _l("Confidential comments to the panel"),
        description=_l("Only the officers and the other reviewers read these."),
        validators=[Optional(), Length(max=20000)])

    #: (criterion, its field) in rubric order; set by `build`.
    criteria: list[tuple[dict[str, Any], Any]] = []

    @classmethod
    def build(cls, rubric: list[dict[str, Any]], *,
              data: dict[str, Any] | None = None, **form_args: Any) -> ReviewForm:
        fields = {}
        for n, criterion in enumerate(rubric):
            top = int(criterion["scale"])
            fields[f"score_{n}"] = SelectField(
                criterion["name"],
                description=_l("Weight %(weight)s %%; 1 (poor) to %(top)s (excellent).",
                               weight=criterion["weight"], top=top),
                choices=[SelectChoice("", "—")] + [SelectChoice(str(v), str(v))
                                                    for v in range(1, top + 1)],
                validators=[Optional()])
        form_class = type("RubricReviewForm", (cls,), fields)
        form = form_class(data=data, **form_args)
        form.criteria = [(c, form[f"score_{n}"]) for n, c in enumerate(rubric)]
        return form

    @staticmethod
    def initial(rubric: list[dict[str, Any]], review: Any) -> dict[str, Any]:
        if review is None:
            return {"version": "0"}
        return {"version": str(review.version),
                "comments_to_applicants": review.comments_to_applicants,
                "confidential_comments": review.confidential_comments,
                **{f"score_{n}": str(review.scores.get(c["name"], ""))
                   for n, c in enumerate(rubric)}}

    def scores(self) -> dict[str, str]:
        return {criterion["name"]: f.data for criterion, f in self.criteria if f.data}


class ReopenForm(Form):
    reason = TextAreaField(_l("Why reopen it?"), description=_l("The reviewer reads this."),
                           validators=[DataRequired(), Length(max=2000)])


class RapporteurForm(Form):
    assignment_id = SelectField(_l("Rapporteur"), coerce=int,
                                validators=[DataRequired(_l("Choose a reviewer."))])


class ConsensusForm(VersionedForm):
    consensus = TextAreaField(
        _l("Consensus summary"),
        description=_l("The panel's common view. The applicants read it with the decision."),
        validators=[DataRequired(), Length(max=20000)])


class DecisionForm(Form):
    """The officer's decision on one or more proposals, confirmed on a second page."""

    proposal_ids = SelectMultipleField(_l("Proposals"), coerce=int, choices=[],
                                       validators=[DataRequired(_l("Tick the proposals to "
                                                                   "decide on."))])
    decision = RadioField(_l("Decision"), choices=[
        SelectChoice(Decision.recommend.value, _l("Recommend for funding")),
        SelectChoice(Decision.reject.value, _l("Reject"))], validators=[InputRequired(
            _l("Choose the decision."))])
    reason = TextAreaField(_l("Reason"), description=_l("The applicants read it."),
                           validators=[DataRequired(_l("Give the reason for the decision.")),
                                       Length(max=4000)])
    #: "<proposal id>:<version>,..." as listed on the confirmation page.
    versions = HiddenField()
    confirmed = HiddenField()

    def seen_versions(self) -> dict[int, int]:
        seen = {}
        for item in (self.versions.data or "").split(","):
            pid, _sep, version = item.partition(":")
            if pid.isdigit() and version.isdigit():
                seen[int(pid)] = int(version)
        return seen


class CommitForm(Form):
    """A donor's commitment to one proposal. Build it with `CommitForm.build`."""

    #: Shown once a commitment above what the budget asks of the donor was refused.
    above_asked = BooleanField(_l("Yes, commit more than the budget asks of this donor."))
    #: Set by the view when the amount was refused for being above what was asked.
    asked_more = False

    @classmethod
    def build(cls, currency: str, *, prefix: str = "") -> CommitForm:
        fields = {"amount": MoneyField(_l("Amount to commit (%(currency)s)", currency=currency),
                                       currency=currency, validators=[DataRequired(
                                           _l("Enter the amount to commit."))])}
        return type("TenantCommitForm", (cls,), fields)(prefix=prefix)


class DelegateForm(Form):
    """Name or remove a delegate: one of this tenant's reviewer memberships, never a user id
    (users are global; only memberships are the tenant's own)."""

    membership_id = HiddenField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired()])
