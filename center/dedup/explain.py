"""Show an officer why two texts matched: the shared passages, as character spans.

Copied text is found as aligned runs of shared word n-grams (the same hashes the index
uses), merged across small edits into passages. Re-worded or translated text is found as
pairs of passages whose embeddings are close, on the same calibrated ramp the score uses;
those are reported only where no copied passage already covers them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from center.dedup.engine import (
    _AUTO,
    DEFAULT_SETTINGS,
    DedupIndex,
    Fingerprint,
    PairScore,
    Settings,
    _analyse,
    _Analysis,
    _ramp,
    calibration,
    fingerprint_many,
    shingle_weights,
)

#: Two runs of shared n-grams closer than this many words (on both sides) form one passage,
#: so that a replaced word does not split a copied sentence.
MERGE_GAP_WORDS = 3
#: A passage must share at least this many n-grams to be shown (one shared 3-gram such as
#: "in order to" is coincidence, three in a row is a copied phrase).
MIN_SHARED_SHINGLES = 3
#: Shared passages whose n-grams weigh less than this on average are standard text.
BOILERPLATE_WEIGHT = 0.5
# A repeated n-gram is aligned at no more than this many places of the other text.
_MAX_POSITIONS = 16


@dataclass(frozen=True)
class SharedPassage:
    """A passage of text A and its counterpart in text B, as ``[start, end)`` offsets."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    #: ``lexical`` (copied or lightly edited), ``semantic`` (re-worded), ``cross-lingual``.
    method: str
    #: Share of the passage's n-grams found in the counterpart (lexical) or the passages'
    #: embedding cosine (semantic, cross-lingual).
    similarity: float
    #: Whether the passage is standard text shared by many indexed documents.
    boilerplate: bool = False


@dataclass(frozen=True)
class Explanation:
    """The score of a pair, the methods that fired and the shared passages."""

    score: float
    methods: list[str]
    passages: list[SharedPassage]
    lexical: float
    semantic: float


def explain(
    text_a: str,
    text_b: str,
    *,
    lang_a: str | None = None,
    lang_b: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    embedder=_AUTO,
    index: DedupIndex | None = None,
    doc_ids: tuple[Hashable, Hashable] | None = None,
    fingerprints: tuple[Fingerprint, Fingerprint] | None = None,
) -> Explanation:
    """Compare two texts and return their score and shared passages.

    Pass ``index`` to weigh n-grams by the index's document frequencies (and so mark
    boilerplate), and ``doc_ids`` when both texts are indexed under those ids, so that the
    score is exactly the one :meth:`DedupIndex.check` reports. Pass the stored
    ``fingerprints`` of the two texts to avoid embedding them again.
    """
    if index is not None:
        settings = index.settings
    if fingerprints is None:
        fingerprints = tuple(fingerprint_many(
            [text_a, text_b], langs=[lang_a, lang_b], settings=settings, embedder=embedder))
    fp_a, fp_b = fingerprints
    scorer = index if index is not None else DedupIndex(settings)
    if index is not None and doc_ids is not None:
        pair = scorer.score(*doc_ids)
    else:
        pair = scorer.score(fp_a, fp_b)
    analysis_a, analysis_b = _analyse(text_a, settings), _analyse(text_b, settings)
    if len(analysis_a.shingles) != len(fp_a.shingles) or len(analysis_b.shingles) != len(
            fp_b.shingles):
        raise ValueError("The fingerprints were not made from these texts")
    weights_a = _weights(scorer, fp_a, index is not None and doc_ids is not None)
    passages = _lexical_passages(analysis_a, analysis_b, weights_a, settings)
    passages += _semantic_passages(analysis_a, analysis_b, fp_a, fp_b, pair, passages, settings)
    passages.sort(key=lambda p: (p.a_start, p.b_start))
    return Explanation(
        score=pair.score,
        methods=pair.methods(settings),
        passages=passages,
        lexical=pair.lexical,
        semantic=pair.semantic,
    )


