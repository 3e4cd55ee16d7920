"""Sanctions screening of a whole proposal against an imported list: names written in another
script, another order or with a slip are hits; similar names of other people are not.

Run with ``-s`` to see the figures (hits found, false hits).
"""

from __future__ import annotations

import pytest

from center.core.db import db
from center.proposals import services as proposals
from center.proposals.models import Proposal, ProposalInstitute, ProposalStatus
from center.screening import services
from center.tenants import services as tenants
from center.tenants.models import Role
from tests.screening.conftest import People, import_list
from tests.support.states import put_in_state
from tests.world import World

#: The list as a sanctions office publishes it: original scripts, legal forms, countries.
LISTED = [
    ("Сидоров Иван Петрович", "RU", "person"),
    ("Ходорковский Михаил Борисович", "RU", "person"),
    ("김정호", "KP", "person"),
    ("박성훈", "KR", "person"),
    ("Aleksandr Petrov", "RU", "person"),
    ("Olga Kovalenko", "UA", "person"),
    ("Choi Min-jun", "KR", "person"),
    ("Dmitriy Medvedev", "RU", "person"),
    ("Natalia Sokolova", "RU", "person"),
    ("Lee Jin-woo", "KR", "person"),
    ("ФГУП «ПО „Маяк“»", "RU", "entity"),
    ("Институт ядерной физики", "RU", "entity"),
    ("JSC Rosatom", "RU", "entity"),
    ("(주)한빛테크", "KR", "entity"),
]

#: (as written on the proposal, the listed name it must hit, how it differs)
HITS = [
    ("Ivan Sidorov", "Сидоров Иван Петрович", "cyrillic to latin, patronymic dropped"),
    ("Sidorov Ivan Petrovich", "Сидоров Иван Петрович", "transliterated, surname first"),
    ("Mikhail Khodorkovsky", "Ходорковский Михаил Борисович", "english transliteration"),
    ("Michail Chodorkowski", "Ходорковский Михаил Борисович", "german transliteration"),
    ("Kim Jung-ho", "김정호", "hangul to common romanization"),
    ("Jung Ho Kim", "김정호", "hangul, given name first"),
    ("Gim Jeong Ho", "김정호", "hangul to revised romanization"),
    ("Sung Hoon Park", "박성훈", "hangul, given name first"),
    ("Bak Seong-hun", "박성훈", "revised romanization of Park"),
    ("Alexander Petrof", "Aleksandr Petrov", "both words misspelt"),
    ("Petrov Aleksandr", "Aleksandr Petrov", "re-ordered"),
    ("Medvedev Dmitriy", "Dmitriy Medvedev", "re-ordered"),
    ("Kovalenko Olga", "Olga Kovalenko", "re-ordered"),
    ("Olha Kovalenko", "Olga Kovalenko", "ukrainian form of the given name"),
    ("Olga Kovalenk", "Olga Kovalenko", "letter missing"),
    ("Choe Minjun", "Choi Min-jun", "choi as choe, hyphen dropped"),
    ("Dmitri Medvedew", "Dmitriy Medvedev", "german w, iy as i"),
    ("Natalya Sokolova", "Natalia Sokolova", "ia as ya"),
    ("Natalia Sokolva", "Natalia Sokolova", "letter missing"),
    ("Yi Jinwoo", "Lee Jin-woo", "lee as yi"),
    ("Rhee Jin Woo", "Lee Jin-woo", "lee as rhee, given name split"),
    ("Federal State Unitary Enterprise Mayak Production Association", "ФГУП «ПО „Маяк“»",
     "legal forms spelled out in english"),
    ("Institut Yadernoy Fiziki", "Институт ядерной физики", "transliterated"),
    ("Institut Jadernoj Fiziki", "Институт ядерной физики", "german transliteration"),
    ("АО «Росатом»", "JSC Rosatom", "cyrillic with russian legal form"),
    ("Rosatom OAO", "JSC Rosatom", "other legal form, re-ordered"),
    ("Rosatom JSC", "JSC Rosatom", "re-ordered"),
    ("주식회사 한빛테크", "(주)한빛테크", "korean legal form spelled out"),
]

