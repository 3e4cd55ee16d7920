"""Names and titles in three scripts sort in the reader's collation, and search ignores
case in every script, on SQLite as on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from center.auth.models import User
from center.calls.services import calls_for_listing
from center.core import clock
from center.core.collation import by_locale, sorted_by
from center.core.db import db
from tests.world import World, open_call

NAMES = ["Яблоко", "абрикос", "Ёлка", "ежевика", "Zebra", "apple", "하늘", "가나", "나비"]


def test_russian_readers_get_cyrillic_in_alphabetical_order_whatever_the_case() -> None:
    cyrillic = [n for n in sorted_by(NAMES, str, "ru") if n[0] in "ЯаЁе"]
    assert cyrillic == ["абрикос", "ежевика", "Ёлка", "Яблоко"]


def test_korean_readers_get_hangul_in_dictionary_order() -> None:
    hangul = [n for n in sorted_by(NAMES, str, "ko") if "가" <= n[0] <= "힣"]
    assert hangul == ["가나", "나비", "하늘"]
    assert sorted_by(["Zebra", "apple"], str, "ko") == ["apple", "Zebra"]


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_the_database_orders_names_by_the_readers_collation(ctx: None, locale: str) -> None:
    for number, name in enumerate(["Яблоко", "абрикос", "Ёлка", "ежевика", "Zebra", "apple"]):
        db.session.add(User(email=f"u{number}@sort.example", name=name, password_hash="x",
                            created_at=clock.now()))
    db.session.flush()
    names = list(db.session.scalars(select(User.name).where(User.email.like("%@sort.example"))
                                    .order_by(by_locale(User.name, locale))))
    assert [n for n in names if n[0] in "ЯаЁе"] == ["абрикос", "ежевика", "Ёлка", "Яблоко"]
    assert names.index("apple") < names.index("Zebra")


@pytest.mark.parametrize("typed", ["Казахстан", "казахстан", "КАЗАХСТАН", "kazakh"])
def test_search_finds_a_cyrillic_title_typed_in_either_case(in_tenant: World, typed: str) -> None:
    call = open_call(donor_ids=in_tenant.a.donor_ids, countries=["KZ"],
                     title="Водная безопасность Казахстана (Kazakhstan water security)")
    found = list(db.session.scalars(calls_for_listing(search=typed)))
    assert call in found
    assert not list(db.session.scalars(calls_for_listing(search="Кыргызстан")))


def test_without_pyicu_the_fallback_keeps_each_scripts_order(monkeypatch) -> None:  # noqa: ANN001
    from center.core import collation

    monkeypatch.setattr(collation, "icu", None)
    ordered = sorted_by(NAMES, str, "ru")
    assert [n for n in ordered if n[0] in "ЯаЁе"] == ["абрикос", "ежевика", "Ёлка", "Яблоко"]
    assert [n for n in ordered if "가" <= n[0] <= "힣"] == ["가나", "나비", "하늘"]
    assert ordered.index("apple") < ordered.index("Zebra")
