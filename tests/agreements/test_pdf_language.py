"""Agreements and invitation letters in the center's legal language, read back with pypdf.

A center in Russia or Korea issues its agreements in Russian or Korean, or bilingual with
English beside it for consulates and ministries; whoever clicks, and in whatever language
they read the portal, the document is the same. The code's default clause wording is
translated like the fixed text around it; a wording the center saved is its own text and is
printed as stored.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from flask_babel import force_locale
from pypdf import PdfReader

from center.agreements import services
from center.extensions import current_storage
from tests.agreements.conftest import Scene
from tests.agreements.world_part import memoised_render

#: Fixed English of the agreement template that the default clause wording does not use.
ENGLISH_AGREEMENT = (
    "GRANT AGREEMENT", "Contents", "Contents of Part II", "Total funding", "Donors:",
    "Special conditions of the project", "General conditions and signatures",
    "Article 1", "Annex A", "Annex B.", "Annex C", "Table 3.1", "Table 3.2", "Table 4.1",
    "Budget by category and donor", "Payment schedule (", "Principal investigator",
    "Approved trips", "Citizenship", "Name and title", "Signature", "Page 1 of", "Part I ·",
    "generated on", "version 1", "Tranche", "Category", "Party", "Role", "Duration",
    "Restrictions", "Foreground IP", "Dates", "Purpose", "Visa:",
    # the default clauses' wording and the default payment conditions
    "Budget and payment schedule", "This Agreement is made between", "The Donors fund",
    "royalty-free", "UNCITRAL Arbitration Rules", "On countersignature", "On approval of",
)
#: Fixed English of the invitation letter.
ENGLISH_LETTER = (
    "Letter of invitation", "Dear Consul", "Our reference", "Consular Section", "invites",
    "Traveller", "Citizenship", "Dates of stay", "Visa requested", "Signature and stamp",
    "per-diem", "We would be grateful", "(version", "days)",
)
RUSSIAN = ("СОГЛАШЕНИЕ О ГРАНТЕ", "Содержание", "Статья 1", "Общий объём финансирования",
           "Головной институт", "Приложение A. Статьи бюджета", "Подпись", "Часть I ·",
           "Стр. 1 из")
KOREAN = ("연구비 지원 협약", "목차", "제1조", "총 지원액", "주관기관", "부속서 A. 예산 항목",
          "서명", "제1부 ·")


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _issue(scene: Scene, language: str, *, bilingual: bool = False,
           reader_language: str = "en") -> tuple[str, str]:
    """Generate the scene's agreement for a center writing in ``language``, as an
    administrator reading the portal in ``reader_language``; return its text and its first
    letter's."""
    scene.tenant.legal_language = language
    scene.tenant.bilingual_documents = bilingual
    with force_locale(reader_language):
        agreement = services.generate_agreement(scene.proposal, by=scene.admin,
                                                tenant=scene.tenant, render=memoised_render)
    storage = current_storage()
    return (_text(storage.get(agreement.pdf_key)),
            _text(storage.get(agreement.letters[0].pdf_key)))


def _left(labels: tuple[str, ...], text: str) -> list[str]:
    """The labels still in ``text``, each with the text around it."""
    return [f"{label}: …{text[max(0, text.find(label) - 60):text.find(label) + 60]}…"
            for label in labels if label in text]


def test_a_russian_center_issues_its_agreement_and_letter_in_russian(scene: Scene) -> None:
    text, letter = _issue(scene, "ru", reader_language="ko")
    assert _left(ENGLISH_AGREEMENT, text) == []
    assert [label for label in RUSSIAN if label not in text] == []
    # The default clauses and payment conditions are written in Russian too.
    assert "Статья 3 Бюджет и график платежей" in text
    assert "Доноры финансируют проект в общей сумме не более" in text
    assert "При подписании настоящего Соглашения Центром" in text
    assert "Казахстан" in text and "Армения" in text  # countries in Russian too
    # The figures are the committed ones, written the Russian way.
    squeezed = _squeezed(text)
    for euros in (60_000, 40_000, 100_000, 24_000, 16_000, 12_000, 8_000):
        written = format_currency(Decimal(euros), "EUR", locale="ru_RU")
        assert _squeezed(written) in squeezed, written
    assert "€60,000.00" not in text
    assert _left(ENGLISH_LETTER, letter) == []
    assert "Письмо-приглашение" in letter and "Уважаемый господин консул" in letter
    assert "Айгерим Нурлановна" in letter  # names as typed
    assert _squeezed(format_currency(Decimal(150), "EUR", locale="ru_RU")) in _squeezed(letter)


