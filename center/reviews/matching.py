"""Match reviewers to proposals: expertise against proposal text, load, donors, conflicts.

Pure and deterministic: plain data in, suggestions out, the same answer on every run. The
services load the data and turn picks into assignments; this file knows no database.

Expertise match is TF-IDF cosine similarity between the reviewer's expertise and the
proposal's title, abstract, topic and keywords (keywords count three times), with document
frequencies taken over the call's proposals and reviewers together, so that words every
proposal uses ("research", "project") count for little.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

_WORD = re.compile(r"\w+", re.UNICODE)
#: How much more a keyword counts than a word of the abstract.
KEYWORD_WEIGHT = 3
#: How much a full load lowers a reviewer's suggestion score (0.5: by half).
LOAD_PENALTY = 0.5


def normalize(word: str) -> str:
    """Return the comparison form of a word: NFKC, case-folded, a plain plural made singular."""
    word = unicodedata.normalize("NFKC", word).casefold()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_STOPWORD_TEXT = """
a about above after again against all also among an and any are as at be because been before
being between both but by can could did do does doing during each either few for from further
had has have having here how however if in into is it its itself just may more most must new
no nor not of off on once only or other our out over own same shall should so some such than
that the their them then there these they this those through to too under until up upon use
used using very via was we were what when where which while who whom why will with within
without would yet you your project projects research study studies proposal proposed based
approach approaches method methods work aim aims develop development results one two three
"""

#: Words that say nothing about a field of expertise, in their comparison form.
STOPWORDS = frozenset(normalize(w) for w in _STOPWORD_TEXT.split())


def terms(text: str) -> list[str]:
    """Split text into comparable terms, without stop words, numbers and short words."""
    words = (normalize(m.group()) for m in _WORD.finditer(text or ""))
    return [w for w in words if len(w) >= 3 and not w.isdigit() and w not in STOPWORDS]


def proposal_terms(title: str, abstract: str, topic: str, keywords: str) -> list[str]:
    return terms(" ".join((title, abstract, topic))) + terms(keywords) * KEYWORD_WEIGHT


def _idf(documents: Iterable[list[str]]) -> dict[str, float]:
    docs = list(documents)
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(set(doc))
    n = len(docs)
    return {term: math.log((1 + n) / (1 + df)) + 1 for term, df in frequency.items()}


def _vector(doc: list[str], idf: dict[str, float]) -> dict[str, float]:
    counts = Counter(doc)
    vec = {t: (1 + math.log(c)) * idf.get(t, 1.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm else {}


@dataclass(frozen=True)
class Match:
    """How well one reviewer's expertise fits one proposal, and the words they share."""

    score: float  #: cosine similarity, 0 (nothing shared) to 1
    shared: tuple[str, ...]  #: the shared terms that weigh most, best first


class ExpertiseIndex:
    """TF-IDF vectors of a call's proposals and reviewers, for pairwise matches."""

    def __init__(self, proposals: dict[int, list[str]], reviewers: dict[int, list[str]]) -> None:
        idf = _idf(list(proposals.values()) + list(reviewers.values()))
        self._proposals = {k: _vector(v, idf) for k, v in proposals.items()}
        self._reviewers = {k: _vector(v, idf) for k, v in reviewers.items()}

    def match(self, proposal_id: int, reviewer_id: int, top: int = 5) -> Match:
        p = self._proposals.get(proposal_id, {})
        r = self._reviewers.get(reviewer_id, {})
        products = {t: p[t] * r[t] for t in p.keys() & r.keys()}
        shared = sorted(products, key=lambda t: (-products[t], t))[:top]
        return Match(round(sum(products.values()), 4), tuple(shared))


@dataclass(frozen=True)
class Candidate:
    """A reviewer who could be assigned in this call."""

    user_id: int
    donor_id: int
    load: int  #: active assignments in this call already
    cap: int  #: the most assignments they may have in this call


@dataclass
class Need:
    """A proposal still to staff: who is on it and who may not be."""

    proposal_id: int
    assigned: dict[int, int]  #: reviewer user id -> donor id, of the active assignments
    excluded: set[int] = field(default_factory=set)  #: reviewers with a conflict


@dataclass(frozen=True)
class Pick:
    proposal_id: int
    user_id: int
    donor_id: int
    match: Match


@dataclass
class Plan:
    picks: list[Pick]
    #: proposal id -> how many reviewers are still missing after the picks
    short: dict[int, int]
    #: proposal id -> donor ids still without a reviewer on the proposal after the picks
    unrepresented: dict[int, list[int]]


def suggest(needs: list[Need], candidates: list[Candidate], *, per_proposal: int,
            donor_ids: list[int], index: ExpertiseIndex) -> Plan:
    """Propose reviewers so each proposal reaches ``per_proposal``, every donor of the call
    is represented where a reviewer of it is free, and no reviewer passes their cap.

    Slots are filled round by round (one reviewer per proposal per round, the hardest to
    staff first) so that early proposals do not take every good reviewer. Within a round a
    proposal first takes a reviewer of a donor it lacks; among those allowed, the best
    expertise match wins, lowered by how full the reviewer already is; ties go to the less
    loaded reviewer, then the lower id.
    """
    load = {c.user_id: c.load for c in candidates}
    by_id = {c.user_id: c for c in candidates}
    assigned = {n.proposal_id: dict(n.assigned) for n in needs}
    excluded = {n.proposal_id: n.excluded for n in needs}

    def eligible(pid: int) -> list[Candidate]:
        return [c for c in candidates if c.user_id not in assigned[pid]
                and c.user_id not in excluded[pid] and load[c.user_id] < c.cap]

    order = sorted(needs, key=lambda n: (len(eligible(n.proposal_id)), n.proposal_id))
    picks: list[Pick] = []
    short = {n.proposal_id: 0 for n in needs}
    for _round in range(per_proposal):
        for need in order:
            pid = need.proposal_id
            if len(assigned[pid]) >= per_proposal:
                continue
            pool = eligible(pid)
            missing = [d for d in donor_ids if d not in assigned[pid].values()]
            preferred = [c for c in pool if c.donor_id in missing]
            pool = preferred or pool
            if not pool:
                continue

            def rank(c: Candidate, pid: int = pid) -> tuple[float, int, int]:
                fit = index.match(pid, c.user_id).score
                fullness = load[c.user_id] / c.cap if c.cap else 1
                return (-fit * (1 - LOAD_PENALTY * fullness), load[c.user_id], c.user_id)

            best = min(pool, key=rank)
            assigned[pid][best.user_id] = best.donor_id
            load[best.user_id] += 1
            picks.append(Pick(pid, best.user_id, by_id[best.user_id].donor_id,
                              index.match(pid, best.user_id)))
    for need in needs:
        short[need.proposal_id] = max(0, per_proposal - len(assigned[need.proposal_id]))
    unrepresented = {n.proposal_id: [d for d in donor_ids
                                     if d not in assigned[n.proposal_id].values()]
                     for n in needs}
    return Plan(picks, short, unrepresented)
