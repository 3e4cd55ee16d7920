import numpy as np
import pytest

from center.dedup.text import (
    chunk_text,
    detect_language,
    sentence_spans,
    shingle_hashes,
    tokenize,
    word_hash,
)


def test_tokens_keep_their_offsets_in_the_original_text():
    text = "Туберкулёз (TB) in Ёлки-Палки, 2024."
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == ["туберкулез", "tb", "in", "елки", "палки", "2024"]
    assert all(text[t.start : t.end].casefold().replace("ё", "е") == t.norm for t in tokens)


def test_word_and_shingle_hashes_are_fixed_values():
    # Fingerprints are stored in the database and compared by other workers and later
    # releases: a hash must never depend on the process (Python's hash() is salted) nor
    # change silently. Changing these values means re-fingerprinting every document.
    assert word_hash("tuberculosis") == 0x1A1ED7C70F0B3D83
    assert shingle_hashes(tokenize("Drug-resistant TUBERCULOSIS"), 3).tolist() == [
        3295219076978417411
    ]


def test_shingles_are_one_per_word_position_and_short_texts_get_one():
    assert len(shingle_hashes(tokenize("one two three four five"), 3)) == 3
    assert len(shingle_hashes(tokenize("two words"), 3)) == 1
    assert len(shingle_hashes(tokenize(""), 3)) == 0
    with pytest.raises(ValueError):
        shingle_hashes(tokenize("a b"), 0)


def test_sentences_do_not_break_after_abbreviations():
    text = "Samples, e.g. sputum, are sent to Dr. Aliyeva. Results follow!  Next one?\n\nHeading"
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == [
        "Samples, e.g. sputum, are sent to Dr. Aliyeva.",
        "Results follow!",
        "Next one?",
        "Heading",
    ]


def test_chunks_join_short_sentences_and_cut_long_ones():
    text = "Short one. " + " ".join(f"word{i}" for i in range(130)) + ". Tail sentence here."
    tokens = tokenize(text)
    chunks = chunk_text(text, tokens, min_words=8, max_words=60)
    sizes = [c.n_tokens for c in chunks]
    assert sum(sizes) == len(tokens)
    assert max(sizes) <= 60
    assert all(s >= 8 for s in sizes)
    assert text[chunks[0].char_start :].startswith("Short one.")
    assert text[: chunks[-1].char_end].endswith("Tail sentence here.")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Watershed restoration in the Naryn basin.", "en"),
        ("Восстановление водосборов в бассейне Нарына.", "ru"),
        ("나린강 유역의 유역 복원 사업.", "ko"),
        ("", "en"),
    ],
)
def test_language_is_told_by_script(text, lang):
    assert detect_language(text) == lang


def test_shingle_hashes_are_uint64():
    hashes = shingle_hashes(tokenize("alpha beta gamma delta"), 3)
    assert hashes.dtype == np.uint64
    assert len(set(hashes.tolist())) == 2
