"""Screening candidates' institutions against the loaded lists (METI's End User List, the US
Consolidated Screening List, ...). Kakehashi cannot decide eligibility; it makes sure a listed
institution never passes unnoticed: every hit is shown with the list, the entry, the matched name,
the score and the list's date.

Names are compared after normalising them (`normal_name`: transliterated to Latin letters, case,
punctuation and legal forms such as "Co., Ltd." dropped, common abbreviations and romanisation
variants written one way, "Institute of X" and "X Institute" alike by sorting the words), each name
and alias of an institution against each name and alias of an entry, with RapidFuzz's token sort
ratio; a short name (one word, or under eight letters) must match exactly; an acronym matches an
acronym only in the same country. The country is a guard: an entry of another country is never a
hit. The threshold (`KAKEHASHI_SCREENING_THRESHOLD`) was chosen on a labelled set of name variants
(`data/evaluation/screening_names.json`, `bench/screening_quality.py`)."""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii
from rapidfuzz import fuzz, process

from indexer import schema
from indexer.screening_lists import list_entries, screening_generation, stored_lists

LEGAL_FORMS = frozenset(
    "co ltd limited inc incorporated corp corporation company llc plc gmbh ag sa sas srl bv nv jsc ojsc pjsc cjsc oao zao ooo pao "
    "llp pte pvt private public joint stock kg kk kabushiki kaisha sdn bhd".split()
)
STOPWORDS = frozenset("of the and for at in de del der des la le".split())
ABBREVIATIONS = {
    "univ": "university", "uni": "university", "inst": "institute", "instit": "institute", "tech": "technology",
    "technol": "technology", "acad": "academy", "sci": "science", "sciences": "science", "natl": "national", "nat": "national",
    "res": "research", "lab": "laboratory", "labs": "laboratory", "laboratories": "laboratory", "eng": "engineering",
    "ctr": "center", "cntr": "center", "centre": "center", "dept": "department", "intl": "international", "assn": "association",
    "mfg": "manufacturing", "elec": "electronic", "electronics": "electronic", "industries": "industry", "industrial": "industry",
    "technologies": "technology", "institutes": "institute", "universities": "university",
}
# romanisation and spelling variants of place names, written one way
VARIANTS = {
    "peking": "beijing", "peiping": "beijing", "qinghua": "tsinghua", "tientsin": "tianjin", "canton": "guangzhou",
    "chungking": "chongqing", "sian": "xian", "nanking": "nanjing", "moskva": "moscow", "moskovsky": "moscow", "kharkov": "kharkiv",
    "kiev": "kyiv", "teheran": "tehran", "isfahan": "esfahan", "mashad": "mashhad", "pyeongyang": "pyongyang", "nizhniy": "nizhny",
    "nizhnii": "nizhny", "sankt": "saint", "st": "saint", "peterburg": "petersburg", "defence": "defense", "aeronautic": "aeronautics",
}
# words that name a kind of organisation, not which one: a listed name's other words must all be found
GENERIC = frozenset(
    "university institute research center technology science academy national advanced laboratory engineering polytechnic "
    "polytechnical college school industry trading international system systems development organization group state applied "
    "special design bureau department faculty hospital medical key people republic central general federal ministry agency office "
    "commission association foundation society studies study council branch division unit factory plant works enterprise "
    "limited holding holdings".split()
)
SHORT = 8  # letters: a name this short (or of one word) must match exactly
CACHED = 50_000  # institutions' results kept


@dataclass(frozen=True)
class ListVersion:
    list_id: int  # the load (a dated version of a list)
    name: str
    as_of: str
    entries: int


@dataclass(frozen=True)
class Entry:
    list_id: int
    entry_id: str
    name: str
    aliases: tuple[str, ...]
    country: str | None
    remarks: str | None = None


@dataclass(frozen=True)
class ScreeningHit:
    list_name: str
    list_id: int
    as_of: str
    entry_id: str
    entry_name: str
    listed_as: str  # the entry's name or alias that matched
    institution: str  # the candidate's institution name or alias that matched
    score: float  # 0-100
    remarks: str | None = None

    @property
    def summary(self) -> str:
        return f"{self.list_name} ({self.as_of}): {self.entry_name} (matched {self.institution!r}, score {self.score:.0f})"


@lru_cache(maxsize=1 << 16)
def normal_name(name: str) -> str:
    """'Tsinghua Univ., Co. Ltd.' -> 'tsinghua university'; words sorted."""
    text = anyascii(unicodedata.normalize("NFKC", name)).lower().replace("&", " and ")
    text = re.sub(r"isation\b", "ization", text)
    text = re.sub(r"(?<![a-z])([a-z])\.", r"\1", text)  # "L.L.C." as "llc", "U.S." as "us"
    words = []
    for word in re.sub(r"[^a-z0-9]+", " ", text).split():
        word = VARIANTS.get(word, ABBREVIATIONS.get(word, word))
        if word not in LEGAL_FORMS and word not in STOPWORDS:
            words.append(word)
    return " ".join(sorted(words))


def _distinctive_words_found(listed: str, name: str) -> bool:
    """Whether every word of a listed name that says which organisation it is (not what kind) is in
    the name, allowing a letter or two ('Clearwater Centre for Advanced Research' is not 'Eastgate
    Centre for Advanced Research', however alike the rest)."""
    words = name.split()
    return all(any(fuzz.ratio(w, other) >= 80 for other in words) for w in listed.split() if w not in GENERIC)


