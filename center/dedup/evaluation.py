"""Measure the detector on a labelled set: ``documents.jsonl`` plus ``pairs.csv``.

Every document is fingerprinted and indexed exactly as in production; each labelled pair is
scored through :meth:`DedupIndex.check` (the production path, retrieval included: a pair
whose partner is not retrieved scores 0). Only ``id``, ``text`` and ``lang`` of a document
are read; other fields (``title``, ``category``, ...) are ignored on purpose.

Run ``python -m center.dedup.evaluation DIR [DIR ...]``; a DIR holding several sets is
expanded to its sub-directories.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from center.dedup.engine import (
    _AUTO,
    DEFAULT_SETTINGS,
    DedupIndex,
    Fingerprint,
    Settings,
    _resolve_embedder,
    fingerprint_many,
)


@dataclass(frozen=True)
class EvalReport:
    """Quality and speed of the detector on one labelled set."""

    name: str
    n_documents: int
    n_pairs: int
    n_positive: int
    embeddings: bool
    #: What flags a pair: ``calibrated`` (the fitted decision) or the score threshold.
    rule: str
    precision: float
    recall: float
    f1: float
    best_threshold: float
    best_f1: float
    #: Share of positive pairs whose partner the candidate stages retrieved at all.
    retrieval_recall: float
    fingerprint_seconds: float
    index_seconds: float
    check_p50_ms: float
    check_p95_ms: float
    n_timed: int
    #: Among true positives flagged at the threshold, how many each method carried.
    methods: dict[str, int]


def _read_documents(path: Path) -> list[dict]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                docs.append({"id": str(row["id"]), "text": row.get("text") or "",
                             "lang": row.get("lang") or None})
    return docs


def _read_pairs(path: Path) -> list[tuple[str, str, int]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["id_a"], r["id_b"], int(r["label"])) for r in csv.DictReader(fh)]


def fingerprint_set(directory: Path, docs: list[dict], settings: Settings, embedder,
                    cache: Path | None = None) -> list[Fingerprint]:
    """Fingerprint a set's documents, or read them from ``cache`` when it holds this set's
    fingerprints made with the same settings and model (embedding the 12,000 sentences of
    the two STS sets takes about eight minutes on two cores)."""
    texts = [d["text"] for d in docs]
    langs = [d["lang"] for d in docs]
    if cache is None:
        return fingerprint_many(texts, langs=langs, settings=settings, embedder=embedder)
    key = hashlib.sha256(json.dumps({
        "docs": [[d["id"], d["text"], d["lang"]] for d in docs],
        "shingle_size": settings.shingle_size, "num_perm": settings.num_perm,
        "chunks": [settings.chunk_min_words, settings.chunk_max_words],
        "model": embedder.name if embedder is not None else "",
    }).encode("utf-8")).hexdigest()[:16]
    path = Path(cache) / f"{directory.name}-{key}.fingerprints"
    if path.exists():
        blob = memoryview(path.read_bytes())
        out, offset = [], 0
        while offset < len(blob):
            (size,) = struct.unpack_from("<I", blob, offset)
            out.append(Fingerprint.from_bytes(bytes(blob[offset + 4 : offset + 4 + size])))
            offset += 4 + size
        if len(out) == len(docs):
            return out
    fps = fingerprint_many(texts, langs=langs, settings=settings, embedder=embedder)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as fh:
        for fp in fps:
            data = fp.to_bytes()
            fh.write(struct.pack("<I", len(data)) + data)
    partial.replace(path)
    return fps


def _prf(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    tp = int((predicted & labels).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(labels.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _best_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    best_t, best_f = 1.0, 0.0
    for t in np.unique(scores[scores > 0]):
        f = _prf(labels, scores >= t)[2]
        if f > best_f:
            best_t, best_f = float(t), f
    return best_t, best_f


def evaluate(
    directory: Path,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    embedder=_AUTO,
    timing_sample: int = 200,
    cache: Path | None = None,
) -> EvalReport:
    """Index every document of the set, score every labelled pair, time ``check``.

    With ``cache``, the set's fingerprints are kept there and reused (see
    :func:`fingerprint_set`); "fp s" is then the time to read them."""
    directory = Path(directory)
    embedder = _resolve_embedder(embedder, settings)
    if embedder is None:
        settings = replace(settings, use_embeddings=False)
    docs = _read_documents(directory / "documents.jsonl")
    pairs = _read_pairs(directory / "pairs.csv")

    started = time.perf_counter()
    fps = fingerprint_set(directory, docs, settings, embedder, cache)
    fingerprint_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index = DedupIndex.from_fingerprints(zip((d["id"] for d in docs), fps, strict=False), settings)
    index_seconds = time.perf_counter() - started

    checked: dict[str, dict] = {}

    def matches_of(doc_id: str) -> dict:
        if doc_id not in checked:
            checked[doc_id] = {m.other_id: m for m in index.check(doc_id, min_score=0.0)}
        return checked[doc_id]

    labels, scores, retrieved, methods, decided = [], [], [], [], []
    for a, b, label in pairs:
        match = matches_of(a).get(b) or matches_of(b).get(a)
        labels.append(label)
        scores.append(match.score if match else 0.0)
        retrieved.append(match is not None)
        methods.append(match.method if match else "")
        decided.append(bool(match and match.flagged))
    y = np.array(labels, dtype=bool)
    s = np.array(scores, dtype=np.float64)
    flagged = np.array(decided, dtype=bool)
    precision, recall, f1 = _prf(y, flagged)
    best_t, best_f = _best_threshold(y, s)
    method_counts: dict[str, int] = {}
    for is_tp, method in zip(flagged & y, methods, strict=False):
        if is_tp:
            method_counts[method] = method_counts.get(method, 0) + 1

    ids = sorted(d["id"] for d in docs)
    step = max(1, len(ids) // max(timing_sample, 1))
    sample = ids[::step][:timing_sample]
    timings = []
    for doc_id in sample:
        t0 = time.perf_counter()
        index.check(doc_id)
        timings.append((time.perf_counter() - t0) * 1000)

    return EvalReport(
        name=directory.name,
        n_documents=len(docs),
        n_pairs=len(pairs),
        n_positive=int(y.sum()),
        embeddings=embedder is not None,
        rule="calibrated" if settings.decision is not None else f"{settings.flag_threshold:.2f}",
        precision=precision,
        recall=recall,
        f1=f1,
        best_threshold=best_t,
        best_f1=best_f,
        retrieval_recall=float(np.array(retrieved)[y].mean()) if y.any() else 1.0,
        fingerprint_seconds=fingerprint_seconds,
        index_seconds=index_seconds,
        check_p50_ms=float(np.percentile(timings, 50)) if timings else 0.0,
        check_p95_ms=float(np.percentile(timings, 95)) if timings else 0.0,
        n_timed=len(timings),
        methods=method_counts,
    )


def format_report(reports: EvalReport | Sequence[EvalReport]) -> str:
    """Render one or more reports as a plain-text table."""
    if isinstance(reports, EvalReport):
        reports = [reports]
    header = ("set", "docs", "pairs(+)", "emb", "rule", "P", "R", "F1", "best thr", "best F1",
              "retr R", "fp s", "p50 ms", "p95 ms")
    rows = [header]
    for r in reports:
        rows.append((
            r.name, str(r.n_documents), f"{r.n_pairs}({r.n_positive})",
            "yes" if r.embeddings else "no", r.rule, f"{r.precision:.3f}",
            f"{r.recall:.3f}", f"{r.f1:.3f}", f"{r.best_threshold:.3f}", f"{r.best_f1:.3f}",
            f"{r.retrieval_recall:.3f}", f"{r.fingerprint_seconds:.1f}",
            f"{r.check_p50_ms:.1f}", f"{r.check_p95_ms:.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]  # noqa: B905
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{r.name}: true positives by method {r.methods}" for r in reports if r.methods]
    return "\n".join(lines + [""] + notes)


def dataset_dirs(paths: Sequence[Path]) -> list[Path]:
    """Expand each path to itself if it is a set, else to its sub-directories that are."""
    out = []
    for path in paths:
        if (path / "documents.jsonl").exists():
            out.append(path)
        else:
            out.extend(sorted(p for p in path.iterdir() if (p / "documents.jsonl").exists()))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--no-embeddings", action="store_true", help="lexical stage only")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep and reuse the sets' fingerprints in this directory")
    parser.add_argument("--threshold", type=float, default=None,
                        help="flag by this score threshold instead of the calibrated decision")
    args = parser.parse_args(argv)
    settings = DEFAULT_SETTINGS
    if args.no_embeddings:
        settings = replace(settings, use_embeddings=False)
    if args.threshold is not None:
        settings = replace(settings, flag_threshold=args.threshold, decision=None)
    dirs = dataset_dirs(args.paths)
    if not dirs:
        print("no documents.jsonl found", file=sys.stderr)
        return 2
    reports = []
    for path in dirs:
        reports.append(evaluate(path, settings, cache=args.cache))
        print(format_report(reports[-1]).splitlines()[2], flush=True)
    print()
    print(format_report(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
