"""The clauses of an agreement: their order, default wording and the placeholder syntax.

A tenant administrator edits the wording of each clause, never its HTML: a body is plain text
in which a blank line starts a new paragraph, a line starting with ``- `` is an item of a
list, and ``{name}`` stands for one of `PLACEHOLDERS` (``{{`` and ``}}`` write a literal
brace). `fill` replaces the placeholders with plain-text values; the PDF template then
escapes the result like any other text, so neither the administrator nor an applicant whose
title lands in a placeholder can add markup to the document.

Some clauses carry numbers as well as words (`SETTINGS`): the payment schedule, the per-diem
and insurance cover, the default allocation of foreground IP. They are versioned with the
clause, so an agreement records exactly which terms it was issued under.

The default titles, bodies and tranche conditions are messages of the catalogues: a document
written in Russian or Korean prints them translated (`center.agreements.services`), while a
version the center saved is printed as its administrator typed it.

This module is pure: no database, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

#: The articles of an agreement, in order, with their default titles.
CLAUSE_KEYS: tuple[str, ...] = (
    "parties", "summary", "budget", "ip", "travel", "reporting", "publication", "taxes",
    "confidentiality", "termination", "disputes", "signatures",
)

#: The agreement is printed in two parts, each paged on its own, which the PDF workers lay
#: out at the same time: Part I holds the cover, the contents and the special conditions of
#: the project (the articles before this one); Part II the general conditions, the
#: signatures and the annexes.
PART_TWO_FROM = "publication"


def N_(message: str) -> str:  # noqa: N802 - the name the message extractor knows
    """Mark ``message`` for the catalogues; whoever prints it translates it then."""
    return message


PART_TITLES: tuple[str, str] = (N_("Special conditions of the project"),
                                N_("General conditions and signatures"))


def part_of(key: str) -> int:
    """Return the part (1 or 2) of the printed agreement that clause ``key`` is in."""
    return 2 if CLAUSE_KEYS.index(key) >= CLAUSE_KEYS.index(PART_TWO_FROM) else 1

DEFAULT_TITLES: dict[str, str] = {
    "parties": N_("Parties"),
    "summary": N_("Project"),
    "budget": N_("Budget and payment schedule"),
    "ip": N_("Intellectual property"),
    "travel": N_("Visa support and travel"),
    "reporting": N_("Reporting"),
    "publication": N_("Publication"),
    "taxes": N_("Taxes and customs exemptions"),
    "confidentiality": N_("Confidentiality"),
    "termination": N_("Suspension and termination"),
    "disputes": N_("Settlement of disputes"),
    "signatures": N_("Entry into force and signatures"),
}

DEFAULT_BODIES: dict[str, str] = {
    "parties": N_(
        "This Agreement is made between {center} (the “Center”); {lead_institute} (the "
        "“Lead Institute”), acting for itself and for the other institutes of the consortium "
        "named below (together with the Lead Institute, the “Institutes”); and {donors} "
        "(each a “Donor”).\n\n"
        "The Lead Institute represents the Institutes towards the Center and the Donors. It "
        "receives the funds and passes to each Institute its share of the budget."
    ),
    "summary": N_(
        "The Institutes shall carry out the project “{project_title}” ({acronym}), selected "
        "under the call “{call_title}”, as described in the proposal approved by the Center, "
        "over {duration_months} months from the date on which the Center countersigns this "
        "Agreement.\n\n"
        "The principal investigator is {principal_investigator}. The approved proposal forms "
        "part of this Agreement; where the two differ, this Agreement prevails."
    ),
    "budget": N_(
        "The Donors fund the project up to {total_budget} in total, each up to the amount "
        "shown against its name below. Amounts are in {currency}.\n\n"
        "The Center pays each Donor’s contribution to the Lead Institute in tranches, on the "
        "conditions of the payment schedule below.\n\n"
        "The Institutes may move up to 10% of a budget category to another category without "
        "prior approval; a larger change needs the Center’s written consent. Funds not spent "
        "at the end of the project are returned to the Center."
    ),
    "ip": N_(
        "Background intellectual property remains with the party that brings it into the "
        "project. The background listed below is made available to the other Institutes, "
        "royalty-free, for the purpose of the project only.\n\n"
        "Foreground intellectual property created in the project is {foreground_ip}. "
        "{foreground_ip_terms}\n\n"
        "Each Donor receives a non-exclusive, royalty-free licence to use the foreground for "
        "non-commercial research."
    ),
    "travel": N_(
        "The Center supports the visa applications of the travellers listed in Annex B and "
        "issues an invitation letter for each trip marked there as needing one. Travel is "
        "booked in economy class by the most direct route.\n\n"
        "Travellers receive a per-diem of {per_diem} for each day away from their home city, "
        "covering accommodation, meals and local transport.\n\n"
        "Each traveller holds medical and repatriation insurance with a cover of at least "
        "{insurance_cover} for the whole trip; its cost is an eligible travel expense. A "
        "trip not listed in Annex B needs the Center’s prior written approval."
    ),
    "reporting": N_(
        "The Lead Institute submits to the Center:\n"
        "- an interim scientific and financial report by the end of month "
        "{interim_report_month} of the project;\n"
        "- a final scientific and financial report within 60 days after the end of month "
        "{final_report_month};\n"
        "- any information the Center or a Donor reasonably asks for about the use of the "
        "funds.\n\n"
        "The Center forwards the reports to the Donors. A tranche tied to a report is paid "
        "only once the Center has approved that report."
    ),
    "publication": N_(
        "The Institutes are encouraged to publish the results of the project. Publications "
        "acknowledge the support of the {center} and of the Donors, and cite the reference "
        "{agreement_ref}.\n\n"
        "An Institute informs the Center of an intended publication at least 30 days in "
        "advance, so that foreground intellectual property can be protected first. The "
        "publication policy of the proposal applies: {publication_policy}"
    ),
    "taxes": N_(
        "The funds, equipment and materials provided under this Agreement are exempt from "
        "taxes, customs duties and other charges in the countries of the Institutes, under "
        "the instruments establishing the Center. The Institutes obtain these exemptions "
        "through the Center and claim no tax or duty that could have been recovered as an "
        "eligible cost.\n\n"
        "Equipment imported for the project stays registered with the Center until the end "
        "of the project, when title passes to the Institute that uses it."
    ),
    "confidentiality": N_(
        "Each party keeps confidential the information marked as confidential that it "
        "receives from another party in the course of the project, uses it only for the "
        "project and discloses it only to those of its staff who need it.\n\n"
        "This obligation lasts five years after the end of the project. It does not cover "
        "information that is public, that the receiving party already knew, or that the law "
        "requires it to disclose."
    ),
    "termination": N_(
        "The Center may suspend payments or terminate this Agreement by written notice:\n"
        "- if an Institute materially breaches this Agreement and does not remedy the breach "
        "within 30 days of a notice;\n"
        "- if the project can no longer be carried out;\n"
        "- if a Donor withdraws its funding for reasons beyond the Center’s control.\n\n"
        "On termination the Lead Institute submits a final report within 60 days and returns "
        "the funds not spent or committed before the notice. The articles on intellectual "
        "property, publication and confidentiality survive termination."
    ),
    "disputes": N_(
        "The parties try to settle amicably, within 60 days, any dispute arising from this "
        "Agreement. A dispute not so settled is finally resolved by arbitration under the "
        "UNCITRAL Arbitration Rules, by a sole arbitrator, in English.\n\n"
        "Nothing in this Agreement waives the privileges and immunities of the Center or of "
        "any Donor."
    ),
    "signatures": N_(
        "This Agreement takes effect on the date on which the Center countersigns it. It is "
        "executed electronically: each party acknowledges the exact document it received, "
        "identified by its SHA-256 fingerprint, and the Center keeps these acknowledgements "
        "on record."
    ),
}

#: Default numeric terms of the clauses that have them; amounts in minor units.
DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "budget": {"tranches": [
        {"percent": 40, "condition": N_("On countersignature of this Agreement")},
        {"percent": 40, "condition": N_("On approval of the interim report")},
        {"percent": 20, "condition": N_("On approval of the final report")},
    ]},
    "travel": {"per_diem": 150_00, "insurance_cover": 30_000_00},
    "ip": {"default_foreground": "joint"},
}

#: Placeholders an administrator may use in any clause, with what they stand for.
PLACEHOLDERS: dict[str, str] = {
    "center": "the center’s full name",
    "center_short": "the center’s short name",
    "agreement_ref": "the agreement’s reference number",
    "project_title": "the project’s title",
    "acronym": "the project’s acronym",
    "call_title": "the call the proposal answered",
    "lead_institute": "the lead institute",
    "institutes": "every institute of the consortium",
    "donors": "the donors funding the project",
    "principal_investigator": "the principal investigator",
    "duration_months": "the duration in months",
    "total_budget": "the total budget, with its currency",
    "currency": "the currency code",
    "interim_report_month": "the month the interim report is due",
    "final_report_month": "the last month of the project",
    "per_diem": "the per-diem per day (travel terms)",
    "insurance_cover": "the minimum insurance cover (travel terms)",
    "foreground_ip": "who owns the foreground IP, from the IP plan",
    "foreground_ip_terms": "the applicants’ terms for the foreground IP",
    "publication_policy": "the applicants’ publication policy",
}

#: How each allocation of foreground IP reads in the clause.
FOREGROUND_WORDING: dict[str, str] = {
    "joint": N_("owned jointly by the Institutes, in shares reflecting their contributions"),
    "inventor": N_("owned by the Institute whose staff created it"),
    "licensed_to_donors": N_("owned by the Institute whose staff created it, which grants "
                             "each Donor a non-exclusive licence for its own purposes"),
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}")
MAX_TRANCHES = 10


class ClauseSyntaxError(ValueError):
    """A clause body or its terms cannot be used; the message is for the administrator."""


def names_in(body: str) -> list[str]:
    """Return the ``{names}`` in ``body``, once each, in order of appearance."""
    return list(dict.fromkeys(m.group(1) for m in _TOKEN.finditer(body) if m.group(1)))


def unknown_placeholders(body: str) -> list[str]:
    """Return the ``{names}`` in ``body`` that are not placeholders, in order of appearance."""
    return [n for n in names_in(body) if n not in PLACEHOLDERS]


def check_body(body: str) -> None:
    """Raise ClauseSyntaxError if ``body`` is empty or names an unknown placeholder."""
    if not body.strip():
        raise ClauseSyntaxError(_("Write the clause; an empty article is not allowed."))
    unknown = unknown_placeholders(body)
    if unknown:
        raise ClauseSyntaxError(
            "Unknown placeholder: " + ", ".join("{" + n + "}" for n in unknown)
            + ". Use one of the placeholders listed beside the form."
        )


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace each ``{name}`` in ``text`` by its value; ``{{``/``}}`` become braces."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # an escaped brace, "{{" or "}}"
            return match.group(0)[0]
        return values.get(name, match.group(0))

    return _TOKEN.sub(replace, text)


@dataclass(frozen=True)
class Block:
    """A paragraph (``items`` empty) or a list (``text`` empty) of a filled clause."""

    text: str = ""
    items: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "items": list(self.items)}


def fill(body: str, values: dict[str, str]) -> list[Block]:
    """Split ``body`` into paragraphs and lists, placeholders replaced; plain text only."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n[ \t]*\n", body.replace("\r\n", "\n").strip()):
        text: list[str] = []
        items: list[str] = []
        for raw in chunk.split("\n"):
            line = raw.strip()
            if line.startswith(("- ", "* ")):
                if text:
                    blocks.append(Block(text=" ".join(text)))
                    text = []
                items.append(line[2:].strip())
            elif items and line:  # a continuation of the last list item
                items[-1] += " " + line
            elif line:
                text.append(line)
        if text:
            blocks.append(Block(text=" ".join(text)))
        if items:
            blocks.append(Block(items=tuple(items)))
    return [Block(text=substitute(b.text, values),
                  items=tuple(substitute(i, values) for i in b.items)) for b in blocks]