def _weights(index: DedupIndex, fp: Fingerprint, indexed: bool) -> np.ndarray:
    df = index.document_frequency(fp.shingles) + (0 if indexed else 1)
    return shingle_weights(df, index.settings)


def _runs(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal diagonal runs of equal hashes: (first position in a, length, offset b - a)."""
    positions: dict[int, list[int]] = {}
    for j, h in enumerate(b.tolist()):
        slot = positions.setdefault(h, [])
        if len(slot) < _MAX_POSITIONS:
            slot.append(j)
    active: dict[int, tuple[int, int]] = {}  # offset -> (start in a, last position in a)
    runs = []
    for i, h in enumerate(a.tolist()):
        for j in positions.get(h, ()):
            d = j - i
            start, last = active.get(d, (i, i - 1))
            if last != i - 1:
                runs.append((start, last - start + 1, d))
                start = i
            active[d] = (start, i)
    runs.extend((start, last - start + 1, d) for d, (start, last) in active.items())
    return runs


def _lexical_passages(
    a: _Analysis, b: _Analysis, weights_a: np.ndarray, settings: Settings
) -> list[SharedPassage]:
    k = settings.shingle_size
    runs = sorted(_runs(a.shingles, b.shingles))
    groups: list[list[int]] = []  # [a_first, a_last, b_first, b_last, shared] in shingles
    for start, length, d in runs:
        a0, a1, b0, b1 = start, start + length - 1, start + d, start + d + length - 1
        if groups:
            g = groups[-1]
            if (a0 <= g[1] + MERGE_GAP_WORDS + 1 and g[3] - MERGE_GAP_WORDS <= b0
                    <= g[3] + MERGE_GAP_WORDS + 1):
                g[1], g[3], g[4] = max(g[1], a1), max(g[3], b1), g[4] + length
                continue
        groups.append([a0, a1, b0, b1, length])
    out = []
    n_a, n_b = len(a.tokens), len(b.tokens)
    for a0, a1, b0, b1, shared in groups:
        if shared < MIN_SHARED_SHINGLES:
            continue
        ta1, tb1 = min(a1 + k - 1, n_a - 1), min(b1 + k - 1, n_b - 1)
        span = a1 - a0 + 1
        out.append(SharedPassage(
            a_start=a.tokens[a0].start,
            a_end=a.tokens[ta1].end,
            b_start=b.tokens[b0].start,
            b_end=b.tokens[tb1].end,
            method="lexical",
            similarity=round(min(1.0, shared / span), 4),
            boilerplate=bool(weights_a[a0 : a1 + 1].mean() < BOILERPLATE_WEIGHT),
        ))
    return out


def _semantic_passages(
    a: _Analysis,
    b: _Analysis,
    fp_a: Fingerprint,
    fp_b: Fingerprint,
    pair: PairScore,
    lexical: list[SharedPassage],
    settings: Settings,
) -> list[SharedPassage]:
    if pair.best_b_for_a is None or pair.best_cos_a is None:
        return []
    method = "cross-lingual" if pair.cross_lingual else "semantic"
    strength = _ramp(pair.best_cos_a, calibration(settings, fp_a.lang, fp_b.lang))
    out = []
    for i, chunk in enumerate(a.chunks):
        if strength[i] < 0.5:
            continue
        covered = sum(max(0, min(chunk.char_end, p.a_end) - max(chunk.char_start, p.a_start))
                      for p in lexical)
        if covered >= 0.5 * (chunk.char_end - chunk.char_start):
            continue
        other = b.chunks[int(pair.best_b_for_a[i])]
        out.append(SharedPassage(
            a_start=chunk.char_start,
            a_end=chunk.char_end,
            b_start=other.char_start,
            b_end=other.char_end,
            method=method,
            similarity=round(float(pair.best_cos_a[i]), 4),
        ))
    return out