def test_a_korean_center_issues_its_agreement_in_korean(scene: Scene) -> None:
    text, letter = _issue(scene, "ko", reader_language="ru")
    assert _left(ENGLISH_AGREEMENT, text) == []
    assert [label for label in KOREAN if label not in text] == []
    assert "2027년" in text
    assert "제3조 예산 및 지급 일정" in text and "연구책임자는" in text
    for amount in ("€60,000.00", "€40,000.00", "€100,000.00", "€24,000.00"):
        assert amount in text, amount  # Korean writes euros as English does
    assert _left(ENGLISH_LETTER, letter) == []
    assert "초청장" in letter and "영사님께" in letter


def test_a_bilingual_agreement_and_letter_carry_both_languages(scene: Scene) -> None:
    text, letter = _issue(scene, "ru", bilingual=True)
    for russian, english in (("СОГЛАШЕНИЕ О ГРАНТЕ", "GRANT AGREEMENT"),
                             ("Содержание", "Contents"), ("Подпись", "Signature"),
                             ("Общий объём финансирования", "Total funding"),
                             ("Приложение A. Статьи бюджета", "Annex A. Budget lines")):
        assert _squeezed(russian) in _squeezed(text) and _squeezed(english) in _squeezed(text)
    assert "Письмо-приглашение" in letter and "Letter of invitation" in letter
    assert "Уважаемый господин консул" in letter and "Dear Consul" in letter
    # The English copy of a sentence writes its dates and amounts in English.
    assert "€150.00" in letter and "3 May 2027" in letter
    assert "Стр. 1 из" in text and "Page 1 of" not in text  # one footer, the legal language
    # Each default clause in Russian with its English under it, the English with English
    # figures: the budget clause states the committed total both ways.
    squeezed = _squeezed(text)
    for russian, english in (("Бюджет и график платежей", "Budget and payment schedule"),
                             ("Доноры финансируют проект", "The Donors fund the project"),
                             ("Арбитражным регламентом ЮНСИТРАЛ", "UNCITRAL Arbitration Rules")):
        assert _squeezed(russian) in squeezed and _squeezed(english) in squeezed, english
    assert _squeezed("up to €100,000.00 in total") in squeezed
    assert _squeezed(format_currency(Decimal(100_000), "EUR", locale="ru_RU")) in squeezed


def test_a_clause_the_center_saved_is_printed_as_typed_among_translated_defaults(
        scene: Scene) -> None:
    services.save_clause("taxes", by=scene.admin, title="Налоги (редакция центра)",
                         body="Текст центра о налогах для {acronym}.", settings={},
                         expected_number=0)
    text, _letter = _issue(scene, "ru", bilingual=True)
    assert "Налоги (редакция центра)" in text
    assert "Текст центра о налогах для GLACIER." in text
    assert "Taxes and customs exemptions" not in text  # a saved wording has no English copy
    assert "Освобождение от налогов" not in text
    assert "Разрешение споров" in text and "Settlement of disputes" in text  # defaults still


@pytest.mark.parametrize("reader_language", ["en", "ko"])
def test_the_readers_language_does_not_change_the_document(scene: Scene,
                                                           reader_language: str) -> None:
    text, letter = _issue(scene, "ru", reader_language=reader_language)
    assert "СОГЛАШЕНИЕ О ГРАНТЕ" in text and "연구비" not in text
    assert "Письмо-приглашение" in letter


def test_an_english_center_still_issues_english_even_to_a_russian_reader(scene: Scene) -> None:
    text, letter = _issue(scene, "en", bilingual=True, reader_language="ru")
    assert [label for label in ENGLISH_AGREEMENT if label not in text] == []
    assert "Соглашение" not in text and "Letter of invitation" in letter
    assert "€60,000.00" in text
