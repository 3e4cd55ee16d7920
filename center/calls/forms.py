"""The call form: what an officer types, read as UTC times, minor units and a rubric."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
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
from wtforms.widgets import CheckboxInput, ListWidget

from center.calls.models import ATTACHMENT_KINDS, REVIEW_MODE_LABELS, Call, ReviewMode
from center.core import clock
from center.core.fields import MoneyField
from center.core.forms import Form
from center.tenants.models import Country, Donor, Tenant, country_name

#: What a datetime-local input sends (seconds only if the browser adds them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
RUBRIC_EXAMPLE = "Scientific merit | 40 | 5"
MAX_TOPIC_LENGTH = 200
_WHOLE = re.compile(r"[0-9]{1,3}")


def _locale() -> str:
    return str(get_locale() or "en")


def topic_lines(text: str | None) -> list[str]:
    """Return the topics typed one per line, without blanks or repeats."""
    topics: list[str] = []
    for line in (text or "").splitlines():
        topic = " ".join(line.split())
        if topic and topic not in topics:
            topics.append(topic)
    return topics


def parse_rubric(text: str | None) -> list[dict[str, Any]]:
    """Read ``Name | weight | scale`` lines; raise ValueError naming the first bad line."""
    criteria: list[dict[str, Any]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        where = {"n": number, "line": line.strip()}
        if len(parts) != 3 or not parts[0]:
            raise ValueError(_("Line %(n)d, “%(line)s”: write it as Name | weight | scale, "
                               "e.g. “%(example)s”.", example=RUBRIC_EXAMPLE, **where))
        name, weight, scale = parts
        if not _WHOLE.fullmatch(weight) or not 1 <= int(weight) <= 100:
            raise ValueError(_("Line %(n)d, “%(line)s”: the weight must be a whole number "
                               "from 1 to 100.", **where))
        if not _WHOLE.fullmatch(scale) or not 2 <= int(scale) <= 10:
            raise ValueError(_("Line %(n)d, “%(line)s”: the scale (the top score) must be a "
                               "whole number from 2 to 10.", **where))
        if any(c["name"].casefold() == name.casefold() for c in criteria):
            raise ValueError(_("Line %(n)d, “%(line)s”: this criterion is already listed.",
                               **where))
        criteria.append({"name": name, "weight": int(weight), "scale": int(scale)})
    if not criteria:
        raise ValueError(_("Give at least one criterion, e.g. “%(example)s”.",
                           example=RUBRIC_EXAMPLE))
    total = sum(c["weight"] for c in criteria)
    if total != 100:
        raise ValueError(_("The weights add up to %(total)d; they must add up to 100.",
                           total=total))
    return criteria


def rubric_text(criteria: list[dict[str, Any]]) -> str:
    return "\n".join(f"{c['name']} | {c['weight']} | {c['scale']}" for c in criteria)


class CallForm(Form):
    """Create or edit a call. Build it with `CallForm.build`, which adds the tenant's donors,
    countries, currency and time zone."""

    #: The call's version when the form was loaded (optimistic locking).
    version = HiddenField()
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    topics = TextAreaField(_l("Topics"), description=_l("One topic per line."))
    eligible_countries = SelectMultipleField(
        _l("Eligible partner countries"),
        description=_l("Institutes from these countries may take part."),
        validators=[DataRequired(_l("Choose at least one country."))],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )
    max_duration_months = IntegerField(
        _l("Maximum duration (months)"), default=36,
        validators=[InputRequired(), NumberRange(min=1, max=60)],
    )
    overhead_cap_percent = IntegerField(
        _l("Overhead cap (% of direct costs)"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    required_attachments = SelectMultipleField(
        _l("Required attachments"),
        choices=[SelectChoice(kind, label) for kind, label in ATTACHMENT_KINDS.items()],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )
    review_mode = SelectField(
        _l("Review mode"), default=ReviewMode.single_blind.value,
        choices=[SelectChoice(mode.value, label) for mode, label in REVIEW_MODE_LABELS.items()],
    )
    rubric = TextAreaField(
        _l("Review rubric"),
        description=_l("One criterion per line: name | weight | scale (the top score). "
                       "The weights add up to 100. Example: %(example)s",
                       example=RUBRIC_EXAMPLE),
        validators=[DataRequired(_l("Give at least one criterion."))],
    )

    #: Set by `build`: the tenant's donors, each with its ``offer_<id>`` field.
    donors: list[Donor] = []
    #: Set by `validate` when no donor offers anything.
    offers_error: str | None = None

    @classmethod
    def build(cls, tenant: Tenant, *, donors: list[Donor], countries: list[Country],
              call: Call | None = None) -> CallForm:
        """Return the form for ``tenant``, filled from ``call`` or from the submitted data."""
        zone = ZoneInfo(tenant.timezone)
        when = _("Time in %(zone)s (%(name)s).", zone=tenant.timezone,
                 name=format_datetime(clock.now(), "zzzz", tzinfo=zone, locale=_locale()))
        fields: dict[str, Any] = {
            "opens_at": DateTimeLocalField(_l("Opens"), format=LOCAL_FORMATS, tz=zone,
                                           description=when, validators=[InputRequired()]),
            "closes_at": DateTimeLocalField(_l("Closes"), format=LOCAL_FORMATS, tz=zone,
                                            description=when, validators=[InputRequired()]),
            "budget_ceiling": MoneyField(
                _l("Budget ceiling per proposal (%(currency)s)", currency=tenant.currency),
                currency=tenant.currency,
                validators=[DataRequired(_l("Enter the most a proposal may ask for."))]),
        }
        for donor in donors:
            fields[f"offer_{donor.id}"] = MoneyField(donor.name, currency=tenant.currency,
                                                     validators=[Optional()])
        form_class = type("TenantCallForm", (cls,), fields)
        form = form_class(data=cls._initial(tenant, call))
        form.donors = donors
        codes = [c.code for c in countries]
        form.eligible_countries.choices = [SelectChoice(c.code, c.name) for c in countries] + [
            SelectChoice(code, country_name(code))
            for code in (call.eligible_countries if call else [])
            if code not in codes  # no longer a partner, but still in the call
        ]
        return form

    @staticmethod
    def _initial(tenant: Tenant, call: Call | None) -> dict[str, Any]:
        if call is None:
            return {"overhead_cap_percent": tenant.setting("overhead_cap_percent")}
        return {
            "version": call.version, "title": call.title, "description": call.description,
            "topics": "\n".join(call.topics), "eligible_countries": call.eligible_countries,
            "opens_at": call.opens_at, "closes_at": call.closes_at,
            "budget_ceiling": call.budget_ceiling,
            "max_duration_months": call.max_duration_months,
            "overhead_cap_percent": call.overhead_cap_percent,
            "required_attachments": call.required_attachments,
            "review_mode": call.review_mode, "rubric": rubric_text(call.rubric),
            **{f"offer_{cd.donor_id}": cd.offered for cd in call.donors},
        }

    def offer_fields(self) -> list[tuple[Donor, MoneyField]]:
        return [(donor, self[f"offer_{donor.id}"]) for donor in self.donors]

    def validate_topics(self, field: TextAreaField) -> None:
        for topic in topic_lines(field.data):
            if len(topic) > MAX_TOPIC_LENGTH:
                raise ValidationError(_("“%(topic)s…” is longer than %(max)d characters.",
                                        topic=topic[:40], max=MAX_TOPIC_LENGTH))

    def validate_closes_at(self, field: DateTimeLocalField) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_("The call must close after it opens."))

    def validate_rubric(self, field: TextAreaField) -> None:
        try:
            parse_rubric(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        self.offers_error = None
        if not any(f.errors for _donor, f in self.offer_fields()) and not self.offers():
            self.offers_error = (_("Enter the amount offered by at least one donor.")
                                 if self.donors else
                                 _("This center has no donors yet: an administrator adds them "
                                   "first."))
            return False
        return valid

    def loaded_version(self) -> int:
        """The call's version when the form was loaded; 0, which never matches, if garbled."""
        text = self.version.data or ""
        return int(text) if text.isascii() and text.isdigit() else 0

    def show_current_version(self, version: int) -> None:
        """Carry ``version`` in the form, so saving again knowingly replaces that version."""
        self.version.data = str(version)

    def offers(self) -> dict[int, int]:
        """Return {donor id: offered minor units} for the donors given an amount."""
        return {donor.id: f.data for donor, f in self.offer_fields() if f.data is not None}

    def call_fields(self) -> dict[str, Any]:
        """Return the call's columns from a validated form: UTC times, minor units."""
        return {
            "title": self.title.data.strip(),
            "description": "\n".join((self.description.data or "").splitlines()).strip(),
            "topics": topic_lines(self.topics.data),
            "eligible_countries": sorted(self.eligible_countries.data),
            "opens_at": self.opens_at.data.astimezone(dt.UTC),
            "closes_at": self.closes_at.data.astimezone(dt.UTC),
            "budget_ceiling": self.budget_ceiling.data,
            "max_duration_months": self.max_duration_months.data,
            "overhead_cap_percent": self.overhead_cap_percent.data,
            "required_attachments": [k for k in ATTACHMENT_KINDS
                                     if k in self.required_attachments.data],
            "review_mode": ReviewMode(self.review_mode.data),
            "rubric": parse_rubric(self.rubric.data),
        }
