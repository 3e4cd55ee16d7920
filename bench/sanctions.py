"""Print figures for sanctions name matching on a synthetic list.

Run from the project root::

    .venv/bin/python -m bench.sanctions [--size 20000] [--queries 2000] [--seed 7]

It builds a list of Russian (Cyrillic, with a Latin alias), Korean (Hangul, with a Latin
alias), other persons and institutes, then reports:

* how long indexing takes, and matches per second for random applicant names;
* how many listed names each query scores (the blocking at work);
* hits found / total on the must-hit table and false hits / total on the must-miss table
  of ``tests/screening/test_names.py``, with those names added to the synthetic list;
* blocking recall: for a sample of queries, the hits found by the index against those found
  by scoring every entry.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from pathlib import Path

from anyascii import anyascii

from center.screening.names import (
    DEFAULT_THRESHOLD,
    SanctionsEntry,
    SanctionsMatcher,
    normalize_name,
    score_names,
)

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "tests" / "screening" / "test_names.py"

RU_MALE = ["Александр", "Алексей", "Андрей", "Антон", "Борис", "Вадим", "Валерий", "Василий", "Виктор", "Владимир", "Геннадий", "Георгий", "Григорий", "Дмитрий", "Евгений", "Иван", "Игорь", "Илья", "Кирилл", "Константин", "Леонид", "Максим", "Михаил", "Николай", "Олег", "Павел", "Пётр", "Роман", "Сергей", "Станислав", "Юрий", "Ярослав", "Фёдор", "Семён", "Артём", "Тимур", "Руслан", "Денис", "Вячеслав", "Анатолий"]
RU_FEMALE = ["Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Мария", "Екатерина", "Юлия", "Марина", "Людмила", "Галина", "Надежда", "Валентина", "Ксения", "Дарья", "Алёна", "Вера", "Лариса"]
RU_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев", "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов", "Анисимов", "Ерёмин", "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров", "Симонов", "Прокофьев", "Харитонов", "Князев", "Цветков", "Левин", "Митрофанов", "Воронов", "Аксёнов", "Софронов", "Мальцев", "Логинов", "Горшков", "Савин", "Краснов", "Майоров", "Демидов", "Елисеев", "Рыбаков", "Сафонов", "Плотников", "Дёмин", "Хохлов", "Жданов", "Ходорковский", "Чайковский", "Шевченко", "Бондаренко", "Коваленко", "Ткаченко", "Кравченко", "Мельник", "Олейник", "Ковальчук", "Лысенко", "Руденко", "Савченко", "Петренко", "Марченко"]
KO_SURNAMES = "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 전 홍 고 문 양 손 배 백 허 남 노"
KO_SYLLABLES = ["민", "준", "서", "연", "지", "우", "현", "수", "영", "호", "성", "훈", "진", "은", "혜", "희", "재", "동", "석", "철", "경", "상", "승", "주", "윤", "나", "하", "태", "용", "기", "정", "원", "선", "미", "소", "예", "도", "건", "유", "한", "광", "일", "명", "규", "범", "종"]
OTHER_GIVEN = ["John", "Mary", "James", "Robert", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Ahmed", "Mohammed", "Ali", "Hassan", "Omar", "Fatima", "Aisha", "Wei", "Li", "Ming", "Hiroshi", "Yuki", "Kenji", "Pierre", "Jean", "Marie", "Hans", "Klaus", "Giovanni", "Marco", "Carlos", "Jose", "Ana", "Nurlan", "Aibek", "Rustam", "Dilshod", "Gulnara", "Bakhyt"]
OTHER_SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Hassan", "Rahman", "Hussein", "Abdullah", "Khan", "Zhang", "Wang", "Liu", "Chen", "Yang", "Tanaka", "Suzuki", "Sato", "Dubois", "Martin", "Bernard", "Muller", "Schmidt", "Schneider", "Fischer", "Rossi", "Russo", "Garcia", "Rodriguez", "Lopez", "Nazarbayev", "Tokayev", "Aliyev", "Karimov", "Rakhimov", "Yusupov", "Ismailov", "Abdullayev"]
ORG_PLACES = ["Moscow", "Novosibirsk", "Tomsk", "Kharkiv", "Kyiv", "Dnipro", "Almaty", "Tashkent", "Minsk", "Yerevan", "Tbilisi", "Baku", "Daejeon", "Seoul", "Busan", "Sarov", "Snezhinsk", "Dubna", "Obninsk", "Lviv", "Odesa", "Samara", "Kazan", "Ural", "Siberian", "Far-Eastern", "Caspian", "Baltic", "Volga", "Korea"]
ORG_FIELDS = ["Nuclear Physics", "Plant Physiology", "Applied Mechanics", "Laser Technology", "Radio Engineering", "Semiconductor Devices", "Chemical Engineering", "Materials Science", "Space Research", "Automation", "Precision Instruments", "Optics", "Biochemistry", "Microbiology", "Electronics", "Robotics", "Aerospace Systems", "Energy Research", "Metallurgy", "Catalysis", "Polymer Chemistry", "Geophysics", "Oceanology", "Cryogenics", "Isotopes", "Reactor Materials", "Vacuum Technology", "Composite Materials"]
ORG_KINDS = ("Institute of {f}", "{p} Institute of {f}", "{f} Research Center",
             "{p} {f} Laboratory", "{p} State Institute of {f}", "{p} {f} Plant",
             "Scientific Production Association {p} {f}", "{p} Design Bureau of {f}")
LEGAL = ("JSC", "OJSC", "LLC", "Ltd", "FSUE", "OOO", "AO", "Co., Ltd.", "", "", "")
KO_ORG_WORDS = ["한빛", "미래", "우주", "첨단", "정밀", "광학", "에너지", "원자력", "신소재", "바이오", "전자", "반도체"]
KO_ORG_SUFFIX = ("연구소", "연구원", "테크", "산업", "시스템")


def _russian(rng: random.Random) -> tuple[str, list[str]]:
    female = rng.random() < 0.3
    given = rng.choice(RU_FEMALE if female else RU_MALE)
    father = rng.choice(RU_MALE).removesuffix("й").removesuffix("ь")
    surname = rng.choice(RU_SURNAMES)
    if female and surname.endswith(("ов", "ев", "ёв", "ин")):
        surname += "а"
    patronymic = father + ("овна" if female else "ович")
    cyrillic = f"{surname} {given} {patronymic}"
    return cyrillic, [anyascii(f"{given} {surname}")]


def _korean(rng: random.Random) -> tuple[str, list[str]]:
    hangul = rng.choice(KO_SURNAMES.split()) + "".join(rng.sample(KO_SYLLABLES, 2))
    family, first, second = (normalize_name(syllable) for syllable in hangul)
    return hangul, [f"{family.title()} {first.title()}-{second}"]


def _other(rng: random.Random) -> tuple[str, list[str]]:
    return f"{rng.choice(OTHER_GIVEN)} {rng.choice(OTHER_SURNAMES)}", []


def _entity(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.15:
        name = rng.choice(KO_ORG_WORDS) + rng.choice(KO_ORG_WORDS) + rng.choice(KO_ORG_SUFFIX)
        return rng.choice(("(주)", "주식회사 ", "")) + name, []
    pattern = rng.choice(ORG_KINDS)
    name = pattern.format(p=rng.choice(ORG_PLACES), f=rng.choice(ORG_FIELDS))
    legal = rng.choice(LEGAL)
    return (f"{legal} {name}" if rng.random() < 0.5 else f"{name} {legal}").strip(), []


def synthetic_entries(size: int, seed: int) -> list[SanctionsEntry]:
    """Return ``size`` entries, 80% persons and 20% institutes and companies."""
    rng = random.Random(seed)
    entries = []
    for i in range(size):
        roll = rng.random()
        if roll < 0.35:
            (name, aliases), kind, country = _russian(rng), "person", rng.choice(("RU", "UA"))
        elif roll < 0.6:
            (name, aliases), kind, country = _korean(rng), "person", rng.choice(("KR", "KP"))
        elif roll < 0.8:
            (name, aliases), kind, country = _other(rng), "person", None
        else:
            (name, aliases), kind, country = _entity(rng), "entity", rng.choice(("RU", "KR"))
        entries.append(SanctionsEntry(id=f"s{i}", name=name, aliases=aliases, country=country,
                                      type=kind, list_name="synthetic", reference=f"SYN-{i}"))
    return entries


def synthetic_queries(count: int, seed: int) -> list[tuple[str, str]]:
    """Return (kind, name) applicant names drawn like the list, in Latin letters mostly."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.35:
            name, aliases = _russian(rng)
            queries.append(("person", aliases[0] if rng.random() < 0.7 else name))
        elif roll < 0.6:
            name, aliases = _korean(rng)
            queries.append(("person", aliases[0] if rng.random() < 0.7 else name))
        elif roll < 0.8:
            queries.append(("person", _other(rng)[0]))
        else:
            queries.append(("entity", _entity(rng)[0]))
    return queries


