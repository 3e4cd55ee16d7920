"""Refusing common passwords: the 10,000 most common, shipped with the package.

``common_passwords.txt`` is the head of the ranked "passwords" frequency list bundled with
the zxcvbn package (4.5.0), one password a line, most common first. A password is refused
when it, lower-cased and without surrounding spaces, is on the list, or is a listed password
repeated or followed only by digits and punctuation ("password2026!").
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_LIST = Path(__file__).with_name("common_passwords.txt")
_TAIL = re.compile(r"[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip() for line in _LIST.read_text(encoding="utf-8").splitlines()
                     if line.strip())


def is_common_password(password: str) -> bool:
    """Tell whether ``password`` is, or trivially extends, a commonly used password."""
    words = common_passwords()
    candidate = password.strip().lower()
    stem = _TAIL.sub("", candidate)
    if candidate in words or (len(stem) >= 4 and stem in words):
        return True
    # "qwertyqwerty", "abc123abc123"
    for size in range(1, len(candidate) // 2 + 1):
        if len(candidate) % size == 0 and candidate[:size] * (len(candidate) // size) == candidate:
            return candidate[:size] in words or size < 4
    return False
