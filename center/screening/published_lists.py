"""Sanctions lists as their publishers publish them, read into the portal's entries.

An officer uploads the file (or files) as downloaded; the format is recognised from the
content, not the name:

- **UN Security Council consolidated list**, XML (``CONSOLIDATED_LIST`` with ``INDIVIDUAL``
  and ``ENTITY`` records): the name from its parts (``FIRST_NAME`` ... ``FOURTH_NAME``),
  ``NAME_ORIGINAL_SCRIPT`` and every ``ALIAS_NAME`` as aliases, the country from the
  nationality or else the first address, ``UN_LIST_TYPE`` and ``REFERENCE_NUMBER``;
- **OFAC SDN list**, the CSV files ``sdn.csv`` with ``alt.csv`` (aliases) and ``add.csv``
  (addresses, for the country), uploaded together or zipped; no header, ``-0-`` for empty;
  vessels and aircraft are left out (no proposal names one);
- **EU consolidated financial sanctions list**, CSV (semicolon-separated, one row per name,
  address, birth date ... of an entity, grouped by ``Entity_LogicalId``);
- **OpenSanctions** "simple" CSV export (``id, schema, name, aliases, countries ...``);
- and the portal's own CSV (`center.screening.sanctions_csv`).

Countries are read as ISO codes or names (`center.core.countries.country_code`: "Korea,
North", "Russian Federation", "Iran (Islamic Republic of)" ...). Each parser returns the
entries and the problems by record, like the portal's CSV reader, so a record that cannot
be read is listed and the others are imported if the officer says so.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree import ElementTree

from flask_babel import gettext as _

from center.core.countries import country_code
from center.screening.names import SanctionsEntry, normalize_name
from center.screening.sanctions_csv import RowError, parse_sanctions_csv

__all__ = ["ListFile", "UnreadableList", "read_list"]

_EMPTY_OFAC = "-0-"
#: XML that declares entities or a DTD is refused before parsing (no entity expansion).
_XML_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")


class UnreadableList(ValueError):
    """The files are no list the portal reads; the message is for the officer."""


@dataclass(frozen=True)
class ListFile:
    """One uploaded file: its name as sent and its bytes."""

    name: str
    data: bytes


def _text(data: bytes, *, legacy: str | None = None) -> str:
    """The file's text: UTF-8, or for OFAC's files (published in Windows-1252) that. No
    other file is guessed at: a Cyrillic list saved in Windows-1251 would read as Latin
    letters and match nobody."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if legacy is not None:
            try:
                return data.decode(legacy)
            except UnicodeDecodeError:
                pass
        raise UnreadableList(_("The file is not UTF-8 text: save the CSV as UTF-8 and "
                               "upload it again.")) from None


def _unzipped(files: Iterable[ListFile]) -> list[ListFile]:
    found = []
    for file in files:
        if file.data[:2] == b"PK":
            try:
                with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
                    found += [ListFile(name.rsplit("/", 1)[-1], archive.read(name))
                              for name in archive.namelist() if not name.endswith("/")]
            except zipfile.BadZipFile as exc:
                raise UnreadableList(_("The file is not a readable zip archive.")) from exc
        else:
            found.append(file)
    return found


def read_list(files: Iterable[ListFile]) -> tuple[str, list[SanctionsEntry], list[RowError]]:
    """Recognise the uploaded files' format and read them: (format, entries, problems), the
    format one of ``un``, ``ofac``, ``eu``, ``opensanctions``, ``portal``. Raises
    UnreadableList when no format fits."""
    files = [f for f in _unzipped(files) if f.data.strip()]
    if not files:
        raise UnreadableList(_("The file is empty."))
    ofac = _ofac_files(files)
    if "sdn" in ofac:
        return "ofac", *parse_ofac(ofac["sdn"], ofac.get("alt", b""), ofac.get("add", b""))
    if len(files) > 1:
        raise UnreadableList(_("Upload one file, or OFAC's sdn.csv with its alt.csv and "
                               "add.csv."))
    data = files[0].data
    head = data.lstrip()[:400]
    if head.startswith(b"<"):
        return "un", *parse_un_xml(data)
    first_line = _text(data).split("\n", 1)[0]
    if "Entity_LogicalId" in first_line:
        return "eu", *parse_eu_csv(data)
    header = {c.strip().strip('"').lower() for c in first_line.split(",")}
    if {"id", "schema", "name", "aliases", "countries"} <= header:
        return "opensanctions", *parse_opensanctions_csv(data)
    return "portal", *parse_sanctions_csv(_text(data))


