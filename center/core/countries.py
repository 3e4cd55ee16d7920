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

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

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


#: The forms that official lists give country names in (UN, OFAC, EU), beside CLDR's names:
#: "Korea, North", "Iran (Islamic Republic of)", "Russian Federation" ... Keys are folded
#: with `_fold`.
_OFFICIAL_NAMES = {
    "democratic people's republic of korea": "KP", "korea, north": "KP",
    "korea, democratic people's republic of": "KP", "dprk": "KP", "north korea": "KP",
    "republic of korea": "KR", "korea, south": "KR", "korea, republic of": "KR",
    "iran (islamic republic of)": "IR", "iran, islamic republic of": "IR",
    "russian federation": "RU", "syrian arab republic": "SY", "burma": "MM", "myanmar": "MM",
    "lao people's democratic republic": "LA", "viet nam": "VN", "turkey": "TR",
    "state of palestine": "PS", "palestine": "PS", "west bank": "PS", "gaza": "PS",
    "cote d'ivoire": "CI", "ivory coast": "CI",
    "democratic republic of the congo": "CD", "congo, democratic republic of the": "CD",
    "congo (democratic republic of the)": "CD", "republic of the congo": "CG",
    "congo, republic of the": "CG", "congo": "CG",
    "venezuela (bolivarian republic of)": "VE", "bolivia (plurinational state of)": "BO",
    "united republic of tanzania": "TZ", "tanzania, united republic of": "TZ",
    "republic of moldova": "MD", "moldova, republic of": "MD",
    "united kingdom of great britain and northern ireland": "GB", "great britain": "GB",
    "united states of america": "US", "usa": "US",
    "the former yugoslav republic of macedonia": "MK", "macedonia": "MK",
    "czech republic": "CZ", "swaziland": "SZ", "kyrgyz republic": "KG",
    "bosnia and herzegovina": "BA", "hong kong": "HK", "macau": "MO", "macao": "MO",
    "taiwan, province of china": "TW", "china, people's republic of": "CN",
    "people's republic of china": "CN", "brunei darussalam": "BN", "cabo verde": "CV",
    "holy see": "VA", "micronesia (federated states of)": "FM", "timor-leste": "TL",
    "east timor": "TL", "the gambia": "GM", "gambia, the": "GM", "the bahamas": "BS",
    "bahamas, the": "BS", "netherlands (kingdom of the)": "NL", "turkiye": "TR",
}


def _fold(name: str) -> str:
    text = name.casefold().replace("’", "'").replace("`", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.replace("&", "and").split()).strip(" .")


@lru_cache(maxsize=1)
def _names_to_codes() -> dict[str, str]:
    """Every CLDR name of every ISO country in English, Russian and Korean, and the
    official lists' forms, folded -> code."""
    table: dict[str, str] = {}
    for language in ("en", "ru", "ko"):
        for code, name in Locale(language).territories.items():
            if code in ISO_CODES:
                table.setdefault(_fold(name), code)
    table.update(_OFFICIAL_NAMES)
    return table


def country_code(text: str | None) -> str | None:
    """The ISO 3166 code that ``text`` names: a code ("ru", "KP") or a country's name as
    CLDR writes it in English, Russian or Korean or as an official list does ("Korea,
    North", "Russian Federation", "Iran (Islamic Republic of)"); None when it names none
    ("undetermined", a region)."""
    raw = " ".join((text or "").split())
    if not raw:
        return None
    if len(raw) == 2 and raw.isalpha():
        return raw.upper() if raw.upper() in ISO_CODES else None
    return _names_to_codes().get(_fold(raw))