def load_tables() -> tuple[list, list]:
    """Return the HITS and MISSES tables of the name-matching tests."""
    spec = importlib.util.spec_from_file_location("screening_name_tables", TABLES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HITS, module.MISSES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=40,
                        help="queries checked against scoring every entry")
    args = parser.parse_args()

    hits_table, misses_table = load_tables()
    entries = synthetic_entries(args.size, args.seed)
    table_entries = [
        SanctionsEntry(id=f"{label}{i}", name=case.listed, type=case.kind, list_name="tables")
        for label, table in (("hit", hits_table), ("miss", misses_table))
        for i, case in enumerate(table)
    ]
    names = sum(1 + len(e.aliases) for e in entries)

    started = time.perf_counter()
    matcher = SanctionsMatcher(entries + table_entries)
    built = time.perf_counter() - started
    print(f"list: {args.size} synthetic entries ({names} names with aliases) "
          f"+ {len(table_entries)} table entries; threshold {DEFAULT_THRESHOLD}")
    print(f"index built in {built:.2f} s")

    queries = synthetic_queries(args.queries, args.seed + 1)
    scored = 0
    with_hits = 0
    started = time.perf_counter()
    for kind, name in queries:
        hits = matcher.match(name, kind=kind)
        with_hits += bool(hits)
    elapsed = time.perf_counter() - started
    for kind, name in queries[:200]:
        scored += matcher.count_candidates(name, kind=kind)
    print(f"{len(queries)} random applicant names: {len(queries) / elapsed:,.0f} matches/s "
          f"({elapsed / len(queries) * 1000:.2f} ms each), "
          f"{scored / min(200, len(queries)):.0f} names scored per query on average, "
          f"{with_hits} with at least one hit (drawn from the list's own name pools, so "
          "many are on it)")

    found = sum(f"hit{i}" in {h.entry.id for h in matcher.match(c.applicant, kind=c.kind)}
                for i, c in enumerate(hits_table))
    false = sum(f"miss{i}" in {h.entry.id for h in matcher.match(c.applicant, kind=c.kind)}
                for i, c in enumerate(misses_table))
    print(f"test tables: hits found {found}/{len(hits_table)}, "
          f"false hits {false}/{len(misses_table)}")

    if args.sample <= 0:
        return
    sample = [(c.kind, c.applicant) for c in hits_table[: args.sample // 2]]
    sample += queries[: args.sample - len(sample)]
    everything = entries + table_entries
    agree = expected_total = 0
    for kind, name in sample:
        expected = {e.id for e in everything if e.type == kind
                    and max(score_names(n, name, kind=kind) for n in (e.name, *e.aliases))
                    >= DEFAULT_THRESHOLD}
        found_ids = {h.entry.id for h in matcher.match(name, kind=kind)}
        expected_total += len(expected)
        agree += len(expected & found_ids)
    print(f"blocking recall on {len(sample)} queries: {agree}/{expected_total} of the hits "
          "that scoring every entry finds")


if __name__ == "__main__":
    main()
