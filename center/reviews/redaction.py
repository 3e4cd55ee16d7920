"""The copy of a proposal a reviewer reads, on the page and as a PDF.

In a single-blind call it is the proposal as submitted. In a double-blind call it carries no
applicant's or institute's name: institutes become "Partner 1, 2 ...", people "Team member
1, 2 ...", and every name (and e-mail address) the proposal holds is struck from its free
text too, since applicants often write "our group at the Institute of ..." into an abstract.
Uploaded files cannot be anonymised, so a double-blind copy offers none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from center.auth.models import User
from center.core.db import db
from center.proposals.models import Attachment, Proposal, team_role_label
from center.screening.names import name_tokens, skeleton_keys
from center.tenants.models import country_name

#: What replaces a struck name.
WITHHELD = "[…]"
#: Parts of a person's name shorter than this are not struck on their own ("Li", "Oh").
MIN_NAME_PART = 3
#: Initialisms derived from an institute's name shorter than this are not struck ("IP" is
#: also intellectual property); acronyms the institute or the applicants wrote are.
MIN_INITIALISM = 3

#: A word of free text: letters and digits in any script, hyphenated parts kept together.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: Case endings and feminine forms of Slavic surnames (Ivanov -> Ivanova, Ivanovu,
#: Ivanovym; Kovalevsky -> Kovalevskaya), longest first; stripped only from a stem that
#: still ends like a surname.
_ENDINGS = ("skaya", "skaja", "ckaya", "skoy", "skoi", "skogo", "skomu", "skim", "skiy",
            "skii", "skyi", "sky", "ski", "ogo", "omu", "ykh", "ikh", "oy", "oi", "oj", "ym",
            "im", "om", "a", "u", "e", "y", "i")
_SURNAME_STEM = re.compile(r"(?:ov|ev|yov|in|yn|ich|enko|uk|yuk|chuk|yan|ian|sk)$")
_LATIN_UPPER = re.compile(r"^[^\W\d_]{2,}$")
#: Words left out of an institute's initialism ("Institute of Nuclear Physics" -> INP).
_INITIALISM_STOPWORDS = frozenset(
    "of the and for in on at by to named after a an de des du la le les el del der die das "
    "und fur für и в им имени им. по при".split())
_PARENTHESISED = re.compile(r"\(\s*([^\W\d_][\w-]{1,11})\s*\)")


@dataclass
class ReviewCopy:
    """Everything a reviewer reads of a proposal, already blinded where the call says so."""

    blind: bool
    title: str
    acronym: str
    topic: str
    abstract: str
    objectives: str
    keywords: str
    duration_months: int | None
    partners: list[dict[str, Any]] = field(default_factory=list)
    team: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    total_budget: int = 0
    trips: list[dict[str, Any]] = field(default_factory=list)
    foreground_ip: str = ""
    foreground_ip_terms: str = ""
    publication_policy: str = ""
    background_ip: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _stems(token: str) -> set[str]:
    """The token and its stem without a Slavic case ending or feminine form."""
    found = {token}
    for ending in _ENDINGS:
        stem = token[: -len(ending)]
        if token.endswith(ending) and len(stem) >= 4 and (
                _SURNAME_STEM.search(stem) or ending.startswith("sk")):
            found.add(stem + ("sk" if ending.startswith("sk") else ""))
    return found


def _keys(token: str) -> set[str]:
    """Every phonetic key of the token's stems: spellings of one name meet here."""
    return {key for stem in _stems(token) for key in skeleton_keys(stem)}


