"""Name matching for sanctions and export-control screening.

Pure Python (no Flask, no database): the screening services feed it list entries and the
names of applicants and institutes, and it answers with scored hits for an officer to clear.

How two names are compared:

1. ``normalize_name`` brings every script to Latin (Hangul with our own Revised Romanization,
   everything else through ``anyascii``), case-folds, and strips punctuation and diacritics.
2. Each token gets *skeleton keys* (``skeleton_keys``): a phonetic spelling in which the usual
   transliterations of one Russian, Ukrainian or Korean name meet (Khodorkovsky, Chodorkowski
   and Hodorkovskiy all become ``hodorkovski``; Jeong, Jung, Chung and Jong all become ``jung``).
3. ``score_names`` aligns the tokens of both names without regard to order: equal tokens score
   1.0, equal skeletons 0.95, a close spelling its Levenshtein similarity, an initial against
   a full name 0.75. Low-weight tokens (patronymics, particles, legal forms such as "JSC",
   "ФГУП" or "주식회사", and generic words such as "Institute of") count for little, so a
   missing patronymic or a different legal form costs almost nothing, while a different
   given name or a different distinctive word costs a lot.
4. ``SanctionsMatcher`` indexes a list by skeleton, consonant and prefix keys so that a query
   scores only the names sharing two of its words (or all the words the listed name has, or
   one rare word) instead of every entry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

from center.screening import glossary

__all__ = [
    "DEFAULT_THRESHOLD",
    "Hit",
    "SanctionsEntry",
    "SanctionsMatcher",
    "name_tokens",
    "normalize_name",
    "score_names",
    "skeleton_keys",
]

Kind = Literal["person", "entity"]
KINDS: tuple[Kind, ...] = ("person", "entity")

#: Scores at or above this are hits. With the weights below, a name whose identifying
#: tokens all agree up to transliteration and at most one further slip (a one-letter typo, a
#: missing middle name or patronymic, an initial for the given name) scores 0.85 or more,
#: while a name with one identifying token in disagreement (another given name beside the
#: same surname, another patronymic, another distinctive word in an institute's name) scores
#: 0.77 at most. 0.85 is the floor of the first band, leaving a margin of 0.08 above the
#: second; names with two slips at once (both tokens misspelt) fall below and need an alias
#: on the list. Erring low is deliberate: a false hit costs an officer a look, a missed hit is
#: the failure screening exists to prevent.
DEFAULT_THRESHOLD = 0.85

#: Added when the query's country equals the entry's: enough to lift a borderline name over
#: the threshold, never enough to make a different name a hit, and never required.
COUNTRY_BONUS = 0.03

#: Token similarity for equal skeletons (the same name in another transliteration).
SKELETON_SIMILARITY = 0.95
#: Token similarity for an initial against a full given name or patronymic with that letter.
INITIAL_SIMILARITY = 0.75
#: Below this a fuzzy token similarity counts as no match at all: one edit is tolerated in
#: a word of five letters or more, two in a word of ten or more.
TOKEN_FLOOR = 0.8
#: Subtracted from fuzzy similarity when both tokens could be Korean syllables: one letter
#: is a different syllable there (Min-jun and Min-jin are two names, not a typo).
KOREAN_FUZZY_PENALTY = 0.25
#: Subtracted from fuzzy similarity of short tokens, where one letter is a lot.
SHORT_FUZZY_PENALTY = 0.1
#: Factor for a given name or surname aligned with the other name's patronymic.
CROSS_ROLE_FACTOR = 0.6
#: Ceiling for a person when only one of several substantive tokens agrees: a shared
#: surname alone must never be a hit.
ONE_TOKEN_CAP = 0.7
#: Ceiling for an entity whose names share no distinctive word.
NO_DISTINCTIVE_CAP = 0.5
#: Subtracted when both person names carry a patronymic and they disagree.
PATRONYMIC_CONFLICT = 0.1

#: Token weights by role, and the penalty when a token of that role on the fuller name is
#: left unmatched. Persons tolerate a missing middle name; entities do not tolerate a
#: missing distinctive word ("Institute of Physics" is not "Institute of Nuclear Physics").
_PERSON_WEIGHT = {"name": 1.0, "initial": 0.5, "patronymic": 0.3, "particle": 0.2}
_PERSON_PENALTY = {"name": 0.1, "initial": 0.05, "patronymic": 0.03, "particle": 0.02}
_ENTITY_WEIGHT = {"name": 1.0, "generic": 0.3, "legal": 0.05, "stop": 0.05}
_ENTITY_PENALTY = {"name": 0.25, "generic": 0.04, "legal": 0.01, "stop": 0.01}
#: The most that unmatched generic words and legal forms can cost an entity.
_ENTITY_MINOR_PENALTY_CAP = 0.1
#: A query word shared with at most this many listed names is rare enough that all of them
#: are scored even when no second word agrees (Michail Chodorkowski still finds Mikhail
#: Khodorkovsky, whose given name shares no key with Michail).
RARE_WORD_POSTINGS = 100


def _words(text: str) -> list[str]:
    return text.split()


# --- Hangul --------------------------------------------------------------------------------

_HANGUL_BASE = 0xAC00
_HANGUL_LAST = 0xD7A3
# Revised Romanization, syllable by syllable (how Korean names are written, without the
# sound changes across syllables that RR applies to ordinary words).
_RR_INITIAL = _words("g kk n d tt r m b pp s ss - j jj ch k t p h")
_RR_VOWEL = _words("a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i")
_RR_FINAL = _words("- k k k n n n t l k m l l l p l m p p t t ng t t k t p t")

#: Common Korean surnames as written in Hangul; a 2-4 syllable word starting with one is
#: split into surname and given name, as people write it in Latin letters.
_HANGUL_SURNAMES = frozenset(_words(
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 유 전 홍 고 문 양 손 배 백 허 남 "
    "심 노 하 곽 성 차 주 우 구 민 진 나 지 엄 변 채 원 천 방 공 현 함 염 여 추 도 소 석 선 설 "
    "마 길 연 위 표 명 기 반 왕 금 옥 육 인 맹 제 모 탁 국 어 은 편 용 예 경 봉 사 부 가 복 태 "
    "목 형 계 피 두 감 음 빈 동 온 호 범 좌 팽 승 간 상 시 갈 단 견 당 리 라 로 룡 림"
))
_HANGUL_COMPOUND_SURNAMES = frozenset(_words("남궁 황보 제갈 선우 독고 사공 서문 동방"))
#: Hangul words that are never split as a person's name: legal forms and organisation words.
_HANGUL_ORG_SUFFIXES = (
    "회사", "법인", "연구소", "연구원", "대학교", "대학", "공사", "재단", "협회", "학회", "센터",
    "그룹", "은행", "병원", "전자", "기술", "산업", "공업", "화학", "건설", "무역", "상사", "물산",
    "제약", "통신", "과학", "에너지", "위원회", "조합",
)
_HANGUL_ABBREVIATIONS = (
    ("(주)", "주식회사"), ("(유)", "유한회사"), ("(재)", "재단법인"), ("(사)", "사단법인"),
)
_HANGUL_RUN = re.compile(f"[{chr(_HANGUL_BASE)}-{chr(_HANGUL_LAST)}]+")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")

# --- Latin clean-up ------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02bc\u02b9\u00b4]")
_HYPHENATED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# A syllable of romanized Korean in any of the usual systems (RR, McCune-Reischauer without
# diacritics, the informal spellings in passports: Kim, Jung, Hoon, Woo, Young, Choi).
_KO_ONSET = r"(?:kk|tt|pp|ss|jj|ch|sh|[gkndtrlmbpsjh])?"
_KO_VOWEL = (
    r"(?:yeo|yae|wae|weo|woo|yoo|you|yeu|eui|ya|yo|yu|ye|wa|wo|we|wi|wu|oe|oi|ui|eu|eo|ae|ai"
    r"|oo|ou|ee|ea|a|e|i|o|u)"
)
_KO_CODA = r"(?:ng|[kgntdlmpb])?"
_KO_SYLLABLE = f"{_KO_ONSET}{_KO_VOWEL}{_KO_CODA}"
_ONE_KOREAN_SYLLABLE = re.compile(_KO_SYLLABLE)
_KOREAN_LIKE = re.compile(f"(?:{_KO_SYLLABLE}){{1,3}}")
# Korean given names are one or two syllables in the common spellings (no "ai", "ea", "oi");
# longer Korean-looking tokens are mostly Russian (Mikhail, Nikolai) and keep ordinary typo
# tolerance.
_KO_NAME_SYLLABLE = (
    f"{_KO_ONSET}(?:yeo|yae|wae|woo|yoo|you|ya|yo|yu|ye|wa|wo|we|wi|oe|ui|eu|eo|ae|oo|ou|ee"
    f"|a|e|i|o|u){_KO_CODA}"
)
_KOREAN_NAME_LIKE = re.compile(f"(?:{_KO_NAME_SYLLABLE}){{1,2}}")
_KO_SCAN = re.compile(
    r"yeo|yae|wae|weo|woo|yoo|you|yeu|eui|ya|yo|yu|ye|wa|wo|we|wi|wu|oe|oi|ui|eu|eo|ae|ai"
    r"|oo|ou|ee|ea|ng|kk|tt|pp|ss|jj|ch|sh|[a-z0-9]"
)
# Korean sounds that romanizations spell differently are folded together: the vowels of
# 정/중/종 (eo, u, o), 재/제 (ae, e), 희 (hee, hui, heui), 최 (oi, oe); the consonants that
# RR and McCune-Reischauer write g/k, d/t, b/p, j/ch, r/l.
_KO_FOLD = {
    "yeo": "yu", "yo": "yu", "you": "yu", "yoo": "yu", "yu": "yu", "yeu": "yu",
    "eo": "u", "o": "u", "oo": "u", "ou": "u", "u": "u", "eu": "u", "woo": "u", "wu": "u",
    "ae": "e", "e": "e", "ai": "e", "ea": "e",
    "ee": "i", "i": "i", "ui": "i", "eui": "i",
    "yae": "ye", "ye": "ye", "wae": "we", "we": "we", "oe": "we", "oi": "we",
    "wo": "wo", "weo": "wo",
    "k": "g", "kk": "g", "t": "d", "tt": "d", "p": "b", "pp": "b", "ch": "j", "jj": "j",
    "sh": "s", "ss": "s", "r": "l",
}

#: Korean surnames whose usual Latin spellings no letter rule brings together, mapped to
#: their Revised Romanization (Lee/Yi/Rhee/I/Ri, Park/Bak/Pak, Choi/Choe, Jung/Jeong/Chung).
_KOREAN_SURNAME_VARIANTS = {
    "gim": "kim ghim gim",
    "i": "lee yi rhee rhie ri li i lie rhi",
    "bak": "park pak bak bahk pahk",
    "choe": "choi choe chey choy",
    "jeong": "jung jeong chung cheong joung jong",
    "gang": "kang gang",
    "jo": "cho jo joh",
    "yun": "yoon yun youn",
    "jang": "jang chang",
    "im": "lim im rim yim",
    "o": "oh o",
    "seo": "seo suh seoh sur",
    "sin": "shin sin shinn",
    "gwon": "kwon gwon kweon",
    "hwang": "hwang whang",
    "an": "ahn an",
    "yu": "yoo yu you ryu ryoo lyu rhyu",
    "jeon": "jeon jun chun chon cheon",
    "go": "ko go koh goh",
    "mun": "moon mun",
    "son": "son sohn",
    "bae": "bae pae bai",
    "baek": "baek paik paek baik back",
    "heo": "heo hur huh her",
    "no": "noh roh no ro",
    "gwak": "kwak gwak",
    "seong": "sung seong",
    "u": "woo u wu",
    "jin": "jin chin",
    "ji": "ji chi jee",
    "eom": "um eom uhm",
    "byeon": "byun byeon pyun pyon byon",
    "sim": "shim sim",
    "gu": "koo gu ku goo",
    "ju": "ju joo chu choo",
    "na": "na ra nah",
}

# --- Person and entity vocabularies ---------------------------------------------------------

# A patronymic: Russian/Ukrainian/Belarusian -ovich/-ovna and their German, French and Polish
# spellings. Only the second or last of three or more name tokens is taken for one, because
# Abramovich or Lukashevich alone is a surname.
_PATRONYMIC = re.compile(
    r"(?:ov|ev|yev|iev)(?:ich|itch|itsch|icz|ic|ych|na)$|(?:ich|in)(?:na|ichna)$|ichna$|"
    r"(?:ovych|evych|ivna|yivna|ivich)$"
)
_PARTICLES = frozenset(_words(
    "al el ul ud bin ibn bint ben van von der den de di da du del della la le dos das "
    "oglu ogly ogli uly kyzy qizi"
))

#: Legal-form phrases, spelled out in English or transliterated Russian, folded to the
#: abbreviation so that "Open Joint Stock Company X" and "OAO X" line up token by token.
_LEGAL_PHRASES = tuple(
    (tuple(phrase.split()), abbreviation)
    for phrase, abbreviation in (
        ("open joint stock company", "ojsc"),
        ("closed joint stock company", "cjsc"),
        ("public joint stock company", "pjsc"),
        ("joint stock company", "jsc"),
        ("limited liability company", "llc"),
        ("federal state unitary enterprise", "fgup"),
        ("federal state budgetary educational institution", "fgbou"),
        ("federal state budgetary institution", "fgbu"),
        ("state unitary enterprise", "gup"),
        ("production association", "po"),
        ("research and production association", "npo"),
        ("scientific production association", "npo"),
        ("otkrytoe aktsionernoe obshchestvo", "oao"),
        ("zakrytoe aktsionernoe obshchestvo", "zao"),
        ("publichnoe aktsionernoe obshchestvo", "pao"),
        ("aktsionernoe obshchestvo", "ao"),
        ("obshchestvo s ogranichennoy otvetstvennostyu", "ooo"),
        ("federalnoe gosudarstvennoe unitarnoe predpriyatie", "fgup"),
        ("federalnoe gosudarstvennoe byudzhetnoe uchrezhdenie", "fgbu"),
        ("gosudarstvennoe unitarnoe predpriyatie", "gup"),
        ("proizvodstvennoe obedinenie", "po"),
        ("tovaristvo z obmezhenoyu vidpovidalnistyu", "tov"),
        ("state corporation", "goskorporatsiya"),
    )
)
_LEGAL_FORMS = frozenset(_words(
    "jsc ojsc cjsc pjsc ao oao zao pao ooo odo tov pat prat vat zat dp fgup fgbu fgbou fgau "
    "fgbun fgunu gup mup ano nko npo po llc ltd limited inc incorporated corp corporation co "
    "company plc gmbh mbh ag kg sa sas sarl srl spa bv nv ab oy oyj kk pte pty lp llp "
    "holding holdings group goskorporatsiya enterprise jusikhoesa yuhanhoesa hapjahoesa "
    "hapmyeonghoesa jaedanbeopin sadanbeopin"
))
_ENTITY_STOPWORDS = frozenset(_words(
    "of the and for named after in on at im imeni a an de la du des der die und fur y i "
    "pri"
))
#: Words that say what kind of body it is rather than which one.
_GENERIC_ORG_WORDS = frozenset(_words(
    "institute institut instituta university universitet universiteta college academy "
    "akademiya akademii research scientific science sciences nauk nauchnyy nauchno "
    "issledovatelskiy issledovatelskii nii center centre tsentr tsentra laboratory "
    "laboratoriya national natsionalnyy international state federal gosudarstvennyy "
    "federalnyy russian rossiyskoy rossiyskiy rossiyskaya rossii russia ukraine ukrainian "
    "ukrainy korea korean republic ran nan ras nas so association foundation fund society "
    "bureau byuro department ministry branch filial division yeonguwon yeonguso daehakgyo "
    "daehak general siberian"
))

# --- Slavic and general letter rules --------------------------------------------------------

# Signs of a German, Polish or Czech transliteration, where ch is kh, w is v, j is y and c
# is ts: Chodorkowski, Jurij, Tschaikowski, Coj.
_SLAVIC_LATIN = re.compile(r"[aeiou]j(?![aeiou])|w(?![aeiouy])|cz|sz|tsch|sch")
_VOWELS = "aeiouy"

#: Russian, Ukrainian and Belarusian forms of one given name that letter rules cannot join.
_GIVEN_NAME_VARIANTS = (
    "aleksandr oleksandr aliaksandr",
    "aleksandra oleksandra aliaksandra",
    "aleksei oleksii oleksiy aliaksei",
    "andrei andrii andriy",
    "vasili vasyl vasil",
    "vladimir volodymyr uladzimir",
    "grigori hryhorii hryhoriy grigoriy",
    "dmitri dmytro dzmitry",
    "evgeni yevhen yevheniy ievgen evgen yevhenii",
    "ekaterina kateryna katsiaryna",
    "galina halyna",
    "igor ihar ihor",
    "mikhail mykhailo mikhailo mikhal",
    "nikolai mykola mikalai",
    "oleg oleh aleh",
    "olga olha volha",
    "pavel pavlo paval",
    "petr petro pyotr",
    "sergei serhii serhiy siarhei",
    "tatiana tetiana tatsiana",
    "georgi heorhii heorhiy",
    "gennadi hennadii hennadiy",
    "natalia nataliia natallia",
    "konstantin kostiantyn kanstantsin",
    "elena olena",
    "lyudmila liudmyla ludmila",
    "valentin valentyn",
    "viktoriya viktoriia",
    "yulia yuliia",
)


# --- Normalization ---------------------------------------------------------------------------


def normalize_name(name: str, *, kind: Kind | None = None) -> str:
    """Return the name in lower-case Latin letters and digits, one space between tokens.

    Hangul is romanized syllable by syllable, and a 2-4 syllable word that starts with a
    Korean surname is written as surname and given name (``김정호`` -> ``gim jeongho``) unless
    ``kind`` is ``"entity"``. Hyphenated Korean given names are joined (``jin-woo`` ->
    ``jinwoo``); other hyphens separate tokens.
    """
    text = unicodedata.normalize("NFKC", name)
    for abbreviation, full in _HANGUL_ABBREVIATIONS:
        text = text.replace(abbreviation, f" {full} ")
    split = kind != "entity"
    text = _HANGUL_RUN.sub(lambda m: f" {_romanize_hangul_word(m.group(), split)} ", text)
    text = _HAN_RUN.sub(lambda m: f" {_romanize_han_word(m.group(), split)} ", text)
    text = anyascii(text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _HYPHENATED.sub(_join_korean_hyphenation, text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


def name_tokens(name: str, *, kind: Kind | None = None) -> list[str]:
    """Return the normalized tokens of a name."""
    return normalize_name(name, kind=kind).split()


def _romanize_syllable(char: str) -> str:
    index = ord(char) - _HANGUL_BASE
    initial, rest = divmod(index, 588)
    vowel, final = divmod(rest, 28)
    parts = (_RR_INITIAL[initial], _RR_VOWEL[vowel], _RR_FINAL[final])
    return "".join(p for p in parts if p != "-")


def _romanize_hangul_word(word: str, split_surname: bool) -> str:
    latin = "".join(_romanize_syllable(ch) for ch in word)
    if not split_surname or not 2 <= len(word) <= 4 or word.endswith(_HANGUL_ORG_SUFFIXES):
        return latin
    if len(word) >= 3 and word[:2] in _HANGUL_COMPOUND_SURNAMES:
        cut = 2
    elif word[0] in _HANGUL_SURNAMES:
        cut = 1
    else:
        return latin
    surname = "".join(_romanize_syllable(ch) for ch in word[:cut])
    given = "".join(_romanize_syllable(ch) for ch in word[cut:])
    return f"{surname} {given}"


def _romanize_han_word(word: str, split_surname: bool) -> str:
    # Chinese names: a one-character surname, then the given name written as one word.
    if split_surname and 2 <= len(word) <= 3:
        return f"{anyascii(word[0])} {anyascii(word[1:])}"
    return anyascii(word)


def _join_korean_hyphenation(match: re.Match[str]) -> str:
    parts = match.group().split("-")
    if len(parts) <= 3 and all(_ONE_KOREAN_SYLLABLE.fullmatch(p) for p in parts):
        return "".join(parts)
    return " ".join(parts)


# --- Skeleton keys ---------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def skeleton_keys(token: str) -> tuple[str, ...]:
    """Return the phonetic keys of one normalized token, the general key first.

    The general key folds the Latin spellings of Slavic names (kh/ch/h, w/v, x/ks, y/j/i,
    -sky/-skiy/-ski, ё as yo/io/jo/e, shch/sch/szcz). Tokens that could be romanized Korean
    also get a Korean key (vowels eo/o/u, consonants g/k, d/t, b/p, j/ch folded), and known
    Korean surnames their table key. Two tokens are the same name when any key agrees.
    """
    keys = []
    surname = _KOREAN_SURNAME_KEYS.get(token)
    if surname:
        keys.append(surname)
    general = _phonetic(token)
    keys.append(_GIVEN_NAME_KEYS.get(general, general))
    if _is_korean_like(token):
        keys.append(_korean_key(token))
    return tuple(dict.fromkeys(keys))


@lru_cache(maxsize=65536)
def _is_korean_like(token: str) -> bool:
    """Say whether a token could be one to three romanized Korean syllables."""
    return bool(_KOREAN_LIKE.fullmatch(token))


def _korean_key(token: str) -> str:
    key = "".join(_KO_FOLD.get(part, part) for part in _KO_SCAN.findall(token))
    key = re.sub(r"^[lr](?=[iy])", "", key)  # Ri/Lee/Ryu: the initial-sound rule of the South
    return re.sub(r"(.)\1+", r"\1", key)


def _phonetic(token: str) -> str:
    s = token
    slavic = bool(_SLAVIC_LATIN.search(s))
    # Uppercase letters are placeholders (C for ч, Q for ц) that later rules leave alone.
    for old, new in (("schtsch", "s"), ("shch", "s"), ("szcz", "s"), ("chtch", "s"),
                     ("tsch", "C"), ("tch", "C"), ("cz", "C"),
                     ("sch", "s"), ("sz", "s"), ("sh", "s"), ("zh", "j"), ("kh", "h")):
        s = s.replace(old, new)
    s = s.replace("ch", "h" if slavic else "C")
    # Q stands for ц: ts, tz, and c where it is not an English k (Coj, Cvetkov; not Carl).
    s = s.replace("ck", "k").replace("ts", "Q").replace("tz", "Q")
    if not slavic:
        s = re.sub(r"c(?=[aoulrtk])", "k", s)
    s = s.replace("c", "Q")
    s = s.replace("x", "ks").replace("q", "k").replace("ph", "f").replace("th", "t")
    s = re.sub(r"gu(?=[ei])", "g", s).replace("gh", "g")
    # Vowel spellings: Iouri, Joukov (French ou); Korean-style eo, oo, ee that Latin
    # spellings of Korean and Russian names share.
    s = s.replace("woo", "u").replace("oo", "u").replace("ou", "u")
    s = re.sub(r"eo(?=[nglkmp])", "u", s)
    s = re.sub(r"ee$", "i", s).replace("eui", "i").replace("ui", "i")
    # y, j and i as glides and vowels.
    if slavic and re.match(r"j[aeiou]", s):
        s = "y" + s[1:]
    s = re.sub(r"^iu", "yu", s)
    s = re.sub(r"^i(?=[aoe])", "y", s)
    s = re.sub(r"^ye", "e", s)
    s = re.sub(r"(?<=[aeio])[yj](?=e)", "", s)  # Andreyev, Dostojewski
    s = re.sub(r"([^aeiouy])[yij]o(?=[^aeiouy])", r"\1e", s)  # ё: Pyotr, Piotr, Pjotr
    s = re.sub(r"(?<=[aeiou])j(?![aeiou])", "i", s)  # Sergej, Andrej, Jurij
    if slavic:
        s = re.sub(r"(?<=[^aeiou])j(?=[aeiou])", "i", s)  # Marja, Semjon
    s = s[:1] + s[1:].replace("y", "i") if s.startswith("y") else s.replace("y", "i")
    s = s.replace("w", "v")
    s = re.sub(r"(?<=[aeiou])h(?![aeiou])", "", s)  # Ahmed/Akhmed, Sohn/Son
    s = re.sub(r"(.)\1+", r"\1", s)
    s = re.sub(r"f$", "v", s)  # Petrof, Petroff
    s = re.sub(r"(?<=[bdgkptv])er$", "r", s)  # Alexander, Peter
    return s.replace("C", "ch").replace("Q", "c")


def _build_surname_keys() -> dict[str, str]:
    keys = {}
    for romanized, variants in _KOREAN_SURNAME_VARIANTS.items():
        canonical = _korean_key(romanized)
        for variant in variants.split():
            keys[variant] = canonical
    return keys


def _build_given_name_keys() -> dict[str, str]:
    keys = {}
    for group in _GIVEN_NAME_VARIANTS:
        names = group.split()
        canonical = _phonetic(names[0])
        for variant in names:
            keys[_phonetic(variant)] = canonical
    return keys


_KOREAN_SURNAME_KEYS = _build_surname_keys()
_GIVEN_NAME_KEYS = _build_given_name_keys()


# --- Prepared names ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    role: str
    weight: float


@dataclass(frozen=True, slots=True)
class _Variant:
    """One way of reading a name's tokens, with the sums that scoring needs."""

    tokens: tuple[_Token, ...]
    weight: float
    #: Tokens that identify: given names, surnames and initials (persons), distinctive words
    #: (entities).
    substantive: int
    has_patronymic: bool

    @classmethod
    def of(cls, tokens: tuple[_Token, ...]) -> _Variant:
        return cls(tokens, sum(t.weight for t in tokens),
                   sum(t.role in _SUBSTANTIVE for t in tokens),
                   any(t.role == "patronymic" for t in tokens))