def _acronym(name: str) -> str | None:
    """An acronym as written: one word of 2-8 capitals and digits ('NUDT', 'BUAA')."""
    stripped = name.strip().strip("()")
    return stripped if re.fullmatch(r"[A-Z][A-Z0-9&-]{1,7}", stripped) else None


def _acronyms_in(name: str) -> set[str]:
    """Acronyms a name spells out in brackets: 'Beihang University (BUAA)'."""
    return {a for a in (_acronym(p) for p in re.findall(r"\(([^)]*)\)", name)) if a}


class Screener:
    """The current version of each loaded list, ready to match names."""

    def __init__(self, versions: Sequence[ListVersion], entries: Sequence[Entry], threshold: float) -> None:
        self.versions = tuple(versions)
        self.threshold = threshold
        self._version = {v.list_id: v for v in versions}
        self._entries = tuple(entries)
        # per country (None: entries of no stated country, compared with every institution): the normal names and their entry
        self._names: dict[str | None, list[tuple[str, int, str]]] = {}
        self._acronyms: dict[tuple[str | None, str], list[tuple[int, str]]] = {}
        for index, entry in enumerate(entries):
            for written in (entry.name, *entry.aliases):
                acronym = _acronym(written)
                if acronym:
                    self._acronyms.setdefault((entry.country, acronym), []).append((index, written))
                    continue
                for found in _acronyms_in(written):
                    self._acronyms.setdefault((entry.country, found), []).append((index, written))
                normal = normal_name(written)
                if normal:
                    self._names.setdefault(entry.country, []).append((normal, index, written))
        self._choices = {country: [n for n, _, _ in names] for country, names in self._names.items()}
        self._cache: dict[tuple[tuple[str, ...], str | None], tuple[ScreeningHit, ...]] = {}  # institutions recur

    def __bool__(self) -> bool:
        return bool(self._entries)

    def screen(self, names: Sequence[str], country: str | None) -> tuple[ScreeningHit, ...]:
        """Hits of an institution known by these names (its name, aliases and acronyms) in this
        country (None: unknown, then every entry may match), the best per entry, best first."""
        key = (tuple(sorted(set(n for n in names if n))), country)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._screen(*key)
            if len(self._cache) > CACHED:
                del self._cache[next(iter(self._cache))]
        return found

    def _screen(self, names: tuple[str, ...], country: str | None) -> tuple[ScreeningHit, ...]:
        best: dict[int, tuple[float, str, str]] = {}
        for written in names:
            acronym = _acronym(written)
            if acronym:
                if country is not None:  # an acronym alone says nothing without the country
                    for index, listed in self._acronyms.get((country, acronym), []):
                        best[index] = max(best.get(index, (0.0, "", "")), (100.0, listed, written))
                continue
            for found in _acronyms_in(written) if country is not None else ():
                for index, listed in self._acronyms.get((country, found), []):
                    best[index] = max(best.get(index, (0.0, "", "")), (100.0, listed, written))
            normal = normal_name(written)
            if not normal:
                continue
            exact_only = " " not in normal or len(normal.replace(" ", "")) < SHORT
            for group in ({country, None} if country is not None else self._names.keys()):
                names_here = self._names.get(group)
                if not names_here:
                    continue
                matches = process.extract(normal, self._choices[group], scorer=fuzz.token_sort_ratio,
                                          score_cutoff=100 if exact_only else self.threshold, limit=None)
                for _, score, position in matches:
                    listed_normal, index, listed = names_here[position]
                    if exact_only or " " not in listed_normal or len(listed_normal.replace(" ", "")) < SHORT:
                        if listed_normal != normal:
                            continue
                    elif not _distinctive_words_found(listed_normal, normal):
                        continue
                    best[index] = max(best.get(index, (0.0, "", "")), (float(score), listed, written))
        hits = []
        for index, (score, listed, written) in best.items():
            entry = self._entries[index]
            version = self._version[entry.list_id]
            hits.append(ScreeningHit(version.name, version.list_id, version.as_of, entry.entry_id, entry.name, listed, written,
                                     round(score, 1), entry.remarks))
        return tuple(sorted(hits, key=lambda h: (-h.score, h.list_name, h.entry_id)))


EMPTY = Screener((), (), 100.0)


class ScreeningLists:
    """The Screener of the store's current list versions, built again when a list is loaded (looked
    at most once a `recheck` seconds, so a list loaded now screens the queries a moment later)."""

    def __init__(self, store_path: Path, threshold: float, recheck: float = 1.0) -> None:
        self._path, self._threshold, self._recheck = store_path, threshold, recheck
        self._lock = threading.Lock()
        self._screener, self._generation, self._checked = EMPTY, -1, 0.0

    def current(self) -> Screener:
        with self._lock:
            if time.monotonic() - self._checked < self._recheck:
                return self._screener
            self._checked = time.monotonic()
            with schema.connect(self._path) as conn:
                generation = screening_generation(conn)
                if generation != self._generation:
                    current = [s for s in stored_lists(conn) if s.current]
                    versions = [ListVersion(s.list_id, s.name, s.as_of, s.entries) for s in current]
                    entries = [Entry(list_id, e.entry_id, e.name, e.aliases, e.country, e.remarks)
                               for list_id, e in list_entries(conn, [v.list_id for v in versions])]
                    self._screener, self._generation = Screener(versions, entries, self._threshold), generation
            return self._screener
