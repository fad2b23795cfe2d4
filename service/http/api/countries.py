"""/v1/countries/{code}: a country's agencies, arrangements, routes and measured strength."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from service.http.api.versioned import v1_router
from service.http.deps import READ, RuntimeDep, SnapshotDep
from service.http.schemas import CountryOut, country_out

router = v1_router("/countries", tags=["countries"], dependencies=[READ])
CountryCode = Annotated[str, Path(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]


@router.get("/{code}", operation_id="countries.get")
def get_country(code: CountryCode, rt: RuntimeDep, snap: SnapshotDep) -> CountryOut:
    """Agencies, joint-funding arrangements, funding route and measured strength per field."""
    return country_out(code.upper(), snap, rt.reference)
