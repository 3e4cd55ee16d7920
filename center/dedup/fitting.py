"""Fit the calibrated decision (:mod:`center.dedup.decision`) on the labelled sets.

Run ``flask --app wsgi dedup-fit ../shared/datasets`` (or ``python -m
center.dedup.fitting DIR ...``). The steps:

1. Every set is fingerprinted and indexed as in production. Each labelled pair is scored
   by :meth:`DedupIndex.score`, which gives its measures (:data:`decision.FEATURES`). The
   command also notes whether the candidate stages retrieve the pair at all: a pair that
   is not retrieved is never flagged, whatever the model says.
2. The cross-lingual pairs of all sets are pooled, each set weighing the same in total. A
   logistic regression with a light L2 penalty is fitted on the standardised measures
   (scipy's L-BFGS).
3. A pair is flagged when its score reaches ``flag_threshold``, or when it is cross-lingual
   and the model's probability reaches its threshold (see the decision module for why the
   model only adds flags, and only across languages). That threshold is the middle of
   those that come within ``PLATEAU`` of the best mean F1 of the sets on the fitting data,
   retrieval included.
4. **Unseen halves.** Each set's pairs are split into two halves by a hash of the pair's
   first document, so that the pairs of one document stay together. The model is fitted
   on one half of every set and measured on the other half, then the halves swap. These
   out-of-half figures are what the command reports as the quality on unseen text. The
   shipped model is then fitted on all pairs.

The result and the tables go to ``center/dedup/data/decision.json``.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from center.dedup.decision import DECISION_FILE, FEATURES, Decision, save
from center.dedup.engine import (
    _AUTO,
    DEFAULT_SETTINGS,
    DedupIndex,
    Settings,
    _resolve_embedder,
)
from center.dedup.evaluation import (
    _prf,
    _read_documents,
    _read_pairs,
    dataset_dirs,
    fingerprint_set,
)

#: L2 penalty on the standardised weights (each set's pairs weigh 1 in total).
L2 = 1e-3
#: Thresholds tried on the probability ...
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)
#: ... and the one taken is the middle of those within this much of the best mean F1, not
#: the edge of the best plateau, where a small shift of unseen scores costs most.
PLATEAU = 0.005


@dataclass
class Pairs:
    """The labelled pairs of every set, with their measures."""

    sets: list[str]
    set_of: np.ndarray  # index into ``sets``, per pair
    anchor: list[str]  # the pair's first document (for the halves)
    features: np.ndarray  # pairs x FEATURES
    labels: np.ndarray  # bool
    retrieved: np.ndarray  # bool
    #: bool: the model decides the pair at all (two languages, vectors on both sides).
    in_scope: np.ndarray


def measure(directories: Sequence[Path], settings: Settings, *, cache: Path | None = None,
            embedder=_AUTO, progress=print) -> Pairs:
    """Score every labelled pair of every set (step 1)."""
    settings = replace(settings, decision=None)
    embedder = _resolve_embedder(embedder, settings)
    sets, set_of, anchor, rows, labels, retrieved, scope = [], [], [], [], [], [], []
    for directory in directories:
        docs = _read_documents(directory / "documents.jsonl")
        fps = fingerprint_set(directory, docs, settings, embedder, cache)
        index = DedupIndex.from_fingerprints(zip((d["id"] for d in docs), fps, strict=True),
                                             settings)
        found: dict[str, set] = {}

        def candidates_of(doc_id: str, index=index, found=found) -> set:
            if doc_id not in found:
                found[doc_id] = set(index.candidates(index.get(doc_id), exclude={doc_id}))
            return found[doc_id]

        sets.append(directory.name)
        for a, b, label in _read_pairs(directory / "pairs.csv"):
            pair = index.score(a, b)
            rows.append([pair_measure(pair, name) for name in FEATURES])
            set_of.append(len(sets) - 1)
            anchor.append(min(a, b))
            labels.append(bool(label))
            retrieved.append(b in candidates_of(a) or a in candidates_of(b))
            scope.append(pair.cross_lingual and pair.cosine is not None)
        progress(f"{directory.name}: {sum(1 for s in set_of if s == len(sets) - 1)} pairs measured")
    return Pairs(sets, np.array(set_of), anchor, np.array(rows, dtype=np.float64),
                 np.array(labels), np.array(retrieved), np.array(scope))


def pair_measure(pair, name: str) -> float:
    """One of the model's measures of a :class:`PairScore`."""
    if name == "cosine":
        return pair.cosine or 0.0
    return float(getattr(pair, name))


def _set_weights(pairs: Pairs, rows: np.ndarray) -> np.ndarray:
    weights = np.zeros(len(rows))
    for k in range(len(pairs.sets)):
        mask = pairs.set_of[rows] == k
        if mask.any():
            weights[mask] = 1.0 / mask.sum()
    return weights / weights.sum()


