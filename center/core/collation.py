"""Sort and search text in Latin, Cyrillic and Hangul the way each language's readers expect.

Sorting uses the Unicode collation of the reader's language: ICU's (PyICU) when it is
installed, else an approximation that compares letters first, then accents, then case (so Ё
sorts beside Е and Hangul in dictionary order). In SQL, `by_locale(column)` orders by the ICU
collation PostgreSQL ships (``ru-x-icu`` ...); on SQLite the same names are registered on
each connection, with a Unicode ``lower()``, since SQLite's own is ASCII-only and its
``ILIKE`` (``lower(a) LIKE lower(b)``) would otherwise miss "Казахстан" typed "казахстан".
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, TypeVar

from flask_babel import get_locale
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

try:  # PyICU needs the ICU library; without it the fallback below is used
    import icu
except ImportError:  # pragma: no cover - depends on the installation
    icu = None

T = TypeVar("T")
#: The collations by_locale may name, one per interface language.
COLLATIONS = {"en": "en-x-icu", "ko": "ko-x-icu", "ru": "ru-x-icu"}


def _locale(locale: str | None) -> str:
    code = locale or str(get_locale() or "en")
    return code if code in COLLATIONS else "en"


@lru_cache(maxsize=8)
def _collator(locale: str) -> Any:
    return icu.Collator.createInstance(icu.Locale(locale))


def sort_key(text: str | None, locale: str | None = None) -> Any:
    """A key that orders ``text`` as the language's readers expect."""
    if icu is not None:
        return _collator(_locale(locale)).getSortKey(text or "")
    # Letters first, accents (Ё against Е) only to break ties, case last, as UCA does.
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return letters, decomposed, text or ""


def sorted_by(items: Iterable[T], key: Callable[[T], str | None],
              locale: str | None = None) -> list[T]:
    """``items`` sorted by the text ``key`` gives, in the language's collation."""
    code = _locale(locale)
    return sorted(items, key=lambda item: sort_key(key(item), code))


def by_locale(column: ColumnElement[Any], locale: str | None = None) -> ColumnElement[Any]:
    """``column`` under the reader's collation, for ``order_by``."""
    return column.collate(COLLATIONS[_locale(locale)])


def _compare(locale: str) -> Callable[[str, str], int]:
    def compare(a: str, b: str) -> int:
        key_a, key_b = sort_key(a, locale), sort_key(b, locale)
        return (key_a > key_b) - (key_a < key_b)
    return compare


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    for locale, name in COLLATIONS.items():
        dbapi_connection.create_collation(name, _compare(locale))


def register_sqlite_text_functions() -> None:
    """Give every SQLite connection Unicode ``lower()`` and the ICU collations' names."""
    if not event.contains(Engine, "connect", _on_sqlite_connect):
        event.listen(Engine, "connect", _on_sqlite_connect)
