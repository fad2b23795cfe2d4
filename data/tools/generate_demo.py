"""Generate the fictional demo corpus and its labels: python data/tools/generate_demo.py [OUT_DIR]

Every researcher, institution and publication here is invented (`"fictional": true` on each record).
The topics follow real research vocabulary so that semantic search behaves as on real data; the
country mix gives each country a different profile of strengths; researchers in Japan co-wrote a
few works of researchers abroad (ties to Japan); each institution has an id (conflicts of interest
by institution) and about half the works name a funder: a real agency of the counterpart registry
by its OpenAlex funder id where the registry gives one, else a fictional national funder. Deterministic: a fixed seed and
gzip without a timestamp give byte-identical output on every run.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_vocabulary import (  # noqa: E402
    ABSTRACT_CLOSINGS,
    ABSTRACT_METHODS,
    ABSTRACT_OPENINGS,
    ABSTRACT_RESULTS,
    SUBTOPICS,
    TITLE_TEMPLATES,
)

SEED = 20261126
RESEARCHERS = 2200
OUT = Path(__file__).resolve().parent.parent / "demo" / "researchers.jsonl.gz"
LABELS = Path(__file__).resolve().parent.parent / "demo" / "labels.jsonl.gz"
REGISTRY = Path(__file__).resolve().parent.parent / "agencies.json"
EU_MEMBERS = {"AT", "BE", "CZ", "DE", "DK", "ES", "FI", "FR", "IE", "IT", "NL", "PL", "PT", "SE"}  # of the demo's countries

FIELD_LABELS = {
    "semiconductors": "semiconductor technology", "artificial_intelligence": "artificial intelligence",
    "cloud_computing": "computing infrastructure", "quantum_technology": "quantum technology",
    "robotics": "robotics", "biotechnology": "the life sciences", "medicine_health": "medicine",
    "neuroscience": "neuroscience", "psychology_society": "psychology and society", "materials": "materials science",
    "energy_fusion": "energy research", "climate_environment": "environmental science", "weather": "atmospheric science",
    "food_agriculture": "food and agriculture",
}

# country: (relative size, field specialisations (multipliers of the base share), cities, name region)
COUNTRIES: dict[str, tuple[float, dict[str, float], list[str], str]] = {
    "US": (12, {"artificial_intelligence": 2.2, "cloud_computing": 2, "quantum_technology": 1.5, "medicine_health": 1.4, "neuroscience": 1.4}, ["Boston", "Austin", "Seattle", "Denver"], "en"),
    "CN": (12, {"semiconductors": 1.6, "materials": 2.2, "artificial_intelligence": 1.5, "climate_environment": 1.3, "energy_fusion": 1.4}, ["Hefei", "Wuhan", "Chengdu", "Nanjing"], "zh"),
    "GB": (5, {"artificial_intelligence": 1.5, "quantum_technology": 1.6, "weather": 1.8, "medicine_health": 1.3}, ["Leeds", "Bristol", "Glasgow"], "en"),
    "DE": (5, {"robotics": 2, "energy_fusion": 1.6, "materials": 1.4, "climate_environment": 1.3}, ["Aachen", "Dresden", "Karlsruhe"], "de"),
    "FR": (4, {"energy_fusion": 2.2, "weather": 1.5, "artificial_intelligence": 1.2, "neuroscience": 1.3}, ["Grenoble", "Lyon", "Toulouse"], "fr"),
    "IN": (5, {"cloud_computing": 2.2, "artificial_intelligence": 1.5, "food_agriculture": 2.2, "weather": 1.3}, ["Pune", "Chennai", "Hyderabad"], "in"),
    "KR": (4, {"semiconductors": 4, "robotics": 2, "energy_fusion": 1.8}, ["Daejeon", "Suwon", "Pohang"], "ko"),
    "TW": (3, {"semiconductors": 7, "artificial_intelligence": 1.4, "cloud_computing": 1.3}, ["Hsinchu", "Tainan", "Taichung"], "tw"),
    "CA": (3, {"artificial_intelligence": 2.2, "quantum_technology": 1.8, "neuroscience": 1.6}, ["Waterloo", "Montreal", "Calgary"], "en"),
    "AU": (3, {"quantum_technology": 2.2, "climate_environment": 1.6, "food_agriculture": 1.6, "weather": 1.4}, ["Brisbane", "Adelaide", "Perth"], "en"),
    "NL": (2.2, {"semiconductors": 3, "quantum_technology": 2.4, "food_agriculture": 2}, ["Delft", "Eindhoven", "Wageningen"], "nl"),
    "CH": (2, {"quantum_technology": 2.6, "robotics": 1.8, "medicine_health": 1.3}, ["Zurich", "Lausanne", "Basel"], "de"),
    "IT": (2.4, {"energy_fusion": 1.5, "robotics": 1.5, "medicine_health": 1.3}, ["Turin", "Padua", "Bologna"], "it"),
    "ES": (2, {"climate_environment": 1.5, "food_agriculture": 1.4, "psychology_society": 1.3}, ["Valencia", "Seville", "Bilbao"], "es"),
    "SE": (1.5, {"medicine_health": 1.6, "climate_environment": 1.5, "psychology_society": 1.3}, ["Uppsala", "Lund", "Gothenburg"], "nordic"),
    "FI": (1.2, {"materials": 1.7, "cloud_computing": 1.7, "psychology_society": 1.5}, ["Espoo", "Tampere", "Oulu"], "nordic"),
    "NO": (1, {"climate_environment": 2, "energy_fusion": 1.6, "weather": 1.6}, ["Trondheim", "Bergen", "Tromso"], "nordic"),
    "DK": (1.2, {"biotechnology": 2.2, "energy_fusion": 1.8}, ["Aarhus", "Odense", "Aalborg"], "nordic"),
    "IL": (1.5, {"artificial_intelligence": 2, "cloud_computing": 2.2, "neuroscience": 1.5}, ["Haifa", "Rehovot", "Beersheba"], "he"),
    "SG": (1.5, {"artificial_intelligence": 1.6, "cloud_computing": 1.6, "semiconductors": 1.8}, ["Singapore"], "sg"),
    "BE": (1.2, {"semiconductors": 2.2, "biotechnology": 1.4}, ["Leuven", "Ghent", "Liege"], "nl"),
    "AT": (1, {"quantum_technology": 2.2, "materials": 1.3}, ["Innsbruck", "Graz", "Linz"], "de"),
    "PL": (1.2, {"materials": 1.4, "cloud_computing": 1.3}, ["Krakow", "Wroclaw", "Poznan"], "pl"),
    "BR": (2, {"food_agriculture": 3, "climate_environment": 2, "biotechnology": 1.3}, ["Campinas", "Recife", "Curitiba"], "pt"),
    "MX": (1, {"food_agriculture": 1.6, "climate_environment": 1.4}, ["Monterrey", "Guadalajara", "Puebla"], "es"),
    "IE": (0.8, {"cloud_computing": 1.8, "biotechnology": 1.3}, ["Cork", "Galway"], "en"),
    "PT": (0.8, {"climate_environment": 1.4, "materials": 1.3}, ["Porto", "Coimbra"], "pt"),
    "CZ": (0.8, {"materials": 1.5, "energy_fusion": 1.4}, ["Brno", "Ostrava"], "pl"),
    "NZ": (0.8, {"food_agriculture": 2, "climate_environment": 1.6}, ["Dunedin", "Hamilton"], "en"),
    "ZA": (0.8, {"medicine_health": 1.6, "climate_environment": 1.3}, ["Stellenbosch", "Durban"], "en"),
    "MY": (0.8, {"semiconductors": 2.2, "food_agriculture": 1.3}, ["Penang", "Johor Bahru"], "ms"),
    "TH": (0.8, {"food_agriculture": 2, "medicine_health": 1.3}, ["Chiang Mai", "Khon Kaen"], "th"),
    "VN": (0.8, {"materials": 1.3, "artificial_intelligence": 1.3}, ["Da Nang", "Hue"], "vi"),
    "ID": (0.8, {"food_agriculture": 1.8, "climate_environment": 1.5}, ["Bandung", "Surabaya"], "ms"),
    "SA": (0.8, {"energy_fusion": 1.8, "materials": 1.4}, ["Thuwal", "Dhahran"], "ar"),
    "TR": (1.2, {"materials": 1.3, "robotics": 1.3}, ["Ankara", "Izmir"], "tr"),
    "GR": (0.7, {"artificial_intelligence": 1.3, "climate_environment": 1.3}, ["Patras", "Heraklion"], "el"),
    "EE": (0.5, {"cloud_computing": 2.2}, ["Tartu"], "nordic"),
    "CL": (0.6, {"climate_environment": 1.6, "weather": 1.4}, ["Valparaiso", "Concepcion"], "es"),
    "JP": (4, {"robotics": 1.6, "materials": 1.5, "semiconductors": 1.3, "medicine_health": 1.2}, ["Sendai", "Tsukuba", "Kyoto"], "ja"),
}

GIVEN = {
    "en": ["Alex", "Jordan", "Morgan", "Taylor", "Casey", "Riley", "Avery", "Quinn", "Harper", "Rowan", "Emery", "Sage"],
    "zh": ["Wei", "Jing", "Hao", "Lin", "Yan", "Min", "Jun", "Xiu", "Lei", "Ning", "Tao", "Rui"],
    "de": ["Lukas", "Greta", "Jonas", "Frieda", "Matthias", "Ilse", "Tobias", "Helene", "Florian", "Anja"],
    "fr": ["Camille", "Julien", "Margaux", "Antoine", "Elodie", "Mathis", "Solene", "Baptiste"],
    "in": ["Ananya", "Rohan", "Priya", "Arjun", "Kavya", "Vikram", "Meera", "Aditya", "Nisha", "Karan"],
    "ko": ["Minjun", "Seoyeon", "Jiho", "Hayoon", "Dohyun", "Yuna", "Sungmin", "Jiwoo"],
    "tw": ["Yu-Ting", "Chih-Wei", "Hsin-Yi", "Po-Han", "Mei-Ling", "Chun-Hao", "Ya-Wen", "Kuan-Yu"],
    "nl": ["Daan", "Sanne", "Joris", "Fenna", "Bram", "Lotte", "Wouter", "Noor"],
    "it": ["Giulia", "Matteo", "Chiara", "Lorenzo", "Francesca", "Davide", "Elisa"],
    "es": ["Lucia", "Mateo", "Valeria", "Diego", "Carmen", "Pablo", "Ines", "Javier"],
    "nordic": ["Astrid", "Erik", "Sigrid", "Mikael", "Ingrid", "Lars", "Aino", "Elias"],
    "he": ["Noa", "Itai", "Yael", "Omer", "Tamar", "Eitan", "Shira"],
    "sg": ["Wei Ling", "Arun", "Mei Xin", "Farhan", "Hui Min", "Rajesh"],
    "pl": ["Zofia", "Jakub", "Hanna", "Tomasz", "Marta", "Pavel", "Klara"],
    "pt": ["Beatriz", "Joao", "Larissa", "Rafael", "Camila", "Thiago"],
    "ms": ["Nurul", "Hafiz", "Siti", "Amir", "Dewi", "Putri"],
    "th": ["Somchai", "Nattaya", "Kittipong", "Pimchanok"],
    "vi": ["Linh", "Minh", "Thao", "Quang", "Huong"],
    "ar": ["Layla", "Omar", "Noura", "Khalid", "Huda"],
    "tr": ["Elif", "Emre", "Zeynep", "Burak", "Deniz"],
    "el": ["Eleni", "Nikos", "Sofia", "Yannis"],
    "ja": ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Daiki", "Sakura"],
}
# Family names are composed from syllables, so that no real person is named.
SYLLABLES = {
    "en": (["Ash", "Brook", "Cal", "Dun", "Fair", "Hol", "Kirk", "Mar", "Pem", "Thorn", "Wex"], ["ford", "ley", "wick", "ridge", "ton", "stead", "more", "field"]),
    "zh": (["Zh", "Q", "X", "L", "H", "W", "Y", "G"], ["ao", "iang", "eng", "uan", "ian", "ong", "ui", "en"]),
    "de": (["Alt", "Brem", "Falk", "Grun", "Hart", "Lind", "Stein", "Wald"], ["berger", "mann", "feld", "hauser", "ner", "brecht"]),
    "fr": (["Beau", "Char", "Dela", "Fonte", "Laro", "Mont", "Vall"], ["court", "nay", "ville", "mont", "rier", "lot"]),
    "in": (["Ban", "Chan", "Desh", "Kul", "Nar", "Raj", "Sub"], ["arkar", "ivedi", "amurthy", "wani", "ayan", "esh"]),
    "ko": (["K", "P", "Y", "J", "Ch", "S"], ["wang", "eon", "oon", "ang", "ung", "ok"]),
    "tw": (["Ts", "Ch", "L", "H", "K"], ["ai", "eng", "iu", "uang", "ao"]),
    "nl": (["Van der ", "De ", "Ter "], ["Hoeve", "Brink", "Molen", "Veld", "Kamp", "Wiel"]),
    "it": (["Bel", "Cas", "Fer", "Lom", "Ros", "Tor"], ["avelli", "etti", "ardo", "olini", "ucci"]),
    "es": (["Al", "Cas", "Fer", "Mor", "Val", "Zar"], ["ano", "edo", "ez", "illa", "uela"]),
    "nordic": (["Berg", "Dahl", "Hag", "Lund", "Sand", "Vik"], ["strom", "gren", "holm", "qvist", "lin", "nen"]),
    "he": (["Ben-", "Bar-", "Shal", "Gol"], ["Ami", "Tov", "ev", "dan", "Or"]),
    "sg": (["T", "L", "Ng", "Ch"], ["an", "im", "oh", "ua"]),
    "pl": (["Kow", "Nowa", "Wis", "Ziel", "Dvor"], ["alski", "czyk", "niewski", "ak", "ova"]),
    "pt": (["Al", "Carv", "Fon", "Mour", "Sil"], ["eida", "alho", "seca", "ao", "veira"]),
    "ms": (["Ab", "Har", "Rah", "Sur", "Wij"], ["dullah", "tono", "man", "yanto", "aya"]),
    "th": (["Sri", "Won", "Chai", "Bun"], ["sawat", "gsiri", "yaporn", "nak"]),
    "vi": (["Ng", "Tr", "Ph", "Đ"], ["uyen", "an", "am", "inh"]),
    "ar": (["Al-", "Bin "], ["Harbi", "Qahtan", "Zahra", "Farsi"]),
    "tr": (["Ak", "Demir", "Kay", "Yil"], ["soy", "tas", "dag", "maz"]),
    "el": (["Papa", "Kara", "Niko", "Vlah"], ["dakis", "poulos", "giannis", "los"]),
    "ja": (["Taka", "Hoshi", "Kawa", "Mori", "Naka", "Yama"], ["sawa", "hara", "mura", "guchi", "kawa", "zaki"]),
}
INSTITUTION_NAMES = ["Northbridge", "Lakeside", "Silverfield", "Eastgate", "Redcliff", "Westmoor", "Highmont", "Riverside", "Stonehaven", "Clearwater"]
INSTITUTION_KINDS = ["University", "Institute of Technology", "Research Institute", "Polytechnic University", "Centre for Advanced Research"]


def _fill(template: str, rng: random.Random, sub: dict[str, list[str]], field: str) -> str:
    topic, topic2 = rng.sample(sub["topics"], 2)
    method, method2 = rng.sample(sub["methods"], 2)
    finding, finding2 = rng.sample(sub["findings"], 2)
    text = template.format(
        topic=topic, Topic=topic[0].upper() + topic[1:], topic2=topic2, method=method, Method=method[0].upper() + method[1:],
        method2=method2, finding=finding, finding2=finding2, a_finding=finding, field_label_lower=FIELD_LABELS[field],
    )
    return text[0].upper() + text[1:]


def publication(rng: random.Random, field: str, subtopic: str, pid: str) -> dict:
    sub = SUBTOPICS[field][subtopic]
    sentences = [
        _fill(rng.choice(ABSTRACT_OPENINGS), rng, sub, field),
        _fill(rng.choice(ABSTRACT_METHODS), rng, sub, field),
        _fill(rng.choice(ABSTRACT_RESULTS), rng, sub, field),
    ]
    if rng.random() < 0.7:
        sentences.append(_fill(rng.choice(ABSTRACT_CLOSINGS), rng, sub, field))
    year = min(2025, 2008 + int(rng.betavariate(3, 1.6) * 18))
    return {
        "id": pid,
        "title": _fill(rng.choice(TITLE_TEMPLATES), rng, sub, field),
        "abstract": " ".join(sentences),
        "year": year,
        "cited_by_count": int(rng.paretovariate(1.3) * 3) + (2025 - year),
    }


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def generate(n: int = RESEARCHERS, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(researcher records, ground-truth labels): per researcher the main and second field, the focus
    subtopics, and the "field/subtopic" that each publication was written about."""
    rng = random.Random(seed)
    fields = list(SUBTOPICS)
    codes = sorted(COUNTRIES)
    # Every country gets at least 8 researchers; the rest follow the country sizes.
    countries = [c for c in codes for _ in range(8)]
    countries += rng.choices(codes, weights=[COUNTRIES[c][0] for c in codes], k=n - len(countries))
    rng.shuffle(countries)
    records, labels, pub_counter = [], [], 0
    for i, country in enumerate(countries):
        size, special, cities, region = COUNTRIES[country]
        field = fields[i % len(fields)] if i < len(fields) * 3 else _weighted(rng, {f: special.get(f, 1.0) for f in fields})
        focus = rng.sample(list(SUBTOPICS[field]), k=min(2, len(SUBTOPICS[field])))
        second_field = rng.choice([f for f in fields if f != field]) if rng.random() < 0.3 else None
        pubs, pub_topics = [], {}
        for _ in range(rng.randint(3, 10)):
            pub_counter += 1
            roll = rng.random()
            if second_field and roll < 0.2:
                pf, ps = second_field, rng.choice(list(SUBTOPICS[second_field]))
            elif roll < 0.85:
                pf, ps = field, rng.choice(focus)
            else:
                pf, ps = field, rng.choice(list(SUBTOPICS[field]))
            pubs.append(publication(rng, pf, ps, f"demo-P{pub_counter:06d}"))
            pub_topics[pubs[-1]["id"]] = f"{pf}/{ps}"
        first, last = SYLLABLES[region]
        name = f"{rng.choice(GIVEN[region])} {rng.choice(first)}{rng.choice(last)}"
        institution = f"{rng.choice(INSTITUTION_NAMES)} {rng.choice(INSTITUTION_KINDS)}, {rng.choice(cities)}"
        records.append({
            "id": f"demo-R{i + 1:05d}",
            "name": name,
            "institution": institution,
            "country": country,
            "h_index": max(1, int(rng.lognormvariate(2.6, 0.6))),
            "fields": [field] + ([second_field] if second_field else []),
            "source": "demo",
            "fictional": True,
            "publications": sorted(pubs, key=lambda p: -p["year"]),
        })
        labels.append({"id": f"demo-R{i + 1:05d}", "field": field, "second_field": second_field,
                       "focus": [f"{field}/{t}" for t in focus], "publications": pub_topics})
    _japanese_coauthors(records, labels, random.Random(seed + 1))
    _institution_ids(records)
    _funders(records, random.Random(seed + 2))
    return records, labels


