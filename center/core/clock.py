"""The portal's single source of "now", so that deadlines can be tested with a set clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Make `now()` return ``moment`` inside the block (tests and simulations only)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: dt.timedelta) -> None:
    """Move a frozen clock forward by ``delta``."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a clock frozen with frozen_at()")
    _frozen = _frozen + delta
