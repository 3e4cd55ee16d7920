"""Research identifiers: ORCID iDs for people and ROR ids for institutes.

Both carry a check character, so a slip of one digit is caught where it is typed instead of
silently naming someone else. Each is stored in one canonical form (``0000-0002-1825-0097``;
``05dxps055``) and accepted as people copy it: with or without hyphens, in either case, or as
the full link. When both records of a comparison carry one, the identifier decides whether
they are the same person or institute, before any name matching (`same_orcid`,
`same_ror`).

Checksums: ORCID uses ISO/IEC 7064 MOD 11-2 over its first fifteen digits (``X`` stands for
ten); a ROR id is ``0``, six Crockford base-32 characters and two digits of ISO/IEC 7064
MOD 97-10 over the number those six encode.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

__all__ = ["InvalidIdentifier", "orcid_url", "parse_orcid", "parse_ror", "ror_url", "same_orcid",
           "same_ror"]

ORCID_LENGTH = 19  # 0000-0002-1825-0097
ROR_LENGTH = 9  # 05dxps055

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ORCID_LINK = re.compile(r"^(?:https?://)?(?:www\.)?orcid\.org/", re.IGNORECASE)
_ROR_LINK = re.compile(r"^(?:https?://)?(?:www\.)?ror\.org/", re.IGNORECASE)


class InvalidIdentifier(ValueError):
    """A typed identifier that is not one; the message says why, for the person typing."""


def _orcid_check(digits: str) -> str:
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def parse_orcid(text: str) -> str:
    """Return the ORCID iD in ``text`` in its canonical form, or raise InvalidIdentifier."""
    raw = _ORCID_LINK.sub("", (text or "").strip()).strip("/")
    compact = re.sub(r"[\s-]", "", raw).upper()
    if not re.fullmatch(r"\d{15}[\dX]", compact):
        raise InvalidIdentifier(_("An ORCID iD has 16 characters in four groups, such as "
                                  "0000-0002-1825-0097."))
    if _orcid_check(compact[:15]) != compact[15]:
        raise InvalidIdentifier(_("This ORCID iD's last character does not match the others: "
                                  "check it for a slip."))
    return "-".join(compact[i:i + 4] for i in range(0, 16, 4))


def _ror_check(encoded: str) -> str:
    number = 0
    for char in encoded:
        number = number * 32 + _CROCKFORD.index(char)
    return f"{98 - (number * 100) % 97:02d}"


def parse_ror(text: str) -> str:
    """Return the ROR id in ``text`` in its canonical form, or raise InvalidIdentifier."""
    raw = _ROR_LINK.sub("", (text or "").strip()).strip("/").lower()
    if not re.fullmatch(r"0[0-9a-hjkmnp-tv-z]{6}\d{2}", raw):
        raise InvalidIdentifier(_("A ROR id is nine characters starting with 0, such as "
                                  "05dxps055, or its link."))
    if _ror_check(raw[1:7]) != raw[7:]:
        raise InvalidIdentifier(_("This ROR id's last two digits do not match the others: "
                                  "check it for a slip."))
    return raw


def orcid_url(orcid: str) -> str:
    return f"https://orcid.org/{orcid}"


def ror_url(ror_id: str) -> str:
    return f"https://ror.org/{ror_id}"


def same_orcid(a: str | None, b: str | None) -> bool | None:
    """True or False when both people carry an ORCID iD (it decides), None when either lacks
    one (then the names and e-mails do)."""
    if a and b:
        return a == b
    return None


def same_ror(a: str | None, b: str | None) -> bool | None:
    """Like `same_orcid`, for institutes' ROR ids."""
    if a and b:
        return a == b
    return None
