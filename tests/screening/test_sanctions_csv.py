"""Reading sanctions lists uploaded as CSV: good rows become entries, bad rows errors."""

from __future__ import annotations

import pytest

from center.screening.names import SanctionsEntry
from center.screening.sanctions_csv import RowError, parse_sanctions_csv

HEADER = "name,aliases,country,type,list,reference\n"


def test_rows_become_entries_with_aliases_split_on_semicolons() -> None:
    entries, errors = parse_sanctions_csv(
        HEADER
        + "Сидоров Иван Петрович,Ivan Sidorov; Sidorov I.P. ;,ru,person,EU 833/2014,EU.123\n"
        + '"Rosatom, State Corporation",Росатом,RU,entity,US BIS Entity List,\n'
    )
    assert errors == []
    assert entries == [
        SanctionsEntry(id="2", name="Сидоров Иван Петрович",
                       aliases=["Ivan Sidorov", "Sidorov I.P."], country="RU", type="person",
                       list_name="EU 833/2014", reference="EU.123"),
        SanctionsEntry(id="3", name="Rosatom, State Corporation", aliases=["Росатом"],
                       country="RU", type="entity", list_name="US BIS Entity List",
                       reference=""),
    ]


def test_bom_header_case_spaces_and_column_order_are_tolerated() -> None:
    text = "\ufeff Type ,LIST, Name ,Reference,Aliases,Country\r\nentity,UN,  Mayak   PA ,,,\r\n"
    entries, errors = parse_sanctions_csv(text)
    assert errors == []
    assert [(e.name, e.type, e.list_name, e.country, e.aliases) for e in entries] == [
        ("Mayak PA", "entity", "UN", None, []),
    ]


def test_optional_columns_may_be_left_out() -> None:
    entries, errors = parse_sanctions_csv("name,type,list\nKim Jong Un,individual,UN\n")
    assert errors == []
    assert entries[0].type == "person"
    assert entries[0].aliases == []
    assert entries[0].country is None


def test_alias_equal_to_the_name_or_repeated_is_dropped() -> None:
    entries, _ = parse_sanctions_csv(HEADER + "Ivan Sidorov,ivan sidorov;I. Sidorov;"
                                              "i. sidorov,,person,EU,\n")
    assert entries[0].aliases == ["I. Sidorov"]


@pytest.mark.parametrize(("row", "column", "message"), [
    (",Sidorov,RU,person,EU,", "name", "The name is empty."),
    ("???,,RU,person,EU,", "name", "has no letters or digits"),
    ("Ivan Sidorov,,RU,robot,EU,", "type", "“robot” is not “person” or “entity”"),
    ("Ivan Sidorov,,RU,,EU,", "type", "The type is empty"),
    ("Ivan Sidorov,,RU,person,,", "list", "The list name is empty."),
    ("Ivan Sidorov,,Ruritania,person,EU,", "country", "neither an ISO 3166 code"),
])
def test_bad_row_is_reported_with_its_line_and_column(row: str, column: str,
                                                      message: str) -> None:
    entries, errors = parse_sanctions_csv(HEADER + "Good Name,,,person,EU,\n" + row + "\n")
    assert [e.name for e in entries] == ["Good Name"]
    assert len(errors) == 1
    assert errors[0].line == 3
    assert errors[0].column == column
    assert message in errors[0].message


@pytest.mark.parametrize(("country", "code"), [
    ("RU", "RU"), ("ru", "RU"), ("Russia", "RU"), ("Russian Federation", "RU"),
    ("Россия", "RU"), ('"Korea, North"', "KP"), ("Democratic People's Republic of Korea", "KP"),
    ('"Iran (Islamic Republic of)"', "IR"), ("대한민국", "KR"), ("", None),
])
def test_a_country_is_read_as_a_code_or_as_a_name(country: str, code: str | None) -> None:
    entries, errors = parse_sanctions_csv(HEADER + f"Ivan Sidorov,,{country},person,EU,\n")
    assert errors == [] and entries[0].country == code


def test_every_problem_of_a_row_is_reported() -> None:
    _, errors = parse_sanctions_csv(HEADER + ",,XYZ,robot,,\n")
    assert [e.column for e in errors] == ["name", "type", "list", "country"]
    assert {e.line for e in errors} == {2}


def test_row_with_too_many_values_is_refused() -> None:
    entries, errors = parse_sanctions_csv(HEADER + "Sidorov, Ivan,,RU,person,EU,ref\n")
    assert entries == []
    assert errors == [RowError(2, "The row has 7 values but the header has 6 columns; put "
                                  "names containing commas in quotes.")]


def test_short_rows_and_trailing_empty_values_are_accepted() -> None:
    entries, errors = parse_sanctions_csv("name,type,list,reference\nA B,person,EU\n"
                                          "C D,person,EU,,,\n")
    assert errors == []
    assert [e.name for e in entries] == ["A B", "C D"]


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    text = HEADER + '\n"Multi\nLine Name",,,entity,EU,\n\n,,,person,EU,\n'
    entries, errors = parse_sanctions_csv(text)
    assert [(e.id, e.name) for e in entries] == [("3", "Multi Line Name")]
    assert [(e.line, e.column) for e in errors] == [(6, "name")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "The file is empty"),
    ("\ufeff\n\n", "The file is empty"),
    ("name,aliases,country\nIvan,,RU\n", "Missing required columns “type”, “list”."),
    ("name;aliases;type;list\nIvan;;person;EU\n", "separated by commas"),
    ("name,type,list,Name\n", "The column “name” appears twice."),
])
def test_unusable_header_yields_no_entries_and_one_error_on_line_one(text: str,
                                                                      message: str) -> None:
    entries, errors = parse_sanctions_csv(text)
    assert entries == []
    assert len(errors) == 1
    assert errors[0].line == 1
    assert message in errors[0].message


def test_unknown_column_is_reported_but_rows_are_still_read() -> None:
    entries, errors = parse_sanctions_csv("name,type,list,alias_list\nIvan Sidorov,person,EU,x\n")
    assert [e.name for e in entries] == ["Ivan Sidorov"]
    assert [(e.line, e.column) for e in errors] == [(1, "alias_list")]
    assert "Unknown column “alias_list”" in errors[0].message


def test_column_synonyms_are_understood() -> None:
    entries, errors = parse_sanctions_csv("Name,Alias,Type,List Name\nKim,Gim,entity,UN\n")
    assert errors == []
    assert (entries[0].aliases, entries[0].list_name) == (["Gim"], "UN")


@pytest.mark.parametrize(("row", "line"), [
    ('Ivan,,RU,person,EU,"ref\nKim,,,person,UN,\n', 2),
    ('"Ivan" Sidorov,,RU,person,EU,ref\nKim,,,person,UN,\n', 2),
])
def test_stray_quote_is_reported_on_its_line(row: str, line: int) -> None:
    entries, errors = parse_sanctions_csv(HEADER + row)
    assert entries == []
    assert len(errors) == 1
    assert errors[0].line == line
    assert errors[0].message.startswith("The file is not readable as CSV")


def test_row_error_reads_as_a_sentence_with_its_line() -> None:
    assert str(RowError(4, "The name is empty.", "name")) == "Line 4: The name is empty."
