"""Double-blind redaction: a name is struck in every case, script and form it is written in,
an institute by its names and acronyms; ordinary words stay."""

from __future__ import annotations

import pytest

from center.reviews.redaction import WITHHELD, Redactor, initialisms

PEOPLE = ["Ivan Petrovich Ivanov", "Olga Kovalevskaya", "김정호", "Park Min-jun",
          "Aigerim Nurlanovna"]
INSTITUTES = ["Institute of Nuclear Physics", "Институт ядерной физики",
              "Korea Advanced Institute of Science and Technology (KAIST)"]


@pytest.fixture()
def redact() -> Redactor:
    return Redactor(PEOPLE, ["aigerim@lab.example"], INSTITUTES,
                    ["Our group at the Institute of Nuclear Physics (INPh) works."])


@pytest.mark.parametrize("written", [
    "Ivanov", "IVANOV", "ivanov", "Иванов", "ИВАНОВ", "Ivanova", "Иванова", "Ivanovu",
    "Ivanovym",  # Russian surname: case, script, feminine and case endings
    "Kovalevskaya", "KOVALEVSKAYA", "Ковалевская", "Kovalevsky", "Kovalevskii",
    "김정호", "Kim", "KIM", "Jeong-ho", "Jeongho", "JEONGHO",  # Hangul and romanised
    "Park", "박민준", "Min-jun", "Minjun",
    "Nurlanovna", "NURLANOVNA", "Нурлановна", "Aigerim",
])
def test_a_name_is_struck_however_it_is_written(redact: Redactor, written: str) -> None:
    assert redact(f"Work by {written} and others.") == f"Work by {WITHHELD} and others."


@pytest.mark.parametrize("written", [
    "Institute of Nuclear Physics", "INSTITUTE OF NUCLEAR PHYSICS",
    "institute of nuclear physics", "Институт ядерной физики", "Institut yadernoy fiziki",
    "INP", "IONP", "ИЯФ", "INPh", "KAIST",
    "Korea Advanced Institute of Science and Technology (KAIST)",
])
def test_an_institute_is_struck_by_its_names_and_acronyms(redact: Redactor,
                                                          written: str) -> None:
    assert WITHHELD in redact(f"Measured at the {written} in 2024.")
    assert written not in redact(f"Measured at the {written} in 2024.")


def test_a_whole_name_becomes_one_mark_and_an_address_is_struck(redact: Redactor) -> None:
    assert redact("Dr. Ivan Petrovich IVANOV (aigerim@lab.example) leads.") == (
        f"Dr. {WITHHELD} ({WITHHELD}) leads.")


def test_ordinary_words_and_unrelated_acronyms_stay(redact: Redactor) -> None:
    text = ("The marine physics of neutron detectors; intellectual property (IP) follows "
            "the NSF rules; a bark sample; nuclear institutes elsewhere.")
    assert redact(text) == text


def test_initialisms_come_from_the_significant_words_and_the_name_itself() -> None:
    assert initialisms("Institute of Nuclear Physics") == {"INP", "IONP"}
    assert initialisms("Институт ядерной физики") == {"ИЯФ"}
    assert "PTI" in initialisms("Physico-Technical Institute")
    assert "JINR" in initialisms("JINR Dubna")
    assert initialisms("Institute of Physics") == {"IOP"}  # "IP" would strike IP plans