def parse_tranches(text: str) -> list[dict[str, Any]]:
    """Read a payment schedule written one tranche a line as ``40 | condition``.

    Raise ClauseSyntaxError unless every line has a whole positive percentage and a condition
    and the percentages add up to 100.
    """
    tranches = []
    for number, raw in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        percent, sep, condition = raw.partition("|")
        percent = percent.strip().rstrip("%").strip()
        if not sep or not condition.strip():
            raise ClauseSyntaxError(_(
                "Line %(number)d: write the percentage, a bar and the condition, "
                "e.g. “40 | On approval of the interim report”.", number=number))
        if not percent.isdigit() or not 0 < int(percent) <= 100:
            raise ClauseSyntaxError(_("Line %(number)d: “%(percent)s” is not a whole "
                                      "percentage between 1 and 100.",
                                      number=number, percent=percent))
        tranches.append({"percent": int(percent), "condition": condition.strip()[:300]})
    if not tranches:
        raise ClauseSyntaxError(_("Give at least one tranche."))
    if len(tranches) > MAX_TRANCHES:
        raise ClauseSyntaxError(_("Give at most %(max)d tranches.", max=MAX_TRANCHES))
    total = sum(t["percent"] for t in tranches)
    if total != 100:
        raise ClauseSyntaxError(_("The tranches add up to %(total)d%%, not 100%%.", total=total))
    return tranches


def format_tranches(tranches: list[dict[str, Any]]) -> str:
    """Write a payment schedule back in the one-tranche-a-line form `parse_tranches` reads."""
    return "\n".join(f"{t['percent']} | {t['condition']}" for t in tranches)
