"""The calibrated decision: the shipped model, where it applies, and the fitting command."""

import csv
import json
from dataclasses import replace

import pytest

from center.dedup import decision, fitting
from center.dedup.engine import DedupIndex, Settings
from center.dedup.evaluation import evaluate
from tests.dedup.conftest import CORPUS


def test_the_shipped_decision_loads_with_its_figures_on_unseen_halves():
    shipped = decision.load()
    assert shipped.features == decision.FEATURES
    assert 0.0 < shipped.threshold < 1.0
    assert any(w != 0.0 for w in shipped.weights)
    stored = json.loads(decision.DECISION_FILE.read_text(encoding="utf-8"))
    tables = {t["table"]: t["rows"] for t in stored["measured"]}
    unseen = next(rows for title, rows in tables.items() if title.startswith("unseen halves"))
    assert {r["set"] for r in unseen} >= {"sts-en-ru", "sts-en-ko"}
    assert stored["command"].startswith(("flask --app wsgi dedup-fit",
                                         "python -m center.dedup.fitting"))


def test_a_closer_translation_is_more_probably_the_same_work():
    shipped = decision.load()
    loose = {"score": 0.3, "semantic": 0.3, "cosine": 0.86, "passage_cosine": 0.85,
             "length": decision.length_feature(15)}
    close = {**loose, "cosine": 0.95, "passage_cosine": 0.94}
    assert shipped.probability(close) > shipped.probability(loose)


def test_a_decision_that_does_not_match_the_code_is_refused(tmp_path):
    data = decision.load().to_dict()
    path = tmp_path / "decision.json"
    for broken in ({**data, "features": [*data["features"][:-1], "colour"]},
                   {**data, "weights": data["weights"][:-1]},
                   {**data, "scale": [0.0] * len(data["scale"])}):
        path.write_text(json.dumps({"decision": broken}))
        with pytest.raises(ValueError):
            decision.load(path)


def _with(bias: float) -> Settings:
    """Settings whose model says the same whatever the measures: always yes or always no."""
    model = decision.load()
    return Settings(decision=replace(model, weights=(0.0,) * len(model.weights), bias=bias))


@pytest.mark.parametrize("bias", [-50.0, 50.0])
def test_the_model_adds_flags_across_languages_only_and_never_withdraws_one(
        fingerprints, bias):
    index = DedupIndex.from_fingerprints(fingerprints.items(), _with(bias))
    # A light edit in one language: flagged by its score, whatever the model says.
    assert index.score("tb-en", "tb-edit").flagged
    # The next phase in one language: left to the score, even by a model saying yes.
    assert not index.score("tb-en", "tb-phase2").flagged
    assert index.score("tb-en", "tb-phase2").probability is None
    # Another subject in Russian: the model decides what the score does not flag.
    other = index.score("tb-other", "tb-ru")
    assert other.score < 0.5 and other.probability is not None
    assert other.flagged is (bias > 0)
    # A faithful translation: its score flags it, even when the model says no.
    assert index.score("tb-en", "tb-ru").flagged


def test_without_vectors_every_pair_is_decided_by_its_score(lexical_fingerprints):
    index = DedupIndex.from_fingerprints(lexical_fingerprints.items(),
                                         replace(_with(50.0), use_embeddings=False))
    pair = index.score("tb-other", "tb-ru")
    assert pair.probability is None and not pair.flagged


@pytest.fixture()
def translated_set(tmp_path):
    folder = tmp_path / "sets" / "translated"
    folder.mkdir(parents=True)
    docs = {k: CORPUS[k] for k in ("tb-en", "tb-ru", "tb-ko", "tb-other", "tb-phase2",
                                   "ws-en", "ws-ru", "ws-other")}
    with (folder / "documents.jsonl").open("w") as fh:
        for doc_id, text in docs.items():
            fh.write(json.dumps({"id": doc_id, "text": text, "lang": None}) + "\n")
    with (folder / "pairs.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_a", "id_b", "label"])
        writer.writerows([("tb-en", "tb-ru", 1), ("tb-en", "tb-ko", 1), ("ws-en", "ws-ru", 1),
                          ("tb-other", "tb-ru", 0), ("ws-other", "ws-ru", 0),
                          ("tb-phase2", "tb-ko", 0), ("tb-en", "tb-phase2", 0)])
    return folder


def test_the_fitting_command_writes_a_decision_that_production_reads(
        app, translated_set, tmp_path):
    out = tmp_path / "decision.json"
    with app.app_context():  # as `flask` itself provides
        result = app.test_cli_runner().invoke(args=[
            "dedup-fit", str(translated_set), "--cache", str(tmp_path / "cache"),
            "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "unseen halves" in result.output and "threshold on the probability" in result.output
    fitted = decision.load(out)
    assert fitted.features == decision.FEATURES
    # The cache holds the set's fingerprints: a second run reads them instead of embedding.
    assert list((tmp_path / "cache").glob("translated-*.fingerprints"))
    report = evaluate(translated_set, Settings(decision=fitted), cache=tmp_path / "cache")
    assert report.rule == "calibrated"
    assert report.recall == 1.0


def test_unseen_halves_keep_the_pairs_of_one_document_together(translated_set, tmp_path):
    pairs = fitting.measure([translated_set], Settings(), cache=tmp_path / "cache",
                            progress=lambda _line: None)
    halves = fitting.halves(pairs)
    by_anchor = {}
    for anchor, half in zip(pairs.anchor, halves, strict=True):
        by_anchor.setdefault(anchor, set()).add(int(half))
    assert all(len(h) == 1 for h in by_anchor.values())
    # Only the pairs in two languages are the model's to decide.
    assert pairs.in_scope.tolist() == [True, True, True, True, True, True, False]
