"""Name matching for sanctions screening: tables of names that must and must not hit.

``HITS`` and ``MISSES`` are also read by ``bench/sanctions.py``, which reports how many of
them a 20,000-entry list gets right.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest

from center.screening.names import (
    DEFAULT_THRESHOLD,
    SanctionsEntry,
    SanctionsMatcher,
    name_tokens,
    normalize_name,
    score_names,
    skeleton_keys,
)


class Case(NamedTuple):
    kind: str
    listed: str
    applicant: str
    why: str


def _why(case: Case) -> str:
    return case.why


#: The same person or body written another way: each must score at or above the threshold.
HITS = [
    Case("person", "Сидоров Иван Петрович", "Ivan Sidorov", "cyrillic-list-latin-applicant"),
    Case("person", "김정호", "Kim Jung-ho", "hangul-vs-common-romanization"),
    Case("person", "김정호", "Gim Jeong Ho", "hangul-vs-revised-romanization-split"),
    Case("person", "Aleksandr Petrov", "Alexander Petrof", "misspelt-both-tokens"),
    Case("person", "Ходорковский Михаил Борисович", "Mikhail Khodorkovsky",
           "cyrillic-with-patronymic"),
    Case("person", "Khodorkovsky Mikhail", "Michail Chodorkowski", "german-transliteration"),
    Case("person", "Mikhail Khodorkovskiy", "Hodorkovskiy Mikhail", "kh-as-h-reordered"),
    Case("person", "Юрий Гагарин", "Jurij Gagarin", "yuri-as-jurij"),
    Case("person", "Yuri Gagarin", "Iouri Gagarin", "yuri-as-french-iouri"),
    Case("person", "Sergei Shcherbakov", "Sergej Schtscherbakow", "shch-as-schtsch"),
    Case("person", "Пётр Чайковский", "Piotr Tchaikovsky", "yo-as-io-and-tch"),
    Case("person", "Georgy Zhukov", "Georgi Joukov", "zh-as-french-j"),
    Case("person", "Tsoi Viktor", "Viktor Coj", "ts-as-c"),
    Case("person", "Evgeny Kaspersky", "Yevgeniy Kasperskiy", "sky-as-skiy"),
    Case("person", "Ivan Petrovich Sidorov", "Sidorov Ivan", "missing-patronymic-reordered"),
    Case("person", "Ivan Petrovich Sidorov", "Sidorov, Ivan P.", "patronymic-as-initial"),
    Case("person", "Ivan Sidorov", "I. Sidorov", "given-name-as-initial"),
    Case("person", "Petrov Aleksandr Ivanovich", "A. I. Petrov", "two-initials"),
    Case("person", "Ivan Sidorov", "I. P. Sidorov", "applicant-adds-patronymic-initial"),
    Case("person", "Park Sung-hoon", "Bak Seong-hun", "korean-mr-vs-rr"),
    Case("person", "박성훈", "Sung Hoon Park", "hangul-vs-given-name-first"),
    Case("person", "Lee Jin-woo", "Yi Jinwoo", "lee-as-yi-hyphen-dropped"),
    Case("person", "이진우", "Rhee Jin Woo", "hangul-vs-rhee-split-given-name"),
    Case("person", "Choi Min-jun", "Choe Minjun", "choi-as-choe"),
    Case("person", "KIM JUNGHO", "Jung Ho Kim", "upper-case-reordered-split"),
    Case("person", "정민수", "Chung Min-soo", "jeong-as-chung"),
    Case("person", "윤서연", "Yoon Seo-yeon", "hangul-vs-yoon"),
    Case("person", "김정은", "Kim Jong Un", "north-korean-romanization"),
    Case("person", "최룡해", "Choe Ryong Hae", "north-korean-initial-r"),
    Case("person", "이용호", "Ri Yong Ho", "ri-for-lee"),
    Case("person", "김일성", "Kim Il-sung", "hangul-vs-il-sung"),
    Case("person", "Fyodor Dostoevsky", "Fjodor Dostojewski", "german-dostoevsky"),
    Case("person", "Andrei Andreyev", "Andrej Andrejew", "ye-as-je"),
    Case("person", "Vladimir Ivanov", "Wladimir Ivanow", "w-as-v"),
    Case("person", "Natalia Sokolova", "Natalya Sokolova", "ia-as-ya"),
    Case("person", "Dmitriy Medvedev", "Dmitri Medvedew", "iy-as-i"),
    Case("person", "Olga Kovalenko", "Olha Kovalenko", "ukrainian-given-name"),
    Case("person", "Sergei Bondarenko", "Serhiy Bondarenko", "ukrainian-serhiy"),
    Case("person", "Ivan Sidorov", "Ivan Sidarov", "one-letter-typo"),
    Case("person", "John Michael Smith", "John Smith", "missing-middle-name"),
    Case("person", "Ivanova Anna Sergeevna", "Anna Ivanova", "female-patronymic"),
    Case("entity", "JSC Rosatom", "АО «Росатом»", "jsc-vs-cyrillic-ao"),
    Case("entity", "Rosatom OAO", "Open Joint Stock Company Rosatom", "oao-spelled-out"),
    Case("entity", "OOO Romashka", "Romashka LLC", "ooo-vs-llc"),
    Case("entity", "ФГУП «ПО „Маяк“»",
           "Federal State Unitary Enterprise Mayak Production Association", "fgup-spelled-out"),
    Case("entity", "(주)한빛테크", "주식회사 한빛테크", "korean-legal-form-abbreviated"),
    Case("entity", "Institute of Nuclear Physics", "Nuclear Physics Institute",
           "institute-of-reordered"),
    Case("entity", "Joint Institute for Nuclear Research", "JOINT INSTITUTE OF NUCLEAR RESEARCH",
           "for-vs-of"),
    Case("entity", "Институт ядерной физики", "Institut Yadernoy Fiziki",
           "cyrillic-institute"),
    Case("entity", "Samsung Electronics Co., Ltd.", "SAMSUNG ELECTRONICS", "legal-form-dropped"),
    Case("entity", "P.N. Lebedev Physical Institute of the Russian Academy of Sciences",
           "Lebedev Physical Institute", "parent-academy-dropped"),
    Case("entity", "Korea Hydro & Nuclear Power Co Ltd", "Korea Hydro and Nuclear Power",
           "ampersand-vs-and"),
]

#: Different people or bodies whose names share words: each must score below the threshold.
MISSES = [
    Case("person", "Ivan Petrov", "Sergei Petrov", "shared-surname-other-given-name"),
    Case("person", "Kim Min-jun", "Kim Ji-woo", "kim-other-given-name"),
    Case("person", "Park Sung-hoon", "Park Sun-hee", "park-similar-given-name"),
    Case("person", "Kim Min-jun", "Kim Min-jin", "korean-one-syllable-differs"),
    Case("person", "Lee Jin-woo", "Lee Jin-wook", "korean-final-consonant-differs"),
    Case("person", "Lee Dong-hyun", "Lee Dong-hoon", "korean-hyun-vs-hoon"),
    Case("person", "Choi Ji-hoon", "Choi Ji-hye", "korean-hoon-vs-hye"),
    Case("person", "Kim Seo-yeon", "Kim Ji-hye", "kim-female-given-names"),
    Case("person", "Jung Ho Park", "Jung Ho Kim", "same-given-name-other-surname"),
    Case("person", "Anna Park", "Anna Kim", "same-given-name-korean-surnames"),
    Case("person", "Ivan Petrenko", "Ivan Petrov", "surname-stem-shared"),
    Case("person", "Mikhail Ivanenko", "Mikhail Ivanov", "ivanenko-vs-ivanov"),
    Case("person", "Sergei Ivanenko", "Sergei Ivanov", "ivanenko-vs-ivanov-2"),
    Case("person", "Olga Smirnitskaya", "Olga Smirnova", "smirnitskaya-vs-smirnova"),
    Case("person", "Yuri Garin", "Yuri Gagarin", "garin-vs-gagarin"),
    Case("person", "Nikolai Popovich", "Nikolai Popov", "popovich-surname-vs-popov"),
    Case("person", "Andrei Sobolev", "Andrei Sokolov", "sobolev-vs-sokolov"),
    Case("person", "Tatiana Volkonskaya", "Tatiana Volkova", "volkonskaya-vs-volkova"),
    Case("person", "Dmitry Orekhov", "Dmitry Orlov", "orekhov-vs-orlov"),
    Case("person", "Alexei Nagorny", "Alexei Navalny", "nagorny-vs-navalny"),
    Case("person", "Sergei Ivanovich Petrov", "Sergei Ivanov", "patronymic-is-not-surname"),
    Case("person", "Ivan Sergeevich Sidorov", "Ivan Petrovich Sidorov", "patronymics-differ"),
    Case("person", "Roman Petrovich", "Roman Abramovich", "two-ovich-surnames"),
    Case("person", "Ivana Petrova", "Ivan Petrov", "ivana-vs-ivan-female-forms"),
    Case("person", "Sergei Sidorov", "I. Sidorov", "initial-disagrees"),
    Case("person", "Petrov", "Ivan Petrov", "lone-surname-on-list"),
    Case("entity", "Institute of Plant Physiology", "Institute of Nuclear Physics",
           "institute-of-other-field"),
    Case("entity", "Saint Petersburg State University", "Moscow State University",
           "state-university-other-city"),
    Case("entity", "Institute for Nuclear Research", "Joint Institute for Nuclear Research",
           "joint-institute-vs-institute"),
    Case("entity", "Samsung Heavy Industries Co., Ltd.", "Samsung Electronics Co., Ltd.",
           "samsung-other-business"),
    Case("entity", "Korea Institute of Nuclear Safety",
           "Korea Atomic Energy Research Institute", "korea-institutes"),
    Case("entity", "Roscosmos", "Rosatom", "ros-prefix"),
    Case("entity", "Ioffe Physical-Technical Institute", "Lebedev Physical Institute",
           "physical-institutes"),
    Case("entity", "Novosibirsk State Technical University", "Novosibirsk State University",
           "technical-university-vs-university"),
    Case("entity", "Institute of Nuclear Physics", "Institute of Physics",
           "extra-distinctive-word"),
]


# --- normalization and keys ---


@pytest.mark.parametrize(("name", "expected"), [
    ("Сидоров Иван Петрович", "sidorov ivan petrovich"),
    ("  KIM   Jung-ho ", "kim jungho"),
    ("김정호", "gim jeongho"),
    ("남궁민수", "namgung minsu"),
    ("이민준", "i minjun"),
    ("Объединённый", "obedinennyy"),
    ("O'Brien", "obrien"),
    ("Müller-Lüdenscheidt", "muller ludenscheidt"),
    ("Al-Rashid", "al rashid"),
    ("I.P. Sidorov", "i p sidorov"),
    ("ФГУП «ПО „Маяк“»", "fgup po mayak"),
    ("邓小平", "deng xiaoping"),
])
def test_normalize_name_writes_latin_lower_case_tokens(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


def test_hangul_organisation_names_are_not_split_like_person_names() -> None:
    assert normalize_name("(주)한빛테크", kind="entity") == "jusikhoesa hanbittekeu"
    assert normalize_name("한국원자력연구원") == "hangukwonjaryeokyeonguwon"


def test_name_tokens_splits_the_normalized_name() -> None:
    assert name_tokens("Choe Ryong-hae") == ["choe", "ryonghae"]


@pytest.mark.parametrize("spellings", [
    "Yuri Iouri Jurij Yuriy Youri",
    "Khodorkovsky Chodorkowski Hodorkovskiy Khodorkovskiy",
    "Sergei Sergey Sergej Serguei",
    "Aleksandr Alexander Alexandr Oleksandr",
    "Pyotr Petr Piotr Pjotr Peter Petro",
    "Zhukov Joukov Jukov",
    "Tsoi Tsoy Coj",
    "Shcherbakov Scherbakov Szczerbakow Schtscherbakow",
    "Petrov Petrof Petroff Petrow",
    "Tchaikovsky Chaikovsky Tschaikowski Czajkowski",
    "Kaspersky Kasperskiy Kasperski Kasperskii Kasperskij",
    "Evgeny Yevgeniy Jewgeni Evgenii",
    "Kim Gim",
    "Lee Yi Rhee I Ri",
    "Park Bak Pak",
    "Choi Choe",
    "Jung Jeong Chung Jong",
    "Jinwoo Jinu",
    "Sunghoon Seonghun",
    "Minjun Minjoon",
])
def test_transliterations_of_one_name_share_a_skeleton_key(spellings: str) -> None:
    key_sets = [set(skeleton_keys(normalize_name(s))) for s in spellings.split()]
    assert set.intersection(*key_sets), key_sets


@pytest.mark.parametrize("spellings", ["Ivan Ivana", "Minjun Minjin", "Sunghoon Sunhee",
                                       "Petrov Petrenko", "Gagarin Garin"])
def test_different_names_do_not_share_a_skeleton_key(spellings: str) -> None:
    first, second = (set(skeleton_keys(normalize_name(s))) for s in spellings.split())
    assert not first & second


# --- scores ---


@pytest.mark.parametrize("case", HITS, ids=_why)
def test_same_name_written_differently_scores_as_a_hit(case: Case) -> None:
    assert score_names(case.listed, case.applicant, kind=case.kind) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("case", MISSES, ids=_why)
def test_different_names_sharing_words_score_below_the_threshold(case: Case) -> None:
    assert score_names(case.listed, case.applicant, kind=case.kind) < DEFAULT_THRESHOLD


def test_tables_hold_at_least_25_cases_each() -> None:
    assert len(HITS) >= 25
    assert len(MISSES) >= 25


@pytest.mark.parametrize("case", HITS[:10] + MISSES[:10], ids=_why)
def test_score_is_symmetric(case: Case) -> None:
    forward = score_names(case.listed, case.applicant, kind=case.kind)
    assert forward == pytest.approx(score_names(case.applicant, case.listed, kind=case.kind))


def test_identical_names_score_one_and_empty_names_zero() -> None:
    assert score_names("Ivan Sidorov", "Ivan Sidorov") == 1.0
    assert score_names("", "Ivan Sidorov") == 0.0
    assert score_names("!!!", "...") == 0.0


def test_missing_patronymic_scores_higher_than_missing_given_name() -> None:
    full = "Ivan Petrovich Sidorov"
    assert score_names(full, "Ivan Sidorov") > score_names(full, "Petrovich Sidorov")


def test_initials_score_lower_than_full_given_names() -> None:
    assert score_names("Ivan Sidorov", "I. Sidorov") < score_names("Ivan Sidorov",
                                                                    "Sidorov Ivan")


def test_legal_form_makes_names_compare_as_entities() -> None:
    assert score_names("Romashka LLC", "OOO Romashka") == score_names(
        "Romashka LLC", "OOO Romashka", kind="entity")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Invalid name kind"):
        score_names("a", "b", kind="vessel")


# --- the matcher ---


_GIVEN = ["Ivan", "Sergei", "Olga", "Anna", "Dmitry", "Elena", "Min-jun", "Ji-woo", "Seo-yeon",
          "Sung-hoon", "John", "Mary", "Ahmed", "Wei"]
_FAMILY = ["Petrov", "Ivanova", "Smirnov", "Kuznetsova", "Kim", "Lee", "Park", "Choi",
           "Smith", "Brown", "Hassan", "Wang", "Melnyk", "Shevchenko"]


def _filler() -> list[SanctionsEntry]:
    """Return person and entity entries sharing common words with the tables."""
    entries = [
        SanctionsEntry(id=f"p{i}", name=f"{given} {family}", type="person", list_name="filler")
        for i, (given, family) in enumerate(itertools.product(_GIVEN, _FAMILY))
    ]
    words = ["Institute of", "State", "Nuclear", "Research", "Energy", "Physics", "Korea"]
    entries += [
        SanctionsEntry(id=f"e{i}", name=f"{a} {b} Centre LLC", type="entity", list_name="filler")
        for i, (a, b) in enumerate(itertools.permutations(words, 2))
    ]
    return entries


def _listed(cases: list[Case]) -> list[SanctionsEntry]:
    return [SanctionsEntry(id=f"case{i}", name=c.listed, type=c.kind, list_name="test")
            for i, c in enumerate(cases)]


@pytest.fixture(scope="module")
def hit_matcher() -> SanctionsMatcher:
    return SanctionsMatcher(_listed(HITS) + _filler())


@pytest.fixture(scope="module")
def miss_matcher() -> SanctionsMatcher:
    return SanctionsMatcher(_listed(MISSES) + _filler())


@pytest.mark.parametrize(("index", "case"), list(enumerate(HITS)),
                         ids=[c.why for c in HITS])
def test_matcher_finds_the_listed_name_among_others(hit_matcher: SanctionsMatcher, index: int,
                                                    case: Case) -> None:
    hits = hit_matcher.match(case.applicant, kind=case.kind)
    assert f"case{index}" in [h.entry.id for h in hits]


@pytest.mark.parametrize(("index", "case"), list(enumerate(MISSES)),
                         ids=[c.why for c in MISSES])
def test_matcher_does_not_report_a_near_miss(miss_matcher: SanctionsMatcher, index: int,
                                             case: Case) -> None:
    hits = miss_matcher.match(case.applicant, kind=case.kind)
    assert f"case{index}" not in [h.entry.id for h in hits]


def test_blocking_loses_no_hit_that_scoring_every_entry_finds() -> None:
    entries = _listed(HITS) + _listed(MISSES) + _filler()
    matcher = SanctionsMatcher(entries)
    for case in HITS + MISSES:
        expected = {e.id for e in entries if e.type == case.kind
                    and score_names(e.name, case.applicant, kind=case.kind) >= DEFAULT_THRESHOLD}
        found = {h.entry.id for h in matcher.match(case.applicant, kind=case.kind)}
        assert found == expected, case


def test_matcher_scores_only_names_sharing_words_with_the_query() -> None:
    matcher = SanctionsMatcher(_filler())
    # Ivan appears with 14 surnames and Petrov with 14 given names; nothing else is scored.
    assert matcher.count_candidates("Ivan Petrov") < 30
    assert matcher.count_candidates("Zbigniew Brzezinski") == 0


def test_hits_are_sorted_best_first_and_name_the_alias_that_matched() -> None:
    matcher = SanctionsMatcher([
        SanctionsEntry(id="1", name="Ivan Petrovich Sidorov", type="person", list_name="EU"),
        SanctionsEntry(id="2", name="Jean Dupont", aliases=["Иван Сидоров"], type="person",
                       list_name="UN"),
        SanctionsEntry(id="3", name="I. Sidorov", type="person", list_name="US"),
    ])
    hits = matcher.match("Ivan Sidorov")
    assert [h.entry.id for h in hits] == ["2", "1", "3"]
    assert hits[0].matched_name == "Иван Сидоров"
    assert hits[0].score == 1.0
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_match_only_returns_entries_of_the_asked_kind() -> None:
    matcher = SanctionsMatcher([
        SanctionsEntry(id="p", name="Mayak Ivanov", type="person", list_name="EU"),
        SanctionsEntry(id="e", name="Mayak Ivanov LLC", type="entity", list_name="EU"),
    ])
    assert [h.entry.id for h in matcher.match("Mayak Ivanov", kind="entity")] == ["e"]
    assert [h.entry.id for h in matcher.match("Mayak Ivanov", kind="person")] == ["p"]


def test_country_agreement_lifts_a_borderline_score_but_is_never_required() -> None:
    listed, applicant = "Ivan Petrovich Sidorov", "I. P. Sidorov"
    score = score_names(listed, applicant)
    entry = SanctionsEntry(id="1", name=listed, country="RU", type="person", list_name="EU")
    matcher = SanctionsMatcher([entry], threshold=score + 0.02)
    assert matcher.match(applicant) == []
    assert matcher.match(applicant, country="KZ") == []
    assert [h.entry.id for h in matcher.match(applicant, country="ru")] == ["1"]
    assert SanctionsMatcher([entry]).match("Ivan Sidorov", country="KZ")


def test_empty_query_has_no_hits() -> None:
    matcher = SanctionsMatcher(_filler())
    assert matcher.match("") == []
    assert matcher.match(" - ") == []


def test_invalid_threshold_kind_and_entry_type_are_refused() -> None:
    with pytest.raises(ValueError, match="Invalid threshold"):
        SanctionsMatcher([], threshold=0)
    with pytest.raises(ValueError, match="Invalid name kind"):
        SanctionsMatcher([]).match("x", kind="vessel")
    with pytest.raises(ValueError, match="Invalid entry type"):
        SanctionsMatcher([SanctionsEntry(id="1", name="x", type="vessel", list_name="EU")])
