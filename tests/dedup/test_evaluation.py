import csv
import json

import pytest

from center.dedup.engine import Settings
from center.dedup.evaluation import dataset_dirs, evaluate, format_report, main
from tests.dedup.conftest import (
    TB_EN,
    TB_LIGHT_EDIT,
    TB_OTHER,
    WATERSHED_EN,
    WATERSHED_OTHER,
    WATERSHED_REUSE,
    datasets_dir,
)

LEXICAL = Settings(use_embeddings=False)


@pytest.fixture()
def small_set(tmp_path):
    tmp_path = tmp_path / "sets" / "small"
    tmp_path.mkdir(parents=True)
    docs = {"a": TB_EN, "b": TB_LIGHT_EDIT, "c": TB_OTHER, "d": WATERSHED_EN,
            "e": WATERSHED_REUSE, "f": WATERSHED_OTHER}
    with (tmp_path / "documents.jsonl").open("w") as fh:
        for doc_id, text in docs.items():
            # `category` is there to break results down; the detector must not read it.
            fh.write(json.dumps({"id": doc_id, "title": "", "text": text, "lang": "en",
                                 "category": "x"}) + "\n")
    with (tmp_path / "pairs.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_a", "id_b", "label"])
        writer.writerows([("a", "b", 1), ("d", "e", 1), ("a", "c", 0), ("d", "f", 0),
                          ("c", "f", 0)])
    return tmp_path


def test_evaluation_reports_precision_recall_and_latency(small_set):
    report = evaluate(small_set, LEXICAL, timing_sample=5)
    assert (report.n_documents, report.n_pairs, report.n_positive) == (6, 5, 2)
    assert report.precision == report.recall == report.f1 == 1.0
    assert report.best_f1 == 1.0
    assert report.retrieval_recall == 1.0
    assert report.n_timed == 5
    assert report.check_p95_ms >= report.check_p50_ms > 0
    assert not report.embeddings


def test_report_is_a_readable_table(small_set):
    text = format_report([evaluate(small_set, LEXICAL, timing_sample=2)])
    header, rule, row = text.splitlines()[:3]
    assert header.split()[:4] == ["set", "docs", "pairs(+)", "emb"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.startswith(small_set.name)


def test_command_line_runs_on_a_folder_of_sets(small_set, capsys):
    assert dataset_dirs([small_set.parent]) == [small_set]
    assert main([str(small_set), "--no-embeddings"]) == 0
    assert "1.000" in capsys.readouterr().out


@pytest.mark.skipif(not (datasets_dir() / "nsf-collaborative").exists(),
                    reason="shared datasets not present")
def test_collaborative_awards_are_found_lexically_without_false_alarms():
    report = evaluate(datasets_dir() / "nsf-collaborative", LEXICAL, timing_sample=20)
    assert report.recall == 1.0
    assert report.precision >= 0.95
