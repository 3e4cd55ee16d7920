from __future__ import annotations

import pytest

from center.translations import tools


@pytest.fixture(scope="session")
def compiled() -> None:
    """The .mo files `make install` writes, rebuilt if a .po is newer (as after a merge)."""
    def stale(locale: str) -> bool:
        mo = tools.po_path(locale).with_suffix(".mo")
        return not mo.exists() or mo.stat().st_mtime < tools.po_path(locale).stat().st_mtime

    if any(stale(locale) for locale in tools.LOCALES):
        tools.compile_all()


def translation(locale: str, msgid: str) -> str:
    """The catalogue's translation of ``msgid``, which must exist for the test to mean it."""
    message = tools.load(locale).get(msgid)
    assert message is not None and message.string and message.string != msgid, msgid
    return message.string
