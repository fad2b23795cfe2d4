import json
import shutil
from pathlib import Path

import pytest

from kernel.errors import ReferenceDataError
from kernel.paths import DATA_DIR
from kernel.reference import load_reference

DATA = DATA_DIR


def test_reference_data_is_complete() -> None:
    ref = load_reference(DATA)
    assert [g.id for g in ref.goals] == list(range(1, 11))
    assert {g.managing_agency for g in ref.goals} >= {"JST", "NEDO", "AMED", "BRAIN (NARO)"}
    assert next(g for g in ref.goals if g.id == 7).target_year == 2040
    facts_countries = {"US", "GB", "DE", "FR", "FI", "SE", "NO", "CH", "IL", "CN", "KR", "IT", "CA", "SG", "EU", "IN", "AU", "NL", "ES", "BE", "TW"}
    assert facts_countries <= set(ref.registry)
    for entry in ref.registry.values():
        assert entry.source and entry.as_of
    assert ref.registry["TW"].government_channel is False
    assert len(ref.fields) >= 13


def _broken_copy(tmp_path: Path, name: str, edit) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("demo"))
    doc = json.loads((target / name).read_text())
    edit(doc)
    (target / name).write_text(json.dumps(doc))
    return target


def test_unknown_field_in_a_goal_names_file_and_goal(tmp_path: Path) -> None:
    target = _broken_copy(tmp_path, "goals.json", lambda d: d["goals"][5].update(fields=["quantum"]))
    with pytest.raises(ReferenceDataError, match=r"goals\.json: goal 6: unknown field 'quantum'"):
        load_reference(target)


def test_bad_country_code_names_file_and_entry(tmp_path: Path) -> None:
    target = _broken_copy(tmp_path, "agencies.json", lambda d: d["countries"][1].update(country="USA"))
    with pytest.raises(ReferenceDataError, match=r"agencies\.json: entry USA .*not an ISO 3166-1 alpha-2"):
        load_reference(target)


def test_arrangement_naming_an_unlisted_agency_is_refused(tmp_path: Path) -> None:
    target = _broken_copy(tmp_path, "agencies.json", lambda d: d["countries"][1]["arrangements"][0].update(partner_agencies=["NASA"]))
    with pytest.raises(ReferenceDataError, match=r"entry US, arrangement .*NASA"):
        load_reference(target)


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "data"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("demo"))
    (target / "fields.json").write_text("{not json")
    with pytest.raises(ReferenceDataError, match=r"fields\.json: not valid JSON"):
        load_reference(target)
