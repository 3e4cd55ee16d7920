"""Read a sanctions or export-control list that a tenant uploads as CSV.

The file has a header row with the columns ``name, aliases, country, type, list, reference``
(any order, any case, surrounding spaces ignored; ``name``, ``type`` and ``list`` are
required). Aliases are separated by ``;``. ``type`` is ``person`` or ``entity`` (``individual``
and ``organisation`` are understood too). ``country`` is an ISO 3166 alpha-2 code, a
country's name ("Russian Federation", "Korea, North", "Россия") or empty.

A bad row does not stop parsing: every problem comes back as a ``RowError`` with the line
number of the file, for the import page to list beside the file field, and the good rows
come back as entries. Only a broken header or a stray quote (after which no row boundary
can be trusted) yields no entries at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from center.core.countries import country_code
from center.screening.names import SanctionsEntry, normalize_name

REQUIRED_COLUMNS = ("name", "type", "list")
OPTIONAL_COLUMNS = ("aliases", "country", "reference")
COLUMNS = ("name", "aliases", "country", "type", "list", "reference")
#: Other spellings of column names that spreadsheets and other lists use.
_COLUMN_SYNONYMS = {"list_name": "list", "alias": "aliases"}
_TYPES = {
    "person": "person", "individual": "person",
    "entity": "entity", "organisation": "entity", "organization": "entity",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem on one line of the uploaded file."""

    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        return _("Line %(line)d: %(message)s", line=self.line, message=self.message)


def parse_sanctions_csv(text: str) -> tuple[list[SanctionsEntry], list[RowError]]:
    """Return the entries of a sanctions CSV and the errors found, each with its line.

    Entry ids are the line numbers their rows start on. Blank rows are skipped. A header
    without the required columns yields no entries and an error on the header's line.
    """
    # Strict, so that a stray quote is reported instead of swallowing the rows after it.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    errors: list[RowError] = []
    line = 1  # where the row being read starts
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            return [], [RowError(1, _("The file is empty; expected a header row: %(columns)s.",
                                      columns=", ".join(COLUMNS)))]
        header_line = reader.line_num
        columns, header_errors = _read_header(header, header_line)
        errors.extend(header_errors)
        if columns is None:
            return [], errors

        entries: list[SanctionsEntry] = []
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                entry, row_errors = _read_row(row, columns, len(header), line)
                errors.extend(row_errors)
                if entry is not None:
                    entries.append(entry)
            line = reader.line_num + 1
    except csv.Error as exc:
        errors.append(RowError(line, _("The file is not readable as CSV: %(error)s; "
                                       "check the quotes on this line.", error=exc)))
        return [], errors
    return entries, errors


def _read_header(header: list[str], line: int) -> tuple[dict[str, int] | None, list[RowError]]:
    """Map column names to positions; None when the rows cannot be read."""
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        return None, [RowError(line, _("The header has a single column; the columns must be "
                                       "separated by commas: %(columns)s.",
                                       columns=", ".join(COLUMNS)))]
    errors = []
    columns: dict[str, int] = {}
    duplicated = False
    for position, cell in enumerate(header):
        name = " ".join(cell.split()).lower().replace(" ", "_")
        name = _COLUMN_SYNONYMS.get(name, name)
        if not name:
            continue
        if name not in COLUMNS:
            message = _("Unknown column “%(name)s”; the columns are %(columns)s.",
                        name=cell.strip(), columns=", ".join(COLUMNS))
            errors.append(RowError(line, message, cell.strip()))
        elif name in columns:
            duplicated = True
            errors.append(RowError(line, _("The column “%(name)s” appears twice.", name=name),
                                   name))
        else:
            columns[name] = position
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        message = ngettext("Missing required column %(names)s.",
                           "Missing required columns %(names)s.", len(missing),
                           names=", ".join(f"“{c}”" for c in missing))
        errors.append(RowError(line, message))
    if missing or duplicated:
        return None, errors
    return columns, errors


def _read_row(row: list[str], columns: dict[str, int], width: int,
              line: int) -> tuple[SanctionsEntry | None, list[RowError]]:
    extra = row[width:]
    if any(cell.strip() for cell in extra):
        return None, [RowError(line, _("The row has %(values)d values but the header has "
                                       "%(columns)d columns; put names containing commas in "
                                       "quotes.", values=len(row), columns=width))]

    def value(column: str) -> str:
        position = columns.get(column)
        if position is None or position >= len(row):
            return ""
        return " ".join(row[position].split())

    errors = []
    name = value("name")
    if not name:
        errors.append(RowError(line, _("The name is empty."), "name"))
    elif not normalize_name(name):
        errors.append(RowError(line, _("The name “%(name)s” has no letters or digits.", name=name),
                               "name"))

    raw_type = value("type")
    kind = _TYPES.get(raw_type.lower())
    if not raw_type:
        errors.append(RowError(line, _("The type is empty; use “person” or “entity”."), "type"))
    elif kind is None:
        errors.append(RowError(line, _("The type “%(type)s” is not “person” or “entity”.",
                                 type=raw_type),
                               "type"))

    list_name = value("list")
    if not list_name:
        errors.append(RowError(line, _("The list name is empty."), "list"))

    country = country_code(value("country"))
    if value("country") and country is None:
        errors.append(RowError(line, _("The country “%(country)s” is neither an ISO 3166 "
                                       "code such as RU or KR nor a country's name.",
                                       country=value("country")), "country"))

    if errors:
        return None, errors
    return SanctionsEntry(
        id=str(line),
        name=name,
        aliases=_split_aliases(value("aliases"), name),
        country=country,
        type=kind,
        list_name=list_name,
        reference=value("reference"),
    ), []


def _split_aliases(raw: str, name: str) -> list[str]:
    aliases: list[str] = []
    seen = {name.casefold()}
    for part in raw.split(";"):
        alias = " ".join(part.split())
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    return aliases
