"""Countries as ISO 3166-1 alpha-2 codes, named from CLDR (Babel) in the viewer's language.

CLDR's territory list holds more than ISO 3166-1: regions ("001", "150"), groupings ("EU"
European Union, "EZ" Eurozone, "UN", "QO" Outlying Oceania), pseudo-locales ("XA", "XB"),
"ZZ" unknown, codes ISO only reserves (Ascension "AC", Clipperton "CP", Sark "CQ", Diego
Garcia "DG", Ceuta and Melilla "EA", Canary Islands "IC", Tristan da Cunha "TA"), and "XK"
Kosovo, a user-assigned code ISO does not list. None of these is a country an institute,
a citizen or a trip can be in for the portal's purposes (visa rules and sanctions lists
are keyed by ISO codes), so none is offered: what is left is the 249 codes ISO 3166-1
assigns. A center that needs Kosovo would add it here deliberately.
"""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice
from wtforms.validators import DataRequired

#: Two-letter CLDR territories that are not ISO 3166-1 assigned country codes.
NOT_ISO_3166 = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN",
                          "XA", "XB", "XK", "ZZ"})

#: Every ISO 3166-1 alpha-2 code CLDR names.
ISO_CODES = frozenset(code for code in Locale("en").territories
                      if len(code) == 2 and code.isalpha() and code not in NOT_ISO_3166)

#: The validator of a country select whose blank first choice must not be kept.
COUNTRY_REQUIRED = DataRequired(message=_l("Choose a country."))

#: The label of the blank first choice of a country select.
BLANK_LABEL = _l("— choose a country —")


def is_country(code: str | None) -> bool:
    return bool(code) and code.upper() in ISO_CODES


def _locale() -> Locale:
    try:
        return get_locale() or Locale("en")
    except RuntimeError:  # outside a request
        return Locale("en")


def country_name(code: str) -> str:
    """The country's name in the interface language (the code itself if CLDR has none)."""
    return _locale().territories.get(code.upper(), code.upper())


def country_choices(codes: Iterable[str] | None = None, *,
                    blank: str | None = None) -> list[SelectChoice]:
    """Choices for a country select: a blank first choice (nothing is pre-selected; the
    field's validator refuses it, or it means "not given" on an optional field), then the
    ISO countries among ``codes`` (all of them by default) by name."""
    names = _locale().territories
    wanted = ISO_CODES if codes is None else {c.upper() for c in codes} & ISO_CODES
    choices = sorted((SelectChoice(code, names.get(code, code)) for code in wanted),
                     key=lambda c: c.label.casefold())
    return [SelectChoice("", str(blank or BLANK_LABEL)), *choices]
