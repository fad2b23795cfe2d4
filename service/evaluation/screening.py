"""How well screening finds listed institutions and leaves others alone, on the labelled set of
name variants (`data/evaluation/screening_names.json`, over the fictional entities of
`screening_list.csv`) and on every institution of the demo corpus and the OpenAlex sample (screened
against those entities and the demo's own fictional list, whose three entries are the only hits
expected there)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from indexer.sources.screening import read_list
from kernel.paths import DEMO_CORPUS, DEMO_SCREENING_LIST, OPENALEX_SAMPLE, SCREENING_NAMES, SCREENING_TEST_LIST
from service.matching.screening import Entry, ListVersion, Screener

Names = tuple[list[str], str | None]  # an institution's names and its country


@dataclass(frozen=True)
class ScreeningQuality:
    threshold: float
    recall: float  # of the labelled variants, those that find their entry
    found: int
    variants: int
    missed: tuple[str, ...]
    by_kind: dict[str, tuple[int, int]]  # kind -> (found, variants)
    look_alikes_flagged: tuple[str, ...]  # labelled unlisted institutions that were flagged
    institutions: int  # of the demo corpus and the OpenAlex sample
    false_flags: tuple[str, ...]  # of those, flagged though not listed
    expected_flags: int  # the demo institutions that its fictional list names, found

    @property
    def false_flag_rate(self) -> float:
        return len(self.false_flags) / self.institutions if self.institutions else 0.0


def _screener(threshold: float) -> tuple[Screener, set[str]]:
    entries: list[Entry] = []
    versions = []
    demo_ids: set[str] = set()
    for list_id, (name, path) in enumerate((("Fictional test list", SCREENING_TEST_LIST), ("Demo list", DEMO_SCREENING_LIST)), 1):
        _, read = read_list(path)
        versions.append(ListVersion(list_id, name, "2026-12-01", len(read)))
        entries += [Entry(list_id, e.entry_id, e.name, e.aliases, e.country, e.remarks) for e in read]
        if path == DEMO_SCREENING_LIST:
            demo_ids = {e.entry_id for e in read}
    return Screener(versions, entries, threshold), demo_ids


def corpus_institutions() -> dict[str, Names]:
    """Every institution of the OpenAlex sample (its record's names, and those that works give) and of
    the demo corpus (by id), with its country."""
    found: dict[str, Names] = {}
    with gzip.open(OPENALEX_SAMPLE / "institutions.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            names = [record["display_name"], *(record.get("display_name_acronyms") or []), *(record.get("display_name_alternatives") or [])]
            found[record["id"]] = (names, record.get("country_code"))
    with gzip.open(OPENALEX_SAMPLE / "works.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            for authorship in json.loads(line).get("authorships") or []:
                for institution in authorship.get("institutions") or []:
                    if institution.get("id") and institution.get("display_name") and institution["id"] not in found:
                        found[institution["id"]] = ([institution["display_name"]], institution.get("country_code"))
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            found.setdefault(record.get("institution_id") or record["institution"], ([record["institution"]], record.get("country")))
    return found


def measure(threshold: float, institutions: dict[str, Names] | None = None, names_path: Path = SCREENING_NAMES) -> ScreeningQuality:
    screener, demo_ids = _screener(threshold)
    labelled = json.loads(names_path.read_text(encoding="utf-8"))
    kinds: Counter[str] = Counter()
    found_kinds: Counter[str] = Counter()
    missed = []
    for variant in labelled["positives"]:
        kinds[variant["kind"]] += 1
        if any(h.entry_id == variant["entry"] for h in screener.screen(variant["names"], variant["country"])):
            found_kinds[variant["kind"]] += 1
        else:
            missed.append(f"{variant['names'][0]} ({variant['kind']})")
    look_alikes = tuple(n["names"][0] for n in labelled["negatives"] if screener.screen(n["names"], n["country"]))
    institutions = institutions if institutions is not None else corpus_institutions()
    false_flags, expected = [], 0
    for names, country in institutions.values():
        hits = screener.screen(names, country)
        if hits and all(h.entry_id in demo_ids and h.entry_name == names[0] for h in hits):
            expected += 1  # a demo institution that the demo's list names
        elif hits:
            false_flags.append(f"{names[0]} ({country}) ~ {hits[0].entry_name}")
    total = sum(kinds.values())
    found = sum(found_kinds.values())
    return ScreeningQuality(threshold, found / total, found, total, tuple(missed),
                            {k: (found_kinds[k], kinds[k]) for k in sorted(kinds)}, look_alikes, len(institutions),
                            tuple(false_flags), expected)