def initialisms(name: str) -> set[str]:
    """Acronyms an institute's name yields: its initials without the small words
    ("Institute of Nuclear Physics" -> INP), with them (IONP), and any acronym the name
    carries itself ("... (KAIST)", "JINR Dubna")."""
    found = {m for m in _PARENTHESISED.findall(name) if _is_acronym(m)}
    words = [w for w in re.split(r"[\s,()/]+", name) if w]
    found |= {w for w in words if _LATIN_UPPER.match(w) and w.isupper()}
    letters = [w for w in words if w[0].isalpha()]
    significant = [w for w in letters if w.casefold() not in _INITIALISM_STOPWORDS]
    for chosen in (significant, letters):
        initials = "".join(w[0] for w in chosen).upper()
        if len(initials) >= MIN_INITIALISM:
            found.add(initials)
        # Hyphenated parts count too ("Physico-Technical" -> PT).
        parts = "".join(p[0] for w in chosen for p in w.split("-") if p).upper()
        if len(parts) >= MIN_INITIALISM:
            found.add(parts)
    return found


def _is_acronym(word: str) -> bool:
    """Two capitals or more, as applicants write an acronym ("INP", "INPh", "ИЯФ")."""
    return sum(1 for c in word if c.isupper()) >= 2


@dataclass
class _Words:
    """A text cut into words, each with its span and normalised tokens."""

    spans: list[tuple[int, int]]
    tokens: list[list[str]]

    @classmethod
    def of(cls, text: str) -> _Words:
        spans, tokens = [], []
        for match in _WORD.finditer(text):
            spans.append(match.span())
            tokens.append(name_tokens(match.group()))
        return cls(spans, tokens)


class Redactor:
    """Strike a proposal's people and institutes from a text, in every spelling.

    A person is struck by each part of their name of `MIN_NAME_PART` letters or more, in
    any case and script, by its transliterated and phonetic spellings and its Slavic case
    and feminine forms: "Ivanov", "IVANOV", "Иванов", "Ivanova"; "김정호", "Kim Jeong-ho".
    An institute is struck by its name and its local name (any case, any script), by the
    acronyms its name yields (`initialisms`) and by any acronym the applicants defined for
    it in the proposal ("Institute of Nuclear Physics (INP)"), written in capitals. E-mail
    addresses are struck whole.
    """

    def __init__(self, people: list[str], emails: list[str], institutes: list[str],
                 texts: list[str]) -> None:
        self.person_keys: set[str] = set()
        for name in people:
            for token in name_tokens(name or ""):
                if len(token) >= MIN_NAME_PART:
                    self.person_keys |= _keys(token)
        self.emails = {e.strip().casefold() for e in emails if e and e.strip()}
        self.institutes = [[set(skeleton_keys(t)) for t in name_tokens(n, kind="entity")]
                           for n in dict.fromkeys(i.strip() for i in institutes if i)
                           if n and name_tokens(n, kind="entity")]
        self.acronyms: set[str] = set()
        for name in institutes:
            if name:
                self.acronyms |= initialisms(name)
        for text in texts:
            self.acronyms |= self._defined_acronyms(text or "")

    def _institute_spans(self, text: str, words: _Words) -> list[tuple[int, int]]:
        flat = [(i, token) for i, tokens in enumerate(words.tokens) for token in tokens]
        spans = []
        for pattern in self.institutes:
            size = len(pattern)
            for start in range(len(flat) - size + 1):
                if all(set(skeleton_keys(flat[start + k][1])) & pattern[k]
                       for k in range(size)):
                    spans.append((words.spans[flat[start][0]][0],
                                  words.spans[flat[start + size - 1][0]][1]))
        return spans

    def _defined_acronyms(self, text: str) -> set[str]:
        found = set()
        for _start, end in self._institute_spans(text, _Words.of(text)):
            rest = text[end:]
            match = _PARENTHESISED.match(text, end + len(rest) - len(rest.lstrip()))
            if match and _is_acronym(match.group(1)):
                found.add(match.group(1))
        return found

    def _is_person(self, tokens: list[str]) -> bool:
        return any(len(t) >= MIN_NAME_PART and _keys(t) & self.person_keys for t in tokens)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the text names someone or something of the proposal, merged, in order."""
        words = _Words.of(text)
        found = [m.span() for m in _EMAIL.finditer(text) if m.group().casefold() in self.emails]
        found += self._institute_spans(text, words)
        for (start, end), tokens in zip(words.spans, words.tokens, strict=True):
            word = text[start:end]
            if word in self.acronyms or self._is_person(tokens):
                found.append((start, end))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip()):
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def __call__(self, text: str) -> str:
        text = text or ""
        out, last = [], 0
        for start, end in self.spans(text):
            out += [text[last:start], WITHHELD]
            last = end
        out.append(text[last:])
        return "".join(out)


def _texts(proposal: Proposal) -> list[str]:
    return ([proposal.title, proposal.acronym, proposal.abstract, proposal.objectives,
             proposal.keywords, proposal.foreground_ip_terms, proposal.publication_policy]
            + [t.title for t in proposal.tasks] + [t.description for t in proposal.tasks]
            + [line.description for line in proposal.budget_lines]
            + [t.purpose for t in proposal.trips]
            + [b.description for b in proposal.background_ip])


def redactor(proposal: Proposal) -> Redactor:
    """Return the `Redactor` of the proposal's people, e-mail addresses and institutes."""
    people = [proposal.owner.name] + [m.name for m in proposal.team]
    emails = [proposal.owner.email] + [m.email for m in proposal.team] + [
        c.email for c in proposal.collaborators]
    collaborator_ids = [c.user_id for c in proposal.collaborators if c.user_id]
    if collaborator_ids:
        people += list(db.session.scalars(select(User.name).where(User.id.in_(collaborator_ids))))
    institutes = [p.institute.name for p in proposal.partners] + [
        p.institute.local_name for p in proposal.partners]
    return Redactor(people, emails, institutes, _texts(proposal))


