"""Whether a pair in two languages is the same work: a calibrated decision.

The re-ranker measures a pair in several ways (:class:`center.dedup.engine.PairScore`).
Within one language, its boilerplate-weighted coverage with one threshold
(``Settings.flag_threshold``) tells copies and re-wordings from a team's next phase and
from proposals that share a programme's standard paragraphs. Between two languages there
are no shared words and no boilerplate weights, only the e5 vectors. There a fixed cosine
ramp is too strict for loose translations and too loose for sentences on the same words.
A logistic model, fitted on labelled translations, weighs the measures together:

- ``score`` and ``semantic``: the coverage shares the engine computes (the smaller text's
  content found in the other);
- ``cosine``: the cosine of the two whole texts' vectors;
- ``passage_cosine``: each passage's best counterpart's cosine, averaged on each side,
  the smaller of the two sides;
- ``length``: the smaller text's length in n-grams (about its words), on a log scale
  (1 at 1,000).

The weights live in ``data/decision.json``. They are fitted by ``flask --app wsgi
dedup-fit`` (:mod:`center.dedup.fitting`), which measures every development set and fits on
the cross-lingual pairs of all of them at once, each set weighing the same.

A pair is flagged when its score reaches the threshold (the rule for every pair) or, for
a cross-lingual pair with vectors on both sides, when the model's probability reaches its
threshold. The model only adds flags: no development set holds a long text in
translation, so it must not withdraw the rule's flag on a proposal submitted again in
Russian.

Why not within one language too: fitted on the same-language pairs as well, the model
found 4 more of the 32 re-worded short answers. It also flagged what the rule rightly
leaves alone: abstracts that share only a programme's paragraphs, and a project's next
phase (``tests/dedup/test_index.py``). No development set holds those cases in a small
archive, so the fitted weights could not learn them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

#: The measures the model reads, in the order of its weights.
FEATURES = ("score", "semantic", "cosine", "passage_cosine", "length")

DECISION_FILE = Path(__file__).with_name("data") / "decision.json"


def length_feature(words: int) -> float:
    """A text's length on the model's scale: log(1 + words) / log(1 + 1000)."""
    return math.log1p(max(words, 0)) / math.log1p(1000)


@dataclass(frozen=True)
class Decision:
    """A fitted logistic model over :data:`FEATURES` and the probability that flags."""

    features: tuple[str, ...]
    #: Standardisation of each feature (its mean and spread in the fitting data).
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    #: Probability from which a pair is flagged.
    threshold: float

    def probability(self, values: Mapping[str, float]) -> float:
        """The model's probability that a pair with these measures is the same work."""
        z = self.bias
        for name, mean, scale, weight in zip(self.features, self.mean, self.scale,
                                             self.weights, strict=True):
            z += weight * (float(values[name]) - mean) / scale
        if z < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Decision:
        features = tuple(data["features"])
        unknown = sorted(set(features) - set(FEATURES))
        if unknown:
            raise ValueError(f"Unknown features in the decision: {unknown}")
        columns = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
        if any(len(c) != len(features) for c in columns):
            raise ValueError("The decision's weights do not match its features")
        if any(s <= 0 for s in columns[1]):
            raise ValueError("The decision's feature scales must be positive")
        return cls(features, *columns, bias=float(data["bias"]),
                   threshold=float(data["threshold"]))


def load(path: Path = DECISION_FILE) -> Decision:
    """Read the decision (the ``decision`` key of the file the fitting command writes)."""
    return Decision.from_dict(json.loads(path.read_text(encoding="utf-8"))["decision"])


def save(decision: Decision, path: Path, *, report: Sequence[Mapping] = (),
         command: str = "") -> None:
    """Write the decision with how it was fitted and what it measured."""
    payload = {"decision": decision.to_dict(), "command": command, "measured": list(report)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