@dataclass(frozen=True, slots=True)
class _PreparedName:
    kind: Kind
    tokens: tuple[_Token, ...]
    #: The tokens, and the tokens with two adjacent Korean syllables joined (Jin Woo, Jinwoo).
    variants: tuple[_Variant, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(t.norm for t in self.tokens)


_SUBSTANTIVE = frozenset({"name", "initial"})


def _make_token(norm: str, role: str, kind: Kind) -> _Token:
    weights = _PERSON_WEIGHT if kind == "person" else _ENTITY_WEIGHT
    return _Token(norm, role, weights[role])


def _person_roles(norms: Sequence[str]) -> list[str]:
    roles = []
    for norm in norms:
        if len(norm) == 1 and norm.isalpha():
            roles.append("initial")
        elif norm in _PARTICLES:
            roles.append("particle")
        else:
            roles.append("name")
    names = [i for i, role in enumerate(roles) if role == "name"]
    if len(names) >= 3:
        # Given Patronymic Surname, or Surname Given Patronymic.
        for i in (names[1], names[-1]):
            if _PATRONYMIC.search(norms[i]):
                roles[i] = "patronymic"
                break
    return roles


def _entity_roles(norms: Sequence[str]) -> list[str]:
    roles = []
    for norm in norms:
        if norm in _LEGAL_FORMS:
            roles.append("legal")
        elif norm in _ENTITY_STOPWORDS or (len(norm) == 1 and norm.isalpha()):
            roles.append("stop")
        elif norm in _GENERIC_ORG_WORDS:
            roles.append("generic")
        else:
            roles.append("name")
    if "name" not in roles:
        # "National Research University": the generic words are all there is to compare.
        roles = ["name" if role == "generic" else role for role in roles]
    return roles


def _fold_legal_phrases(norms: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(norms):
        for phrase, abbreviation in _LEGAL_PHRASES:
            if tuple(norms[i:i + len(phrase)]) == phrase:
                out.append(abbreviation)
                i += len(phrase)
                break
        else:
            out.append(norms[i])
            i += 1
    return out


def _looks_like_entity(norms: Sequence[str]) -> bool:
    return any(n in _LEGAL_FORMS or n in _GENERIC_ORG_WORDS for n in _fold_legal_phrases(
        list(norms)))


def _entity_tokens(name: str) -> tuple[_Token, ...]:
    norms = _fold_legal_phrases(name_tokens(name, kind="entity"))
    return tuple(_make_token(n, r, "entity") for n, r in zip(norms, _entity_roles(norms),
                                                             strict=True))


#: "named after Professor N. E. Zhukovsky", "imeni akademika Zababakhina": a dedication
#: that one list gives and another leaves out.
_DEDICATION = re.compile(r"\b(?:named\s+after|imeni|имени|им\.)\s.*$", re.IGNORECASE)


def _entity_readings(name: str, *, screened: bool) -> list[str]:
    """The ways an entity's name may be written short: the name; without the dedication
    ("... named after N. E. Zhukovsky"); and for a ``screened`` name (not a list's), which
    may be an affiliation line, its part before the first comma (the rest is the place:
    "Tanchon Commercial Bank, Pyongyang"). A list's own entry is not cut at its comma:
    "MINISTRY OF DEFENCE, <country>" must not become any ministry of defence."""
    readings = [name]
    if screened and "," in name:
        readings.append(name.split(",", 1)[0])
    readings += [short for r in list(readings) if (short := _DEDICATION.sub("", r).strip())
                 and short != r]
    return readings


@lru_cache(maxsize=32768)
def _prepare(name: str, kind: Kind, *, screened: bool = False) -> _PreparedName:
    if kind == "entity":
        variants: list[tuple[_Token, ...]] = []
        for reading in _entity_readings(name, screened=screened):
            # Each reading, and its English one (center/screening/glossary.py): "Институт
            # ядерной физики" is scored as "institute nuclear physics" too.
            english = glossary.translated(reading)
            for text in (reading, english) if english else (reading,):
                tokens = _entity_tokens(text)
                if tokens and tokens not in variants:
                    variants.append(tokens)
        tokens = variants[0] if variants else ()
        return _PreparedName(kind, tokens, tuple(_Variant.of(v) for v in variants))
    norms = name_tokens(name, kind=kind)
    roles = _person_roles(norms)
    tokens = tuple(_make_token(n, r, kind) for n, r in zip(norms, roles, strict=True))
    variants = [tokens]
    for i in range(len(tokens) - 1):
        a, b = tokens[i], tokens[i + 1]
        if (a.role == b.role == "name" and _ONE_KOREAN_SYLLABLE.fullmatch(a.norm)
                and _ONE_KOREAN_SYLLABLE.fullmatch(b.norm)):
            joined = _make_token(a.norm + b.norm, "name", kind)
            variants.append((*tokens[:i], joined, *tokens[i + 2:]))
    return _PreparedName(kind, tokens, tuple(_Variant.of(v) for v in variants))


# --- Scoring ----------------------------------------------------------------------------------


@lru_cache(maxsize=262144)
def _spelling_similarity(a: str, b: str) -> float:
    """Similarity of two normalized tokens, ignoring their roles in the name."""
    if a == b:
        return 1.0
    keys_a, keys_b = skeleton_keys(a), skeleton_keys(b)
    if set(keys_a) & set(keys_b):
        return SKELETON_SIMILARITY
    if len(a) == 1 or len(b) == 1:
        if len(a) == len(b):
            return 0.0
        initial, full = (a, b) if len(a) == 1 else (b, a)
        return INITIAL_SIMILARITY if full[0] == initial else 0.0
    similarity = max(Levenshtein.normalized_similarity(a, b),
                     Levenshtein.normalized_similarity(keys_a[-1], keys_b[-1]),
                     Levenshtein.normalized_similarity(keys_a[0], keys_b[0]))
    if _KOREAN_NAME_LIKE.fullmatch(a) and _KOREAN_NAME_LIKE.fullmatch(b):
        similarity -= KOREAN_FUZZY_PENALTY
    elif min(len(a), len(b)) <= 4:
        similarity -= SHORT_FUZZY_PENALTY
    return similarity if similarity >= TOKEN_FLOOR else 0.0


def _token_similarity(a: _Token, b: _Token) -> float:
    similarity = _spelling_similarity(a.norm, b.norm)
    if similarity and a.role != b.role and {a.role, b.role} == _NAME_AND_PATRONYMIC:
        similarity *= CROSS_ROLE_FACTOR
        if similarity < TOKEN_FLOOR:
            return 0.0
    return similarity


_NAME_AND_PATRONYMIC = frozenset({"name", "patronymic"})


def _align(a: Sequence[_Token], b: Sequence[_Token]) -> list[tuple[float, int, int]]:
    """Pair tokens best first, each token at most once (greedy is exact enough for names)."""
    candidates = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            similarity = _token_similarity(x, y)
            if similarity:
                candidates.append((-similarity, i, j))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for similarity, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((-similarity, i, j))
    return pairs


def _score_variants(a: _Variant, b: _Variant, kind: Kind) -> float:
    """Score two readings of names: how much of the shorter the longer covers, less extras."""
    if not a.tokens or not b.tokens:
        return 0.0
    if (b.weight, len(b.tokens)) < (a.weight, len(a.tokens)):
        a, b = b, a
    short, long = a.tokens, b.tokens
    pairs = _align(short, long)
    if not pairs:
        return 0.0
    # A pair counts with the lighter of its two weights, so "I." against "Ivan" weighs as an
    # initial whichever name holds the initial.
    lighter = [(s, min(short[i].weight, long[j].weight), short[i].weight) for s, i, j in pairs]
    coverage = (sum(s * w for s, w, _ in lighter)
                / (a.weight - sum(full - w for _, w, full in lighter)))
    matched_long = {j for _, _, j in pairs}
    unmatched = [t for j, t in enumerate(long) if j not in matched_long]

    if kind == "person":
        score = coverage - sum(_PERSON_PENALTY[t.role] for t in unmatched)
        if a.has_patronymic and b.has_patronymic and not any(
                short[i].role == "patronymic" or long[j].role == "patronymic"
                for _, i, j in pairs):
            score -= PATRONYMIC_CONFLICT
        matched = sum(1 for _, i, j in pairs
                      if short[i].role in _SUBSTANTIVE and long[j].role in _SUBSTANTIVE)
        if max(a.substantive, b.substantive) >= 2 and matched < 2:
            score = min(score, ONE_TOKEN_CAP)
    else:
        major = sum(_ENTITY_PENALTY["name"] for t in unmatched if t.role == "name")
        minor = sum(_ENTITY_PENALTY[t.role] for t in unmatched if t.role != "name")
        score = coverage - major - min(minor, _ENTITY_MINOR_PENALTY_CAP)
        if not any(short[i].role == long[j].role == "name" for _, i, j in pairs):
            score = min(score, NO_DISTINCTIVE_CAP)
    return max(0.0, min(1.0, score))


def _score_prepared(a: _PreparedName, b: _PreparedName) -> float:
    return max(_score_variants(x, y, a.kind) for x in a.variants for y in b.variants)


def score_names(a: str, b: str, *, kind: Kind | None = None) -> float:
    """Return how alike two names are, from 0.0 (nothing shared) to 1.0 (the same).

    Without ``kind``, names with a legal form or a generic organisation word ("LLC",
    "Institute") are compared as entities, all others as persons.
    """
    if kind is None:
        kind = "entity" if _looks_like_entity(name_tokens(a) + name_tokens(b)) else "person"
    elif kind not in KINDS:
        raise ValueError(f"Invalid name kind: {kind!r}")
    return _score_prepared(_prepare(a, kind), _prepare(b, kind))


# --- Screening against a list -------------------------------------------------------------------


@dataclass(slots=True)
class SanctionsEntry:
    """One person or entity on a sanctions or export-control list."""

    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    country: str | None = None
    type: Kind = "person"
    list_name: str = ""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """A list entry that one of its names (``matched_name``) matched with ``score``."""

    entry: SanctionsEntry
    matched_name: str
    score: float


def _blocking_keys(token: _Token) -> set[str]:
    keys = set()
    for key in skeleton_keys(token.norm):
        keys.add("s" + key)
        keys.add("c" + key[:1] + re.sub(r"(.)\1+", r"\1", re.sub(f"[{_VOWELS}]", "", key[1:])))
        if len(key) >= 6:
            keys.add("p" + key[:4])
    return keys


def _indexed_tokens(name: _PreparedName) -> list[_Token]:
    """Return the tokens worth indexing: substantive words, and joined Korean syllables."""
    seen = {}
    for variant in name.variants:
        for token in variant.tokens:
            if token.role == "name":
                seen.setdefault(token.norm, token)
    return list(seen.values())


class SanctionsMatcher:
    """Screen names against a list, scoring only the entries that share words with the name."""

    def __init__(self, entries: Iterable[SanctionsEntry],
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"Invalid threshold: {threshold!r}")
        self.threshold = threshold
        self.entries: tuple[SanctionsEntry, ...] = tuple(entries)
        #: (entry index, the name as written, the prepared name), by name id.
        self._names: list[tuple[int, str, _PreparedName]] = []
        #: How many indexed words each name has, by name id.
        self._indexed: list[int] = []
        self._postings: dict[Kind, dict[str, list[int]]] = {kind: {} for kind in KINDS}
        for index, entry in enumerate(self.entries):
            if entry.type not in KINDS:
                raise ValueError(f"Invalid entry type for {entry.id}: {entry.type!r}")
            seen = set()
            for text in (entry.name, *entry.aliases):
                prepared = _prepare(text, entry.type)
                if not prepared.tokens or prepared.key in seen:
                    continue
                seen.add(prepared.key)
                name_id = len(self._names)
                self._names.append((index, text, prepared))
                indexed = _indexed_tokens(prepared)
                self._indexed.append(len(indexed))
                postings = self._postings[entry.type]
                keys = set().union(*(_blocking_keys(t) for t in indexed))
                for key in keys:
                    postings.setdefault(key, []).append(name_id)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, name: str, *, kind: Kind = "person",
              country: str | None = None) -> list[Hit]:
        """Return the entries of ``kind`` whose name or an alias matches, best first.

        An entry whose country equals ``country`` gets ``COUNTRY_BONUS`` added to its score.
        """
        if kind not in KINDS:
            raise ValueError(f"Invalid name kind: {kind!r}")
        query = _prepare(name, kind, screened=True)
        if not query.tokens:
            return []
        best: dict[int, tuple[float, str]] = {}
        for name_id in self._candidates(query):
            index, text, prepared = self._names[name_id]
            score = _score_prepared(query, prepared)
            if score > best.get(index, (-1.0, ""))[0]:
                best[index] = (score, text)
        hits = []
        wanted = country.strip().upper() if country else None
        for index, (score, text) in best.items():
            entry = self.entries[index]
            if wanted and entry.country and entry.country.upper() == wanted:
                score = min(1.0, score + COUNTRY_BONUS)
            if score >= self.threshold:
                hits.append(Hit(entry, text, round(score, 4)))
        hits.sort(key=lambda h: (-h.score, str(h.entry.id), h.matched_name))
        return hits

    def count_candidates(self, name: str, *, kind: Kind = "person") -> int:
        """Return how many listed names ``match`` would score for ``name`` (for benchmarks)."""
        query = _prepare(name, kind, screened=True)
        return len(self._candidates(query)) if query.tokens else 0

    def _candidates(self, query: _PreparedName) -> list[int]:
        """Return the names sharing enough indexed words with the query to be worth scoring.

        A hit needs two identifying words in agreement (see ``ONE_TOKEN_CAP`` for persons;
        an entity loses 0.25 for each distinctive word left over), so a name must share keys
        with two of the query's words, or with as many as it has (I. Sidorov has one). A name
        sharing a rare word with the query is scored whatever else it shares.
        """
        postings = self._postings[query.kind]
        required = max(1, min(2, sum(1 for t in query.tokens if t.role == "name")))
        counts: dict[int, int] = {}
        rare: set[int] = set()
        for token in _indexed_tokens(query):
            ids: set[int] = set()
            for key in _blocking_keys(token):
                ids.update(postings.get(key, ()))
            for name_id in ids:
                counts[name_id] = counts.get(name_id, 0) + 1
            same: set[int] = set()
            for key in skeleton_keys(token.norm):
                same.update(postings.get("s" + key, ()))
            if len(same) <= RARE_WORD_POSTINGS:
                rare |= same
        indexed = self._indexed
        return [name_id for name_id, count in counts.items()
                if count >= min(required, indexed[name_id]) or name_id in rare]
