"""One form per thing done to an agreement or its clauses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from center.agreements import clauses as clause_lib
from center.core.fields import MoneyField
from center.core.forms import Form
from center.core.hidden_fields import CounterField

if TYPE_CHECKING:
    from center.proposals.models import BudgetLine
    from center.tenants.models import Donor


class ProposalActionForm(Form):
    """A button acting on a proposal, carrying the proposal version the page showed."""

    version = CounterField()


class AcknowledgeForm(Form):
    """One party's acknowledgement; the page names the party in a ``party_value`` input and
    prefixes the form with it, so a user acting for two parties gets two distinct forms."""

    sha256 = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(_l("I have read the agreement with this fingerprint and acknowledge "
                              "it for the party named above."), validators=[DataRequired()])
    typed_name = StringField(_l("Your full name"),
                             description=_l("Typed as you would sign; it is recorded with the "
                                            "time and the fingerprint."),
                             validators=[DataRequired(), Length(min=2, max=200)])


class CountersignForm(Form):
    version = CounterField()
    typed_name = StringField(_l("Your full name"),
                             description=_l("Countersigning makes the project active."),
                             validators=[DataRequired(), Length(min=2, max=200)])


class FundedSplitForm(Form):
    """The officer's re-split of the budget lines between the funding donors; one share
    field per line and donor. Build it with `FundedSplitForm.build`."""

    #: The version of the proposal's funding row the page showed.
    version = HiddenField()

    @staticmethod
    def field_name(line_id: int, donor_id: int) -> str:
        return f"share_{line_id}_{donor_id}"

    @classmethod
    def build(cls, lines: Sequence[BudgetLine], donors: Sequence[Donor],
              currency: str) -> FundedSplitForm:
        fields = {cls.field_name(line.id, d.id): MoneyField(
            _l("%(donor)s's share of “%(line)s”", donor=d.name, line=line.description),
            currency=currency, allow_zero=True, validators=[Optional()])
            for line in lines for d in donors}
        form = type("TenantFundedSplitForm", (cls,), fields)()
        form.lines, form.donors, form.currency = list(lines), list(donors), currency
        return form

    def share(self, line_id: int, donor_id: int) -> Any:
        return self[self.field_name(line_id, donor_id)]

    def load(self, split: dict[int, dict[int, int]], version: int) -> None:
        for line in self.lines:
            for d in self.donors:
                amount = split.get(line.id, {}).get(d.id, 0)
                self.share(line.id, d.id).data = amount or None
        self.version.data = str(version)

    def split(self) -> dict[int, dict[int, int]]:
        """The shares typed, in minor units (blank counts as nothing)."""
        return {line.id: {d.id: self.share(line.id, d.id).data or 0 for d in self.donors}
                for line in self.lines}


class BatchForm(Form):
    #: The proposal ids the confirmation list showed, so a changed list is shown again.
    expected = HiddenField()


class ClauseForm(Form):
    """The wording of one clause; subclasses add the clause's numeric terms."""

    base_number = CounterField()
    title = StringField(_l("Article title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(
        _l("Text"),
        description=_l("Plain text. A blank line starts a new paragraph; a line starting with "
                       "“- ” is a list item; {placeholders} are filled in for each agreement."),
        validators=[DataRequired(), Length(max=20000)], render_kw={"rows": 14})
    note = StringField(_l("What changed"), validators=[Optional(), Length(max=300)])

    #: The field that shows errors in the numeric terms.
    settings_field = ""

    def settings(self, currency: str) -> dict[str, Any]:
        """The clause's numeric terms from the form (none for most clauses)."""
        return {}

    def load_settings(self, settings: dict[str, Any], currency: str) -> None:
        """Show stored numeric terms in the form."""


class BudgetClauseForm(ClauseForm):
    tranches = TextAreaField(
        _l("Payment schedule"),
        description=_l("One tranche a line: percentage | condition. The percentages add up "
                       "to 100."), validators=[DataRequired()], render_kw={"rows": 4})
    settings_field = "tranches"

    def settings(self, currency: str) -> dict[str, Any]:
        return {"tranches": clause_lib.parse_tranches(self.tranches.data or "")}

    def load_settings(self, settings: dict[str, Any], currency: str) -> None:
        self.tranches.data = clause_lib.format_tranches(settings["tranches"])


class TravelClauseForm(ClauseForm):
    per_diem = MoneyField(_l("Per-diem per day"),
                          validators=[DataRequired(_l("Enter the per-diem."))])
    insurance_cover = MoneyField(_l("Minimum insurance cover"),
                                 validators=[DataRequired(_l("Enter the insurance cover."))])
    settings_field = "per_diem"

    def settings(self, currency: str) -> dict[str, Any]:
        return {"per_diem": self.per_diem.data, "insurance_cover": self.insurance_cover.data}

    def load_settings(self, settings: dict[str, Any], currency: str) -> None:
        self.per_diem.data = settings["per_diem"]
        self.insurance_cover.data = settings["insurance_cover"]


class IpClauseForm(ClauseForm):
    default_foreground = SelectField(
        _l("Foreground IP, when the proposal does not say"),
        choices=[SelectChoice("joint", _l("The consortium, jointly")),
                 SelectChoice("inventor", _l("The inventing institute")),
                 SelectChoice("licensed_to_donors",
                              _l("The institutes, with a licence to the donors"))])
    settings_field = "default_foreground"

    def settings(self, currency: str) -> dict[str, Any]:
        return {"default_foreground": self.default_foreground.data}

    def load_settings(self, settings: dict[str, Any], currency: str) -> None:
        self.default_foreground.data = settings["default_foreground"]


CLAUSE_FORMS: dict[str, type[ClauseForm]] = {
    "budget": BudgetClauseForm, "travel": TravelClauseForm, "ip": IpClauseForm,
}


def clause_form_for(key: str) -> type[ClauseForm]:
    return CLAUSE_FORMS.get(key, ClauseForm)
