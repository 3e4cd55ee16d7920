"""Institutes and companies as proposals name them (in Russian, in Korean, shortened on an
affiliation line) against the English names lists give them: labelled probes
(tests/screening/data/institute-probes.tsv) against entries named as in the UN, US and EU
designations (institute-entries.csv); see the README beside them. Run with ``-s`` for the
figures."""

from __future__ import annotations

import csv
from pathlib import Path

from center.screening.glossary import translated
from center.screening.names import SanctionsMatcher, score_names
from center.screening.sanctions_csv import parse_sanctions_csv

DATA = Path(__file__).parent / "data"


def _probes() -> list[dict[str, str]]:
    with (DATA / "institute-probes.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_the_probes_find_nine_in_ten_true_hits_and_no_more_than_one_in_twenty_false() -> None:
    entries, errors = parse_sanctions_csv((DATA / "institute-entries.csv").read_text("utf-8"))
    assert errors == []
    matcher = SanctionsMatcher(entries)
    probes = _probes()
    positives = [p for p in probes if p["expected"] != "-"]
    found, false_hits, missed = 0, [], []
    for probe in probes:
        references = {h.entry.reference for h in matcher.match(probe["probe"], kind="entity")}
        if probe["expected"] in references:
            found += 1
        elif probe["expected"] != "-":
            missed.append(probe["probe"])
        false_hits += [(probe["probe"], r) for r in references - {probe["expected"]}]
    print(f"\ninstitute probes: {found}/{len(positives)} true hits found, "
          f"{len(false_hits)} false hits over {len(probes)} probes; missed: {missed}")
    assert len(positives) >= 25 and len(probes) - len(positives) >= 15
    assert found / len(positives) >= 0.9, missed
    assert len(false_hits) / len(probes) <= 0.05, false_hits


def test_russian_and_korean_names_are_read_in_english_words() -> None:
    assert translated("Институт ядерной физики") == "institute nuclear physics"
    assert translated("Московский физико-технический институт") == (
        "moscow physics technology institute")
    assert translated("институт имени академика Е. И. Забабахина").endswith(
        "imeni academician e i zababakhin")
    assert translated("조선광업개발무역회사") == "korea mining development trading corporation"
    assert translated("Inst. Nucl. Phys.") == "institute . nuclear . physics ."
    assert translated("Korea Ryonbong General Corporation") is None  # nothing to read


def test_a_proper_name_keeps_its_sound_beside_its_reading() -> None:
    # 혁신 is "innovation", but in the list's name it is the sound "Hyoksin".
    assert score_names("조선혁신무역회사", "Korea Hyoksin Trading Corporation",
                       kind="entity") >= 0.85


def test_a_lists_entry_is_not_cut_at_its_comma() -> None:
    matcher = SanctionsMatcher(parse_sanctions_csv(
        "name,aliases,country,type,list,reference\n"
        '"MINISTRY OF DEFENCE, REPUBLIC OF NOWHERE",,,entity,Test,T-1\n')[0])
    assert matcher.match("Ministry of Defence", kind="entity") == []
    assert matcher.match("Ministry of Defence, Republic of Nowhere", kind="entity")
