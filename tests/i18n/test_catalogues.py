"""The catalogues are complete, their placeholders match, and the portal uses them.

Messages are extracted in-process from the code and templates (babel's extract API reading
``babel.cfg``), so a string marked today and not yet translated fails here, not in front of a
Korean or Russian reader.
"""

from __future__ import annotations

import pytest
from babel.messages.catalog import Message
from flask.testing import FlaskClient

from center.translations import tools


@pytest.fixture(scope="module")
def extracted() -> list[Message]:
    return [m for m in tools.extract() if m.id]


@pytest.mark.parametrize("locale", tools.TRANSLATED)
def test_every_message_of_code_and_templates_is_translated(locale: str,
                                                           extracted: list[Message]) -> None:
    catalogue = {m.id: m for m in tools.load(locale) if m.id}
    missing = [m.id for m in extracted if m.id not in catalogue]
    untranslated = [m.id for m in extracted
                    if m.id in catalogue and not tools.is_translated(catalogue[m.id])]
    assert not missing, (f"{len(missing)} messages are not in the {locale} catalogue: run "
                         f"`make translations`; first: {missing[:5]}")
    assert not untranslated, (f"{len(untranslated)} of {len(extracted)} messages have no "
                              f"{locale} translation (or a fuzzy one); first: "
                              f"{untranslated[:5]}")


@pytest.mark.parametrize("locale", tools.TRANSLATED)
def test_translations_keep_the_placeholders_of_their_source(locale: str) -> None:
    problems = [f"{m.id!r}: {tools.placeholder_problem(m)}"
                for m in tools.load(locale) if m.id and tools.placeholder_problem(m)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("locale, forms", [("en", 2), ("ko", 1), ("ru", 3)])
def test_each_catalogue_has_its_languages_plural_rules(locale: str, forms: int) -> None:
    catalogue = tools.load(locale)
    assert catalogue.num_plurals == forms
    assert f"nplurals={forms};" in catalogue.plural_forms


def test_the_placeholder_check_catches_a_lost_or_renamed_placeholder() -> None:
    assert tools.placeholder_problem(Message("Hello %(name)s", "Привет")) is not None
    assert tools.placeholder_problem(Message("Hello %(name)s", "Привет %(nom)s")) is not None
    assert tools.placeholder_problem(Message("%d of %d", "%d из %d")) is None
    assert tools.placeholder_problem(Message("Up 5%% (%(n)d)", "Рост 5%% (%(n)d)")) is None
    plural = Message(("%(num)d file", "%(num)d files"), ("%(num)d файл", "файла", "%(num)d"))
    assert tools.placeholder_problem(plural) is not None


@pytest.mark.parametrize("locale", tools.TRANSLATED)
def test_a_page_is_shown_in_the_chosen_language_from_the_compiled_catalogue(
        locale: str, client: FlaskClient, compiled: None) -> None:
    catalogue = tools.load(locale)
    sign_in = catalogue.get("Sign in").string
    assert sign_in and sign_in != "Sign in"
    client.set_cookie("locale", locale)
    html = client.get("/login").get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    assert sign_in in html
