"""Keep the message catalogues in step with the code: extract, update, fill and compile.

    python -m center.translations.tools update            # extract the POT, update en/ko/ru
    python -m center.translations.tools fill FILE.json... # fill untranslated entries
    python -m center.translations.tools compile           # write the .mo files the app reads
    python -m center.translations.tools status            # messages and translated per language

A fill file is a JSON object mapping each msgid to its translation: a string, or for a
plural entry the list of the language's forms (ru: one, few, many; ko: one form). The
language is taken from the file's name (``ru_03.json``) unless ``--locale`` says it. Only
untranslated or fuzzy entries are filled, and a translation whose placeholders differ from
the source's is refused and reported, never written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = ROOT / "center" / "translations"
POT = DIRECTORY / "messages.pot"
MAPPING = ROOT / "babel.cfg"
#: The source language first; every other one must be complete.
LOCALES = ("en", "ko", "ru")
TRANSLATED = ("ko", "ru")
#: Babel's own keywords plus ``_l``, the name the code gives ``lazy_gettext``.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}

#: printf-style placeholders: ``%(name)s``, ``%d``, ``%.1f``; ``%%`` is a literal percent.
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0+]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> list[str]:
    """The placeholders of a message in a comparable form, named ones sorted."""
    found = [f"%({name}){kind}" if name else f"%{kind}"
             for name, kind in _PLACEHOLDER.findall(text or "") if kind != "%"]
    named = sorted(p for p in found if p.startswith("%("))
    return named + [p for p in found if not p.startswith("%(")]


def placeholder_problem(message: Message) -> str | None:
    """Say how a translation's placeholders differ from its source's, or None."""
    if isinstance(message.id, tuple | list):
        # Every plural form is used for some count above one (ru "one" covers 21, 31 ...),
        # so each form must carry what the plural source carries.
        expected = set(placeholders(message.id[1]))
        allowed = expected | set(placeholders(message.id[0]))
        forms = message.string if isinstance(message.string, tuple | list) else ()
        for form in filter(None, forms):
            got = set(placeholders(form))
            if not expected <= got <= allowed:
                return f"form {form!r} has {sorted(got)}, source has {sorted(expected)}"
        return None
    got, expected = placeholders(message.string), placeholders(message.id)
    if message.string and got != expected:
        return f"translation has {got}, source has {expected}"
    return None


def extract() -> Catalog:
    """Extract every marked message from the code and templates, as ``babel.cfg`` says."""
    with MAPPING.open() as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(MAPPING))
    template = Catalog(project="Center", version="1", msgid_bugs_address="",
                       copyright_holder="Center", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def po_path(locale: str) -> Path:
    return DIRECTORY / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    """Read a language's catalogue, or start an empty one with the language's plural rules."""
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="Center", version="1", charset="utf-8")
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


def save(catalog: Catalog, locale: str) -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.fuzzy = False  # the header is ours, not a guess
    catalog.copyright_holder = "Center"
    catalog.language_team = {"en": "English", "ko": "한국어", "ru": "Русский"}[locale]
    with path.open("wb") as fileobj:
        write_po(fileobj, catalog, width=100, omit_header=False, ignore_obsolete=True,
                 include_previous=False)


def update() -> Catalog:
    """Write the POT and bring each language's catalogue up to it; no fuzzy guesses, since
    a guessed translation shown as real is worse than English."""
    template = extract()
    with POT.open("wb") as fileobj:
        write_po(fileobj, template, width=100)
    for locale in LOCALES:
        catalog = load(locale)
        catalog.update(template, no_fuzzy_matching=True)
        save(catalog, locale)
    return template


def fill(locale: str, translations: dict[str, object]) -> tuple[int, list[str]]:
    """Fill untranslated entries of ``locale`` from ``{msgid: translation}``; return how
    many were written and the refusals."""
    catalog = load(locale)
    by_singular = {m.id[0] if isinstance(m.id, tuple) else m.id: m
                   for m in catalog if m.id}
    written, refused = 0, []
    for msgid, text in translations.items():
        message = by_singular.get(msgid)
        if message is None or (message.string and "fuzzy" not in message.flags
                               and (not isinstance(message.string, tuple)
                                    or all(message.string))):
            continue
        if isinstance(message.id, tuple):
            forms = [text] if isinstance(text, str) else list(text)
            if len(forms) != catalog.num_plurals or not all(forms):
                refused.append(f"{msgid!r}: {len(forms)} forms, {locale} has "
                               f"{catalog.num_plurals}")
                continue
            candidate = Message(message.id, tuple(forms))
        else:
            if not isinstance(text, str) or not text:
                refused.append(f"{msgid!r}: not a single translation")
                continue
            candidate = Message(message.id, text)
        problem = placeholder_problem(candidate)
        if problem:
            refused.append(f"{msgid!r}: {problem}")
            continue
        message.string = candidate.string
        message.flags.discard("fuzzy")
        written += 1
    save(catalog, locale)
    return written, refused


def compile_all() -> None:
    """Write each language's ``.mo``, which is what the running portal reads."""
    for locale in LOCALES:
        catalog = load(locale)
        with po_path(locale).with_suffix(".mo").open("wb") as fileobj:
            write_mo(fileobj, catalog, use_fuzzy=False)


def is_translated(message: Message) -> bool:
    if "fuzzy" in message.flags:
        return False
    if isinstance(message.string, tuple | list):
        return bool(message.string) and all(message.string)
    return bool(message.string)


def status() -> dict[str, tuple[int, int]]:
    """For each language: (messages, translated)."""
    figures = {}
    for locale in LOCALES:
        messages = [m for m in load(locale) if m.id]
        figures[locale] = (len(messages), sum(is_translated(m) for m in messages))
    return figures


def _locale_of(path: Path, given: str | None) -> str:
    locale = given or path.name.split("_", 1)[0]
    if locale not in TRANSLATED:
        raise SystemExit(f"{path}: say --locale (ko or ru)")
    return locale


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m center.translations.tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract the POT and update the catalogues")
    filler = commands.add_parser("fill", help="fill untranslated entries from JSON files")
    filler.add_argument("files", nargs="+", type=Path)
    filler.add_argument("--locale", choices=TRANSLATED)
    commands.add_parser("compile", help="write the .mo files")
    commands.add_parser("status", help="count messages and translations")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "update":
        template = update()
        print(f"{len([m for m in template if m.id])} messages extracted")
    elif args.command == "fill":
        for path in args.files:
            locale = _locale_of(path, args.locale)
            written, refused = fill(locale, json.loads(path.read_text(encoding="utf-8")))
            print(f"{path.name}: {written} filled in {locale}, {len(refused)} refused")
            for line in refused:
                print(f"  refused {line}")
    elif args.command == "compile":
        compile_all()
    for locale, (total, done) in status().items():
        print(f"{locale}: {done}/{total} translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
