"""ORCID iDs and ROR ids: accepted as people copy them, refused when a character slipped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from center.core import identifiers
from center.core.identifiers import InvalidIdentifier, parse_orcid, parse_ror


@pytest.mark.parametrize("typed", [
    "0000-0002-1825-0097", "0000000218250097", "https://orcid.org/0000-0002-1825-0097",
    "orcid.org/0000-0002-1825-0097/", " 0000 0002 1825 0097 ",
    "HTTP://ORCID.ORG/0000-0002-1825-0097",
])
def test_an_orcid_id_is_read_in_the_forms_people_copy(ctx, typed: str) -> None:
    assert parse_orcid(typed) == "0000-0002-1825-0097"


def test_an_orcid_id_may_end_in_x(ctx) -> None:
    assert parse_orcid("0000-0002-1694-233x") == "0000-0002-1694-233X"


@pytest.mark.parametrize(("typed", "reason"), [
    ("0000-0002-1825-0098", "does not match"), ("0000-0002-1825-009", "16 characters"),
    ("0000-0002-1825-00977", "16 characters"), ("0000-0002-1825-X097", "16 characters"),
    ("", "16 characters"), ("https://example.org/0000-0002-1825-0097", "16 characters"),
])
def test_a_wrong_orcid_id_is_refused_with_its_reason(ctx, typed: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        parse_orcid(typed)


@pytest.mark.parametrize(("typed", "canonical"), [
    ("05dxps055", "05dxps055"), ("https://ror.org/05DXPS055", "05dxps055"),
    ("ror.org/052gg0110", "052gg0110"), (" 04h9pn542/", "04h9pn542"),
])
def test_a_ror_id_is_read_in_the_forms_people_copy(ctx, typed: str, canonical: str) -> None:
    assert parse_ror(typed) == canonical


@pytest.mark.parametrize(("typed", "reason"), [
    ("05dxps056", "do not match"), ("15dxps055", "nine characters"),
    ("05dxps05", "nine characters"), ("05dxis055", "nine characters"),  # no I in the alphabet
    ("", "nine characters"),
])
def test_a_wrong_ror_id_is_refused_with_its_reason(ctx, typed: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        parse_ror(typed)


DIGITS = "0123456789"
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


@given(st.text(DIGITS, min_size=15, max_size=15), st.integers(0, 14), st.integers(1, 9))
def test_every_one_digit_slip_in_an_orcid_id_is_caught(app, digits: str, where: int,
                                                       shift: int) -> None:
    valid = digits + identifiers._orcid_check(digits)
    slipped = valid[:where] + str((int(valid[where]) + shift) % 10) + valid[where + 1:]
    with app.app_context():
        assert parse_orcid(valid).replace("-", "") == valid
        with pytest.raises(InvalidIdentifier):
            parse_orcid(slipped)


@given(st.text(CROCKFORD, min_size=6, max_size=6), st.integers(0, 5), st.integers(1, 31))
def test_every_one_character_slip_in_a_ror_id_is_caught(app, encoded: str, where: int,
                                                        shift: int) -> None:
    valid = "0" + encoded + identifiers._ror_check(encoded)
    char = CROCKFORD[(CROCKFORD.index(encoded[where]) + shift) % 32]
    slipped = "0" + encoded[:where] + char + encoded[where + 1:] + valid[7:]
    with app.app_context():
        assert parse_ror(valid) == valid
        with pytest.raises(InvalidIdentifier):
            parse_ror(slipped)


def test_an_identifier_decides_only_when_both_sides_have_one() -> None:
    assert identifiers.same_orcid("0000-0002-1825-0097", "0000-0002-1825-0097") is True
    assert identifiers.same_orcid("0000-0002-1825-0097", "0000-0002-1694-233X") is False
    assert identifiers.same_orcid("0000-0002-1825-0097", "") is None
    assert identifiers.same_ror(None, "05dxps055") is None