def fit(pairs: Pairs, rows: np.ndarray, settings: Settings = DEFAULT_SETTINGS,
        l2: float = L2) -> Decision:
    """Fit the model on the pairs of ``rows`` it decides (steps 2 and 3)."""
    every = rows
    rows = rows[pairs.in_scope[rows]]
    x = pairs.features[rows]
    y = pairs.labels[rows].astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w = _set_weights(pairs, rows)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logit = z @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-logit))
        value = float(w @ (np.logaddexp(0.0, logit) - y * logit))
        value += 0.5 * l2 * float(theta[:-1] @ theta[:-1])
        residual = w * (p - y)
        return value, np.append(z.T @ residual + l2 * theta[:-1], residual.sum())

    result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    model = Decision(FEATURES, tuple(mean.tolist()), tuple(scale.tolist()),
                     tuple(result.x[:-1].tolist()), float(result.x[-1]), threshold=0.5)
    in_scope = pairs.in_scope[every]
    probability = np.zeros(len(every))
    probability[in_scope] = predict(model, pairs, rows)
    by_score = pairs.features[every, FEATURES.index("score")] >= settings.flag_threshold
    f1 = np.array([mean_f1(pairs, every, by_score | ((probability >= t) & in_scope))
                   for t in THRESHOLDS])
    plateau = THRESHOLDS[f1 >= f1.max() - PLATEAU]
    return replace(model, threshold=float(np.median(plateau)))


def predict(model: Decision, pairs: Pairs, rows: np.ndarray) -> np.ndarray:
    return np.array([model.probability(dict(zip(FEATURES, pairs.features[i], strict=True)))
                     for i in rows])


def mean_f1(pairs: Pairs, rows: np.ndarray, flagged: np.ndarray) -> float:
    flagged = flagged & pairs.retrieved[rows]
    scores = [_prf(pairs.labels[rows][m], flagged[m])[2]
              for k in range(len(pairs.sets)) if (m := pairs.set_of[rows] == k).any()]
    return float(np.mean(scores))


def decide(model: Decision | None, pairs: Pairs, rows: np.ndarray,
           settings: Settings) -> np.ndarray:
    """What production flags among ``rows``: a score at the threshold, or the model's
    probability at its threshold for a pair it decides; nothing retrieval misses."""
    flagged = pairs.features[rows, FEATURES.index("score")] >= settings.flag_threshold
    if model is not None:
        flagged |= (predict(model, pairs, rows) >= model.threshold) & pairs.in_scope[rows]
    return flagged & pairs.retrieved[rows]


def halves(pairs: Pairs) -> np.ndarray:
    """0 or 1 for each pair, by a hash of its first document."""
    return np.array([zlib.crc32(a.encode("utf-8")) % 2 for a in pairs.anchor])


def table(pairs: Pairs, flagged: np.ndarray, rows: np.ndarray) -> list[dict]:
    out = []
    for k, name in enumerate(pairs.sets):
        m = pairs.set_of[rows] == k
        precision, recall, f1 = _prf(pairs.labels[rows][m], flagged[m])
        out.append({"set": name, "pairs": int(m.sum()),
                    "positive": int(pairs.labels[rows][m].sum()),
                    "precision": round(precision, 3), "recall": round(recall, 3),
                    "f1": round(f1, 3)})
    return out


def format_table(title: str, rows: list[dict]) -> str:
    lines = [title, f"{'set':28} {'pairs(+)':>10} {'P':>6} {'R':>6} {'F1':>6}"]
    for r in rows:
        lines.append(f"{r['set']:28} {str(r['pairs']) + '(' + str(r['positive']) + ')':>10} "
                     f"{r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f}")
    return "\n".join(lines)


def run(directories: Sequence[Path], settings: Settings = DEFAULT_SETTINGS, *,
        cache: Path | None = None, out: Path | None = DECISION_FILE,
        command: str = "", progress=print) -> tuple[Decision, str]:
    """Measure, fit on halves and report, fit on everything and save (the whole command)."""
    pairs = measure(directories, settings, cache=cache, progress=progress)
    everything = np.arange(len(pairs.labels))
    half = halves(pairs)
    unseen = np.zeros(len(everything), dtype=bool)
    for h in (0, 1):
        model = fit(pairs, everything[half != h], settings)
        test = everything[half == h]
        unseen[test] = decide(model, pairs, test, settings)
    model = fit(pairs, everything, settings)
    reports = {
        "unseen halves (fitted on the other half of every set)":
            table(pairs, unseen, everything),
        "all pairs, the shipped model": table(pairs, decide(model, pairs, everything, settings),
                                              everything),
        f"all pairs, score >= {settings.flag_threshold} (no model)":
            table(pairs, decide(None, pairs, everything, settings), everything),
    }
    if out is not None:
        save(model, out, command=command,
             report=[{"table": title, "rows": rows} for title, rows in reports.items()])
    text = "\n\n".join(format_table(title, rows) for title, rows in reports.items())
    text += "\n\nweights (standardised): " + ", ".join(
        f"{name} {weight:+.2f}" for name, weight in zip(model.features, model.weights,
                                                        strict=True))
    text += f"\nthreshold on the probability: {model.threshold:.2f}"
    return model, text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep and reuse the sets' fingerprints in this directory")
    parser.add_argument("--out", type=Path, default=DECISION_FILE,
                        help="where to write the decision (default: the shipped one)")
    args = parser.parse_args(argv)
    dirs = dataset_dirs(args.paths)
    if not dirs:
        print("no documents.jsonl found", file=sys.stderr)
        return 2
    _model, text = run(dirs, cache=args.cache, out=args.out,
                       command="python -m center.dedup.fitting " + " ".join(
                           str(p) for p in args.paths))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