def _institution_ids(records: list[dict]) -> None:
    """One id per institution name, in order of first appearance."""
    ids: dict[str, str] = {}
    for record in records:
        record["institution_id"] = ids.setdefault(record["institution"], f"demo-I{len(ids) + 1:04d}")


def _registry_funders() -> dict[str, list[dict]]:
    """Per country (and EU), its registry agencies that OpenAlex knows by a funder id."""
    found: dict[str, list[dict]] = {}
    for entry in json.loads(REGISTRY.read_text(encoding="utf-8"))["countries"]:
        for agency in entry.get("agencies", []):
            openalex = [i for i in agency.get("ids", []) if i.startswith("F")]
            ror = next((i for i in agency.get("ids", []) if i.startswith("https://ror.org/")), None)
            if openalex:
                found.setdefault(entry["country"], []).append({"id": openalex[0], "name": agency["name"], "ror": ror})
    return found


def _funders(records: list[dict], rng: random.Random) -> None:
    """About half of each researcher's works name a funder (a shared work once, for all its authors):
    a registry agency of their country, the European Commission for some in the EU, else a fictional
    national funder. Drawn last with its own seed, so that the rest of the corpus is as before."""
    registry = _registry_funders()
    for record in records:
        country = record["country"]
        national = registry.get(country) or [{"id": f"demo-F{country}", "name": f"National Science Fund of {country} (fictional)"}]
        for work in record["publications"]:
            if "funders" in work or rng.random() >= 0.5:
                work.setdefault("funders", [])
                continue
            funders = [rng.choice(national)]
            if country in EU_MEMBERS and rng.random() < 0.3:
                funders.append(registry["EU"][0])
            work["funders"] = [{k: v for k, v in f.items() if v is not None} for f in funders]
    for record in records:  # no empty lists in the file
        for work in record["publications"]:
            if not work.get("funders"):
                work.pop("funders", None)


