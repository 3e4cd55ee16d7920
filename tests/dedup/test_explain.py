import pytest

from center.dedup.explain import explain
from center.dedup.text import sentence_spans
from tests.dedup.conftest import (
    PROGRAMME_ABSTRACTS,
    PROGRAMME_BOILERPLATE,
    TB_EN,
    TB_KO,
    TB_LIGHT_EDIT,
    TB_OTHER,
    TB_RU,
)

COPIED = (
    "Sputum samples from every newly diagnosed patient will be sequenced on portable nanopore "
    "devices, and resistance mutations will be reported to the treating physician within "
    "five days."
)


def test_copied_sentence_is_shown_at_its_place_in_both_texts(embedder):
    a = TB_OTHER + " " + COPIED
    result = explain(a, TB_EN, embedder=embedder)
    lexical = [p for p in result.passages if p.method == "lexical"]
    assert len(lexical) == 1
    passage = lexical[0]
    assert a[passage.a_start : passage.a_end] == TB_EN[passage.b_start : passage.b_end]
    assert a[passage.a_start : passage.a_end] == COPIED.rstrip(".")
    assert passage.a_start == a.index(COPIED)
    assert passage.b_start == TB_EN.index(COPIED)
    assert not passage.boilerplate


def test_light_edits_do_not_split_a_copied_text_into_pieces(embedder):
    result = explain(TB_LIGHT_EDIT, TB_EN, embedder=None)
    assert "lexical" in result.methods
    covered = sum(p.a_end - p.a_start for p in result.passages)
    assert covered > 0.8 * len(TB_LIGHT_EDIT)
    for p in result.passages:
        # Each passage starts and ends on the same words in both texts.
        mine = TB_LIGHT_EDIT[p.a_start : p.a_end].split()
        theirs = TB_EN[p.b_start : p.b_end].split()
        assert mine[:3] == theirs[:3]
        assert mine[-2:] == theirs[-2:]


@pytest.mark.parametrize("translation", [TB_RU, TB_KO])
def test_translation_aligns_each_sentence_with_its_translation(embedder, translation):
    result = explain(TB_EN, translation, embedder=embedder)
    assert result.methods == ["cross-lingual"]
    sentences_en = sentence_spans(TB_EN)
    sentences_tr = sentence_spans(translation)
    assert len(result.passages) >= 4
    for p in result.passages:
        assert p.method == "cross-lingual"
        i = next(k for k, (s, e) in enumerate(sentences_en) if s <= p.a_start < e)
        j = next(k for k, (s, e) in enumerate(sentences_tr) if s <= p.b_start < e)
        assert i == j


def test_unrelated_texts_share_no_passage(embedder):
    result = explain(TB_EN, TB_OTHER, embedder=embedder)
    assert result.passages == []
    assert result.score < 0.2


def test_boilerplate_passages_are_marked_when_the_index_knows_them(dedup_index):
    a = f"{PROGRAMME_ABSTRACTS[0]}\n\n{PROGRAMME_BOILERPLATE}"
    b = f"{PROGRAMME_ABSTRACTS[1]}\n\n{PROGRAMME_BOILERPLATE}"
    result = explain(a, b, index=dedup_index, doc_ids=("prog-0", "prog-1"),
                     fingerprints=(dedup_index.get("prog-0"), dedup_index.get("prog-1")))
    assert result.score == pytest.approx(dedup_index.score("prog-0", "prog-1").score)
    assert result.passages
    assert all(p.boilerplate for p in result.passages if p.method == "lexical")
    assert any(a[p.a_start : p.a_end].startswith("This project is supported") for p in
               result.passages)


def test_fingerprints_of_other_texts_are_refused(fingerprints):
    with pytest.raises(ValueError):
        explain(TB_EN, TB_OTHER, fingerprints=(fingerprints["ws-en"], fingerprints["tb-other"]))
