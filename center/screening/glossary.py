"""What the words of institutes', banks' and companies' names mean, for screening names
written in Russian or Korean (or shortened on an affiliation line) against list entries that
give them in English.

Transliteration alone cannot match "Институт ядерной физики" to "Institute of Nuclear
Physics", nor "국방과학원" to "Academy of National Defense Science": the words must be
translated. `translated` gives a name's English reading from the terms below, kept by
hand for the words of science, industry and finance that names of bodies are made of;
`center.screening.names` scores it as another reading of the name, beside its
transliteration (a proper name such as 련봉 or "Hyoksin" keeps its sound). Adding a term:
the Russian stem as `anyascii` writes it in lower case (it matches every inflection that
begins so), the Korean word in Hangul (the longest term is taken first), the English in
the words a list writes.
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii

#: Korean words in names of bodies, longest first when matched.
HANGUL_TERMS: dict[str, str] = {
    "조선": "korea", "한국": "korea", "대한민국": "republic of korea", "북한": "korea",
    "민주주의인민공화국": "democratic peoples republic", "국가": "state", "국립": "national",
    "중앙": "central", "제1": "first", "제2": "second", "제3": "third",
    "원자력": "atomic energy", "핵": "nuclear", "물리": "physics", "화학": "chemistry",
    "생물": "biology", "생명공학": "biotechnology", "의학": "medical", "전자": "electronics",
    "통신": "communications", "우주": "space", "항공": "aerospace", "기계": "machinery",
    "자연": "natural", "과학": "science", "기술": "technology", "공학": "engineering",
    "과학원": "academy of sciences", "과학기술원": "institute of science and technology",
    "연구원": "research institute", "연구소": "research institute", "연구": "research",
    "대학교": "university", "대학": "university", "학원": "academy", "아카데미": "academy",
    "국방": "national defense", "총국": "general bureau", "위원회": "committee",
    "광업": "mining", "개발": "development", "무역": "trading", "상업": "commercial",
    "은행": "bank", "총회사": "general corporation", "회사": "corporation", "상사": "trading",
    "공사": "corporation", "총회": "association", "협회": "association", "재단": "foundation",
    "센터": "center", "공업": "industry", "산업": "industry", "수출입": "export import",
    "합영": "joint venture", "대외": "foreign", "보험": "insurance", "해운": "shipping",
    "민족": "national",
}

#: Russian stems (as anyascii writes them) and what they mean; a stem matches the words
#: that begin with it (every case and gender of an adjective).
RUSSIAN_STEMS: dict[str, str] = {
    "institut": "institute", "akademi": "academy", "nauchno": "scientific",
    "nauchn": "scientific", "nauk": "sciences", "issledovatel": "research",
    "issledovani": "research",
    "universitet": "university", "iadern": "nuclear", "yadern": "nuclear",
    "atomn": "atomic", "fizik": "physics", "fiziko": "physics", "khimi": "chemistry",
    "tekhnologi": "technology", "tekhnich": "technical", "tekhnicheskiy": "technical",
    "energetich": "energy", "energi": "energy", "biologi": "biology", "meditsin": "medical",
    "federaln": "federal", "gosudarstvenn": "state", "natsionaln": "national",
    "tsentraln": "central", "tsentr": "center", "eksperimentaln": "experimental",
    "prikladn": "applied", "teoretich": "theoretical", "aerogidrodinamich":
    "aerohydrodynamic", "vserossiisk": "all russian", "vserossiysk": "all russian",
    "rossiisk": "russian", "rossiysk": "russian", "bank": "bank", "laborator": "laboratory",
    "kosmich": "space", "raketn": "rocket", "aviatsionn": "aviation",
    "mashinostroeni": "machine building", "priborostroeni": "instrument making",
    "konstruktorsk": "design", "biuro": "bureau", "byuro": "bureau",
    "obedinenn": "joint", "matematich": "mathematical",
    "matematik": "mathematics", "radiotekhnich": "radio engineering",
    "elektronn": "electronic", "elektronik": "electronics", "optich": "optical",
    "lazern": "laser", "materialovedeni": "materials science", "khimichesk": "chemical",
    "promyshlenn": "industrial", "predpriiati": "enterprise", "predpriyati": "enterprise",
    "korporatsi": "corporation", "kompani": "company", "zavod": "plant",
    "otdelenie": "branch", "sibirsk": "siberian", "dalnevostochn": "far eastern",
    "ural": "ural", "moskovsk": "moscow", "sankt": "saint", "peterburgsk": "petersburg",
}

#: Two words read as one phrase: "физико-технический" is "of Physics and Technology",
#: though "технической физики" alone is "of Technical Physics".
RUSSIAN_COMPOUNDS: dict[tuple[str, str], str] = {
    ("fiziko", "tekhnich"): "physics technology",
    ("nauchno", "issledovatel"): "scientific research",
}
#: Titles between "imeni" and the surname: "imeni professora N. E. Zhukovskogo".
RUSSIAN_TITLES: dict[str, str] = {"professora": "professor", "akademika": "academician",
                                  "general": "general", "marshala": "marshal"}

#: Russian abbreviations of the academies, as lists spell them out.
RUSSIAN_ABBREVIATIONS: dict[str, str] = {
    "ran": "russian academy of sciences", "nan": "national academy of sciences",
}

#: Shortened words of affiliation lines ("Inst. Nucl. Phys., Acad. Sci.").
ENGLISH_ABBREVIATIONS: dict[str, str] = {
    "inst": "institute", "univ": "university", "acad": "academy", "sci": "sciences",
    "nucl": "nuclear", "phys": "physics", "chem": "chemistry", "tech": "technology",
    "technol": "technology", "res": "research", "natl": "national", "nat": "national",
    "lab": "laboratory", "labs": "laboratories", "ctr": "center", "cent": "center",
    "dept": "department", "fed": "federal", "appl": "applied", "exp": "experimental",
    "expt": "experimental", "eng": "engineering", "engn": "engineering", "mat": "materials",
    "biol": "biology", "med": "medical", "theor": "theoretical", "math": "mathematics",
    "gen": "general", "corp": "corporation",
}

#: Surnames in the genitive after "imeni" (named after): Zhukovskogo -> Zhukovsky.
_GENITIVE_SURNAME = ((re.compile(r"(sk|tsk|ck)ogo$"), r"\1y"), (re.compile(r"ova$"), "ov"),
                     (re.compile(r"eva$"), "ev"), (re.compile(r"ina$"), "in"))
_NAMED_AFTER = frozenset({"imeni", "im"})
_HANGUL_RUN = re.compile("[\uac00-\ud7a30-9]+")
_LONGEST_FIRST = sorted(HANGUL_TERMS, key=len, reverse=True)
_RUSSIAN_LONGEST_FIRST = sorted(RUSSIAN_STEMS, key=len, reverse=True)
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def _hangul_words(run: str) -> str:
    """A run of Hangul read term by term, longest first; what no term covers is kept."""
    out, rest, i = [], "", 0
    while i < len(run):
        term = next((t for t in _LONGEST_FIRST if run.startswith(t, i)), None)
        if term is None:
            rest += run[i]
            i += 1
            continue
        if rest:
            out.append(rest)
            rest = ""
        out.append(HANGUL_TERMS[term])
        i += len(term)
    if rest:
        out.append(rest)
    return " ".join(out)


def _russian_word(word: str, named_after: bool) -> str:
    if named_after:
        for pattern, replacement in _GENITIVE_SURNAME:
            if pattern.search(word):
                return pattern.sub(replacement, word)
        return word
    stem = next((s for s in _RUSSIAN_LONGEST_FIRST if word.startswith(s)), None)
    return RUSSIAN_STEMS[stem] if stem else word


@lru_cache(maxsize=32768)
def translated(name: str) -> str | None:
    """The name's English reading from the glossary, or None when it has no term to read.

    Hangul is read term by term; a name in Cyrillic is transliterated and its words read by
    stem (and a surname after "imeni" put in the nominative); a Latin name has its
    affiliation-line abbreviations written out.
    """
    text = name
    changed = False
    if _HANGUL_RUN.search(text):
        text = _HANGUL_RUN.sub(lambda m: f" {_hangul_words(m.group())} ", text)
        changed = text != name
    cyrillic = bool(_CYRILLIC.search(text))
    latin = (anyascii(text) if cyrillic else text).casefold().replace("'", "")
    words = re.findall(r"[a-z0-9]+|[^\sa-z0-9]+", latin)
    out: list[str] = []
    named_after = False  # after "imeni", until the surname (titles and initials come first)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not re.match(r"[a-z0-9]", word):
            out.append(" " if cyrillic else word)
            continue
        if not cyrillic:
            new = ENGLISH_ABBREVIATIONS.get(word, word)
        elif named_after and word in RUSSIAN_TITLES:
            new = RUSSIAN_TITLES[word]
        else:
            following = next((w for w in words[i:] if re.match(r"[a-z0-9]", w)), "")
            compound = next((phrase for (a, b), phrase in RUSSIAN_COMPOUNDS.items()
                             if word.startswith(a) and following.startswith(b)), None)
            if compound is not None:
                new = compound
                i = words.index(following, i) + 1
            else:
                surname = named_after and len(word) > 2
                new = RUSSIAN_ABBREVIATIONS.get(word) or _russian_word(word, surname)
                named_after = (named_after and not surname) or word in _NAMED_AFTER
        changed = changed or new != word
        out.append(new)
    reading = " ".join(" ".join(out).split())
    return reading if changed else None