def _japanese_coauthors(records: list[dict], labels: list[dict], rng: random.Random) -> None:
    """Ties to Japan: each researcher in Japan co-wrote one to three works of researchers abroad in
    their main field (the work, the same id and text, is added to their list), so that the demo shows
    foreign researchers with works co-authored in Japan. Drawn after everything else, with its own
    seed, so that the rest of the corpus is as before."""
    abroad: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        if records[i]["country"] != "JP":
            abroad.setdefault(label["field"], []).append(i)
    for i, record in enumerate(records):
        if record["country"] != "JP" or not abroad.get(labels[i]["field"]):
            continue
        for partner in rng.sample(abroad[labels[i]["field"]], k=min(rng.randint(1, 3), len(abroad[labels[i]["field"]]))):
            work = rng.choice(records[partner]["publications"])
            if all(p["id"] != work["id"] for p in record["publications"]):
                record["publications"] = sorted([*record["publications"], work], key=lambda p: -p["year"])
                labels[i]["publications"][work["id"]] = labels[partner]["publications"][work["id"]]


def _write_jsonl_gz(path: Path, rows: list[dict]) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(lines.encode("utf-8"))


def write(directory: Path = OUT.parent, n: int = RESEARCHERS, seed: int = SEED) -> tuple[Path, Path]:
    records, labels = generate(n, seed)
    _write_jsonl_gz(directory / OUT.name, records)
    _write_jsonl_gz(directory / LABELS.name, labels)
    return directory / OUT.name, directory / LABELS.name


if __name__ == "__main__":
    for target in write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT.parent):
        print(f"wrote {target}")
