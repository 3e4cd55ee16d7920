"""Fallback wording for keys that have no label of their own.

Every enum value and field key a user may see has a translatable label defined next to its
enum (``STATUS_LABELS``, ``ROLE_LABELS`` ...). `humanize` is the last resort for a key that
has none (an audit detail added later, a value stored by an older version): it never shows
snake_case or dotted keys, and it is a bug to rely on it for a known value.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[._\s]+")


def humanize(key: object) -> str:
    """Spell out ``budget_line_added`` or ``proposal.submit`` as "Budget line added"."""
    words = _SEPARATORS.sub(" ", str(key or "")).strip()
    return words[:1].upper() + words[1:]