def _entry(number: int, name: str, aliases: Iterable[str], country: str | None, kind: str,
           list_name: str, reference: str) -> SanctionsEntry:
    name = " ".join(name.split())[:500]
    seen, kept = {name.casefold()}, []
    for alias in aliases:
        alias = " ".join((alias or "").split())[:500]
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            kept.append(alias)
    return SanctionsEntry(id=str(number), name=name, aliases=kept, country=country,
                          type=kind, list_name=list_name[:200], reference=reference[:200])


def _named(name: str, number: int, errors: list[RowError], what: str) -> bool:
    if normalize_name(name):
        return True
    errors.append(RowError(number, _("%(what)s has no name.", what=what)))
    return False


# --- UN Security Council consolidated list -----------------------------------------------

def _child(element: ElementTree.Element, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None and found.text else ""


def parse_un_xml(data: bytes) -> tuple[list[SanctionsEntry], list[RowError]]:
    if any(marker in data for marker in _XML_FORBIDDEN):
        raise UnreadableList(_("The XML declares a document type or entities, which a "
                               "published list does not: it is not read."))
    try:
        # Safe: the attacks on XML parsers (entity expansion, external entities) all need
        # the document type declaration refused above.
        root = ElementTree.fromstring(data)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise UnreadableList(_("The file is not readable XML: %(error)s", error=exc)) from exc
    if root.tag != "CONSOLIDATED_LIST":
        raise UnreadableList(_("The XML is not the UN Security Council consolidated list."))
    entries: list[SanctionsEntry] = []
    errors: list[RowError] = []
    records = [(r, "person") for r in root.iter("INDIVIDUAL")] + [
        (r, "entity") for r in root.iter("ENTITY")]
    for number, (record, kind) in enumerate(records, start=1):
        reference = _child(record, "REFERENCE_NUMBER") or _child(record, "DATAID")
        name = " ".join(p for p in (_child(record, t) for t in (
            "FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")) if p)
        if not _named(name, number, errors, _("Record %(ref)s", ref=reference or number)):
            continue
        aliases = [_child(record, "NAME_ORIGINAL_SCRIPT")] + [
            _child(alias, "ALIAS_NAME") for alias in record
            if alias.tag in ("INDIVIDUAL_ALIAS", "ENTITY_ALIAS")]
        countries = [_child(n, "VALUE") for n in record.iter("NATIONALITY")] + [
            _child(a, "COUNTRY") for a in record
            if a.tag in ("INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS")]
        country = next((c for c in map(country_code, countries) if c), None)
        list_type = _child(record, "UN_LIST_TYPE")
        entries.append(_entry(number, name, aliases, country, kind,
                              f"UN {list_type}".strip(), reference))
    return entries, errors


# --- OFAC SDN ---------------------------------------------------------------------------------

def _ofac_role(data: bytes) -> str | None:
    """Which of OFAC's files ``data`` is, from its first row (whatever the file is called):
    ``sdn`` (12 values, a type), ``alt`` (5, an alias type) or ``add`` (6), else None."""
    try:
        first = next(csv.reader(io.StringIO(_text(data[:4000], legacy="cp1252"))), [])
    except (UnreadableList, csv.Error):
        return None
    if len(first) < 5 or not first[0].strip().isdigit():
        return None
    kind = first[2].strip().lower()
    if len(first) == 12 and kind in ("individual", _EMPTY_OFAC, "vessel", "aircraft"):
        return "sdn"
    if len(first) == 5 and first[1].strip().isdigit() and kind in ("aka", "fka", "nka"):
        return "alt"
    if len(first) == 6 and first[1].strip().isdigit():
        return "add"
    return None


def _ofac_files(files: list[ListFile]) -> dict[str, bytes]:
    """OFAC's files among ``files`` by role (`_ofac_role`); empty unless sdn.csv is one."""
    roles = {role: f.data for f in files if (role := _ofac_role(f.data))}
    return roles if "sdn" in roles and len(roles) == len(files) else {}


def _ofac_rows(data: bytes) -> list[list[str]]:
    if not data:
        return []
    try:
        rows = list(csv.reader(io.StringIO(_text(data, legacy="cp1252"), newline="")))
    except csv.Error as exc:
        raise UnreadableList(_("The file is not readable as CSV: %(error)s", error=exc)) from exc
    return [[("" if c.strip() == _EMPTY_OFAC else " ".join(c.split())) for c in row]
            for row in rows if row and row[0].strip().isdigit()]


def parse_ofac(sdn: bytes, alt: bytes = b"", add: bytes = b""
               ) -> tuple[list[SanctionsEntry], list[RowError]]:
    """``sdn.csv``: ent_num, SDN_Name, SDN_Type, Program, ... Remarks; ``alt.csv``: ent_num,
    alt_num, alt_type, alt_name, remarks; ``add.csv``: ent_num, add_num, address,
    city/state/postal code, country, remarks."""
    aliases: dict[str, list[str]] = {}
    for row in _ofac_rows(alt):
        if len(row) >= 4 and row[3]:
            aliases.setdefault(row[0], []).append(row[3])
    countries: dict[str, str] = {}
    for row in _ofac_rows(add):
        code = country_code(row[4]) if len(row) >= 5 else None
        if code:
            countries.setdefault(row[0], code)
    entries: list[SanctionsEntry] = []
    errors: list[RowError] = []
    for line, row in enumerate(_ofac_rows(sdn), start=1):
        if len(row) < 4:
            errors.append(RowError(line, _("The row has %(values)d values; an SDN row has 12.",
                                           values=len(row))))
            continue
        number, name, kind, program = row[0], row[1], row[2].lower(), row[3]
        if kind in ("vessel", "aircraft"):
            continue
        if not _named(name, line, errors, _("Entry %(ref)s", ref=number)):
            continue
        entries.append(_entry(line, name, aliases.get(number, []), countries.get(number),
                              "person" if kind == "individual" else "entity",
                              f"OFAC SDN {program}".strip(), number))
    return entries, errors


# --- EU consolidated financial sanctions list ------------------------------------------------

def parse_eu_csv(data: bytes) -> tuple[list[SanctionsEntry], list[RowError]]:
    """Rows of one entity share ``Entity_LogicalId``; each row carries one name alias, one
    address, one citizenship ... (the others empty)."""
    reader = csv.DictReader(io.StringIO(_text(data), newline=""), delimiter=";")
    grouped: OrderedDict[str, list[dict[str, str]]] = OrderedDict()
    try:
        for row in reader:
            key = (row.get("Entity_LogicalId") or "").strip()
            if key:
                grouped.setdefault(key, []).append(row)
    except csv.Error as exc:
        raise UnreadableList(_("The file is not readable as CSV: %(error)s", error=exc)) from exc
    entries: list[SanctionsEntry] = []
    errors: list[RowError] = []
    for number, (key, rows) in enumerate(grouped.items(), start=1):
        names = [" ".join((r.get("NameAlias_WholeName") or "").split()) for r in rows]
        names = [n for n in names if n]
        name = names[0] if names else ""
        if not _named(name, number, errors, _("Entity %(ref)s", ref=key)):
            continue
        subject = (rows[0].get("Entity_SubjectType") or "").strip().lower()
        code = (rows[0].get("Entity_SubjectType_ClassificationCode") or "").strip().upper()
        kind = "person" if subject == "person" or code == "P" else "entity"
        countries = [r.get("Citizenship_CountryIso2Code") or r.get(
            "Citizenship_CountryDescription") for r in rows] + [
            r.get("Address_CountryIso2Code") or r.get("Address_CountryDescription")
            for r in rows]
        country = next((c for c in map(country_code, countries) if c), None)
        programme = (rows[0].get("Entity_Regulation_Programme") or "").strip()
        reference = (rows[0].get("Entity_EU_ReferenceNumber") or "").strip() or key
        entries.append(_entry(number, name, names[1:], country, kind,
                              f"EU {programme}".strip(), reference))
    return entries, errors


# --- OpenSanctions -------------------------------------------------------------------------

_OPENSANCTIONS_PEOPLE = {"person"}
_OPENSANCTIONS_SKIPPED = {"vessel", "airplane", "cryptowallet", "security"}


def _opensanctions_list(datasets: str) -> str:
    """The list an entry is named on: OpenSanctions and the first source dataset."""
    first = next((d.strip() for d in datasets.split(";") if d.strip()), "")
    return f"OpenSanctions {first}".strip()


def parse_opensanctions_csv(data: bytes) -> tuple[list[SanctionsEntry], list[RowError]]:
    """The "simple" export: id, schema, name, aliases (;-separated), birth_date, countries
    (;-separated ISO codes in lower case), addresses, identifiers, sanctions, ..., dataset."""
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    entries: list[SanctionsEntry] = []
    errors: list[RowError] = []
    try:
        for line, row in enumerate(reader, start=2):
            schema = (row.get("schema") or "").strip().lower()
            if schema in _OPENSANCTIONS_SKIPPED:
                continue
            name = row.get("name") or ""
            if not _named(name, line, errors, _("Line %(ref)s", ref=line)):
                continue
            countries = (row.get("countries") or "").split(";")
            country = next((c for c in map(country_code, countries) if c), None)
            entries.append(_entry(line, name, (row.get("aliases") or "").split(";"), country,
                                  "person" if schema in _OPENSANCTIONS_PEOPLE else "entity",
                                  _opensanctions_list(row.get("dataset") or ""),
                                  (row.get("id") or "").strip()))
    except csv.Error as exc:
        raise UnreadableList(_("The file is not readable as CSV: %(error)s", error=exc)) from exc
    return entries, errors
