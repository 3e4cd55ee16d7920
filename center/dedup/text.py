"""Text handling for duplicate detection: words, shingles, sentences, chunks, language.

Everything here is pure and deterministic: the same text gives the same tokens, hashes and
chunks in every process, so fingerprints computed by one worker can be compared with those
of another (Python's own ``hash`` is salted per process and must never be used here).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
# A sentence ends at ., !, ?, … or the CJK full stops, followed by space (or the end), or at
# a blank line. Korean uses the Latin full stop, Russian the same marks as English.
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'»”)\]]*\s+|\n\s*\n")
# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    ["e.g", "i.e", "al", "etc", "vs", "cf", "fig", "figs", "dr", "mr", "mrs", "ms", "prof", "no", "nos", "approx", "ca", "resp", "dept", "univ", "inc", "ltd", "jr", "sr", "st", "vol", "pp", "ed", "eds", "est", "incl", "т.е", "т.д", "т.п", "др", "см", "рис", "г", "гг", "им", "проф"]
)
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its normalized form and where it sits in the original text."""

    norm: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage (one or a few sentences) given as a token range and a character span."""

    token_start: int
    token_end: int
    char_start: int
    char_end: int

    @property
    def n_tokens(self) -> int:
        return self.token_end - self.token_start


def normalize_word(word: str) -> str:
    """Return the comparison form of a word: NFKC, case-folded, Cyrillic ё folded to е."""
    return unicodedata.normalize("NFKC", word).casefold().replace("ё", "е")


def tokenize(text: str) -> list[Token]:
    """Split text into words (letters, digits, underscore runs) with character offsets."""
    return [Token(normalize_word(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


@lru_cache(maxsize=200_000)
def word_hash(word: str) -> int:
    """Return a stable 64-bit hash of a normalized word."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def mix64(x: np.ndarray) -> np.ndarray:
    """Apply the splitmix64 finalizer so that combined hashes spread over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_ODD_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
    0x2545F4914F6CDD1D,
    0x61C8864680B583EB,
)


def shingle_hashes(tokens: list[Token], size: int) -> np.ndarray:
    """Return one 64-bit hash per word n-gram, in text order (position i = n-gram at word i).

    A text shorter than ``size`` words gives a single shingle made of all its words, so a
    very short text still has a fingerprint.
    """
    if size < 1 or size > len(_ODD_MULTIPLIERS):
        raise ValueError(f"Shingle size must be 1..{len(_ODD_MULTIPLIERS)}, got {size}")
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    words = np.fromiter((word_hash(t.norm) for t in tokens), dtype=np.uint64, count=len(tokens))
    span = min(size, len(words))
    count = len(words) - span + 1
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(span):
            acc = acc + words[offset : offset + count] * np.uint64(_ODD_MULTIPLIERS[offset])
        return mix64(acc)


def _ends_with_abbreviation(text: str, end: int) -> bool:
    """Tell whether the full stop just before ``end`` closes an abbreviation or an initial."""
    head = text[max(0, end - 12) : end].rstrip()
    if not head.endswith("."):
        return False
    words = head[:-1].split()
    if not words:
        return False
    word = words[-1].lstrip("([\"'«“").casefold()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return the character spans of the sentences of a text, blank-only spans dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if "\n" not in m.group() and _ends_with_abbreviation(text, m.start()):
            continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def chunk_text(
    text: str, tokens: list[Token], *, min_words: int = 8, max_words: int = 60
) -> list[Chunk]:
    """Group a text's words into passages of about one sentence.

    Sentences shorter than ``min_words`` are joined to the next one (headings, fragments);
    sentences longer than ``max_words`` are cut into even windows, so every passage fits the
    embedding model's window and says roughly one thing.
    """
    if not tokens:
        return []
    starts = np.fromiter((t.start for t in tokens), dtype=np.int64, count=len(tokens))
    ranges: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        lo = int(np.searchsorted(starts, a, side="left"))
        hi = int(np.searchsorted(starts, b, side="left"))
        if hi > lo:
            ranges.append((lo, hi))
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and merged[-1][1] - merged[-1][0] < min_words:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < min_words:
        tail = merged.pop()
        merged[-1][1] = tail[1]
    chunks: list[Chunk] = []
    for lo, hi in merged:
        n = hi - lo
        pieces = max(1, -(-n // max_words))
        bounds = [lo + round(i * n / pieces) for i in range(pieces + 1)]
        for p_lo, p_hi in zip(bounds, bounds[1:], strict=False):
            # Keep the closing punctuation: it is part of the sentence the model reads.
            end = tokens[p_hi].start if p_hi < len(tokens) else len(text)
            end = max(tokens[p_hi - 1].end, len(text[:end].rstrip()))
            chunks.append(Chunk(p_lo, p_hi, tokens[p_lo].start, end))
    return chunks


def detect_language(text: str) -> str:
    """Guess the language from the script: ``ko`` (Hangul), ``ru`` (Cyrillic), else ``en``.

    The portal's languages are English, Russian and Korean; what matters for matching is
    only whether two texts are in the same script, so a script test is enough.
    """
    hangul = cyrillic = latin = 0
    for ch in text[:5000]:
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            hangul += 1
        elif 0x0400 <= o <= 0x04FF:
            cyrillic += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    # A Hangul syllable carries two or three letters' worth of text.
    if hangul * 2 >= max(cyrillic, latin) and hangul:
        return "ko"
    if cyrillic >= latin and cyrillic:
        return "ru"
    return "en"