def scrubber(proposal: Proposal) -> Callable[[str], str]:
    """Return a function striking the proposal's names from a text (see `Redactor`)."""
    return redactor(proposal)


def review_copy(proposal: Proposal, *, blind: bool) -> ReviewCopy:
    """Build the reviewer's copy of ``proposal``; ``blind`` strikes every name."""
    scrub = scrubber(proposal) if blind else (lambda text: text or "")
    party = {p.institute_id: (_("Partner %(n)d", n=n) if blind else p.institute.name)
             for n, p in enumerate(proposal.partners, start=1)}
    person = {m.id: (_("Team member %(n)d", n=n) if blind else m.name)
              for n, m in enumerate(proposal.team, start=1)}
    background = {p.institute_id: party[p.institute_id] for p in proposal.partners}
    return ReviewCopy(
        blind=blind,
        title=scrub(proposal.title), acronym=scrub(proposal.acronym), topic=proposal.topic,
        abstract=scrub(proposal.abstract), objectives=scrub(proposal.objectives),
        keywords=scrub(proposal.keywords), duration_months=proposal.duration_months,
        partners=[{"label": party[p.institute_id], "country": country_name(
            p.institute.country_code), "lead": p.is_lead} for p in proposal.partners],
        team=[{"label": person[m.id], "role": team_role_label(m.role),
               "partner": party.get(m.institute_id, ""),
               "citizenship": country_name(m.citizenship)} for m in proposal.team],
        tasks=[{"title": scrub(t.title), "description": scrub(t.description),
                "partner": party.get(t.institute_id, ""), "months": (t.start_month, t.end_month),
                "days": sum(e.days for e in t.efforts)} for t in proposal.tasks],
        budget=[{"category": line.category, "description": scrub(line.description),
                 "amount": line.amount} for line in proposal.budget_lines],
        total_budget=proposal.total_budget,
        trips=[{"traveller": person.get(t.traveller_id, ""),
                "from": country_name(t.origin_country),
                "to": country_name(t.destination_country),
                "depart": t.depart_on, "return": t.return_on, "purpose": scrub(t.purpose)}
               for t in proposal.trips],
        foreground_ip=proposal.foreground_ip or "",
        foreground_ip_terms=scrub(proposal.foreground_ip_terms),
        publication_policy=scrub(proposal.publication_policy),
        background_ip=[{"partner": background.get(b.institute_id, ""),
                        "description": scrub(b.description),
                        "restrictions": scrub(b.restrictions)} for b in proposal.background_ip],
        attachments=[] if blind else list(proposal.attachments),
    )