#: Other people and bodies whose names look alike: none may hit.
MISSES = [
    ("Sergei Sidorov", "same surname, other given name"),
    ("Ivan Sidorenko", "same given name, other surname stem"),
    ("Kim Ji-woo", "kim, other given name"),
    ("Kim Jung-hoon", "one syllable differs"),
    ("Park Sun-hee", "park, similar given name"),
    ("Park Sung-min", "park, one syllable differs"),
    ("Aleksandr Petrenko", "petrenko is not petrov"),
    ("Nikolai Petrov", "petrov, other given name"),
    ("Olga Kovalchuk", "kovalchuk is not kovalenko"),
    ("Choi Min-jin", "one syllable differs"),
    ("Dmitry Medvedchuk", "medvedchuk is not medvedev"),
    ("Natalia Soboleva", "soboleva is not sokolova"),
    ("Lee Jin-wook", "final consonant differs"),
    ("Ivan Petrovich", "a given name and a patronymic only"),
    ("Institute of Physics", "generic words only"),
    ("Mayak Trading LLC", "shares one word with a listed body"),
    ("Rosneft JSC", "other company, same legal form"),
    ("한빛소프트", "other korean company"),
    ("Institute of Nuclear Research", "other institute"),
    ("Rosatom Bank", "another body named after a listed one"),
]

ENTITY_WORDS = ("Institut", "Institute", "JSC", "OAO", "LLC", "Enterprise", "Bank",
                "АО", "주식회사", "한빛", "Rosneft", "Mayak")


def _is_entity(name: str) -> bool:
    return any(word in name for word in ENTITY_WORDS)


def _csv() -> str:
    return "".join(f'"{name}",,{country},{kind},Consolidated list,REF.{i}\n'
                   for i, (name, country, kind) in enumerate(LISTED, start=1))


@pytest.fixture()
def screened(in_tenant: World, people: People) -> dict[str, set[str]]:
    """One proposal naming every test name (people in its team, bodies in its consortium),
    screened against the list: what each name hit."""
    applicant = people[Role.applicant]
    import_list(_csv(), by=people[Role.officer], label="Consolidated list")
    proposal = db.session.get(Proposal, in_tenant.a.ids["proposal_id"])
    lead = proposal.partners[0].institute_id
    written = [name for name, _listed, _why in HITS] + [name for name, _why in MISSES]
    for name in written:
        if _is_entity(name):
            institute = tenants.add_institute(by=applicant, name=name, country_code="KZ",
                                              city="Almaty")
            db.session.flush()
            proposals.add_partner(proposal, institute, lead=False, by=applicant)
        else:  # a citizen of a third country: no bonus for the listed country
            proposals.add_team_member(proposal, by=applicant, name=name, role="scientist",
                                      institute_id=lead, citizenship="KZ")
    put_in_state(proposal, ProposalStatus.submitted, by=people[Role.officer])
    report = services.screen_proposal(proposal, by=people[Role.officer])
    found: dict[str, set[str]] = {name: set() for name in written}
    for hit in report.hits:
        if hit.subject_name in found:
            found[hit.subject_name].add(hit.entry.name)
    return found


def test_the_figures_transliterated_reordered_misspelt_hit_and_lookalikes_do_not(
        screened: dict[str, set[str]]) -> None:
    found = [name for name, listed, _ in HITS if listed in screened[name]]
    wrong = [name for name, listed, _ in HITS if screened[name] - {listed}]
    false_hits = [name for name, _ in MISSES if screened[name]]
    print(f"\nsanctions screening: {len(found)}/{len(HITS)} variants of listed names found, "
          f"{len(wrong)} matched a wrong entry, {len(false_hits)}/{len(MISSES)} "
          f"look-alikes falsely hit")
    assert len(found) == len(HITS), [n for n, _, _ in HITS if n not in found]
    assert wrong == []
    assert false_hits == []


@pytest.mark.parametrize(("written", "listed", "why"), HITS, ids=[h[2] for h in HITS])
def test_a_listed_name_written_another_way_is_a_hit(screened: dict[str, set[str]],
                                                    written: str, listed: str,
                                                    why: str) -> None:
    assert screened[written] == {listed}


@pytest.mark.parametrize(("written", "why"), MISSES, ids=[m[1] for m in MISSES])
def test_a_similar_name_of_someone_else_is_no_hit(screened: dict[str, set[str]],
                                                 written: str, why: str) -> None:
    assert screened[written] == set()


def test_an_institute_is_screened_under_its_name_in_its_own_script_too(
        submitted: Proposal, people: People, in_tenant: World) -> None:
    applicant = people[Role.applicant]
    import_list('"Институт ядерной физики",,,entity,National list,N.1\n',
                by=people[Role.officer])
    institute = tenants.add_institute(by=applicant, name="Almaty Nuclear Institute",
                                      local_name="Институт ядерной физики",
                                      country_code="KZ", city="Almaty")
    db.session.flush()
    # The proposal is submitted, so the set-up adds the partner directly, not as an edit.
    submitted.partners.append(ProposalInstitute(institute_id=institute.id, institute=institute))
    report = services.screen_proposal(submitted, by=people[Role.officer])
    assert [(h.subject_name, h.subject_detail) for h in report.hits] == [
        ("Институт ядерной физики", "KZ")]
