"""/v1/researchers: a researcher's profile and the goals their work fits; and the writes (admin):
PUT and DELETE. A write changes the store at once; the served index follows through the
background updater (service/index_updates.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Response
from pydantic import BaseModel, Field

from indexer.records import ID_PATTERN, ResearcherRecord
from kernel.errors import Conflict, InvalidInput, NotFound
from service.http.api.versioned import v1_router
from service.http.deps import ADMIN, READ, RuntimeDep, SnapshotDep, UpdaterDep
from service.http.schemas import ResearcherOut, researcher_out
from service.index_updates import IndexUpdater
from service.matching.matcher import GoalFit
from service.matching.snapshot import Snapshot
from service.runtime import Runtime

router = v1_router("/researchers", tags=["researchers"])
ResearcherId = Annotated[str, Path(max_length=200)]
WritableId = Annotated[str, Path(pattern=ID_PATTERN)]


class GoalFitOut(BaseModel):
    goal_id: int
    short_name: str
    score: float
    strength: Literal["strong", "fair", "weak"] = Field(description="By the match strength's thresholds (docs/evaluation.md)")


class GoalFitsOut(BaseModel):
    data: list[GoalFitOut]
    count: int
    index_version: str
    model: str


class ResearcherIn(ResearcherRecord):
    """A house record for PUT /v1/researchers/{id}: the id comes from the path."""

    id: str | None = Field(None, pattern=ID_PATTERN)  # type: ignore[assignment]


class ResearcherWriteOut(BaseModel):
    id: str
    outcome: Literal["created", "updated", "unchanged", "deleted"]
    index_update: Literal["queued", "none"] = Field(description="queued: the index follows in the background (see GET /v1/index)")
    index_version: str | None = Field(description="The version served when the write was acknowledged")


def goal_fits_out(fits: list[GoalFit], snap: Snapshot) -> GoalFitsOut:
    return GoalFitsOut(data=[GoalFitOut(**f.__dict__) for f in fits], count=len(fits), index_version=snap.version, model=snap.model)


@router.get("/{researcher_id}", operation_id="researchers.get", dependencies=[READ])
def get_researcher(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> ResearcherOut:
    return researcher_out(snap, researcher_id, rt.reference, rt.matcher.screened(snap, researcher_id))


@router.get("/{researcher_id}/goals", operation_id="researchers.goals", dependencies=[READ])
def researcher_goals(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> GoalFitsOut:
    """Which Moonshot goals this researcher's publications fit best."""
    return goal_fits_out(rt.matcher.goals_for_researcher(snap, researcher_id), snap)


def _write_out(rt: Runtime, updater: IndexUpdater, researcher_id: str, outcome: str, changed: bool) -> ResearcherWriteOut:
    queued = changed and rt.settings.index_updates
    if queued:
        updater.request(f"researcher {researcher_id} {outcome}")
    served = rt.holder.peek()
    return ResearcherWriteOut(id=researcher_id, outcome=outcome,  # type: ignore[arg-type]
                              index_update="queued" if queued else "none", index_version=served.version if served else None)


@router.put("/{researcher_id}", operation_id="researchers.put", dependencies=[ADMIN],
            responses={201: {"model": ResearcherWriteOut, "description": "Created"},
                       409: {"description": "The record would rewrite a publication that other researchers hold too"}})
def put_researcher(researcher_id: WritableId, body: ResearcherIn, rt: RuntimeDep, updater: UpdaterDep, response: Response) -> ResearcherWriteOut:
    """Store a researcher (a house record; its id, if given, must be the one in the path), then
    update the index in the background: only new or changed publications are embedded. A
    publication that other researchers hold too may be kept (sent as stored) or dropped, not
    rewritten: 409 names them."""
    if body.id is not None and body.id != researcher_id:
        raise InvalidInput(f"the body's id {body.id!r} is not the id in the path, {researcher_id!r}")
    unknown = [f for f in body.fields if f not in rt.reference.field_ids]
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; known fields: {', '.join(rt.reference.field_ids)}")
    record = ResearcherRecord.model_validate({**body.model_dump(), "id": researcher_id})
    with rt.store() as store:
        counts = store.upsert_researchers([record])
    if counts.refused:
        raise Conflict(counts.refused[0].reason)
    changed = counts.added + counts.updated > 0
    if counts.added:
        response.status_code = 201
    return _write_out(rt, updater, researcher_id, "created" if counts.added else "updated" if changed else "unchanged", changed)


@router.delete("/{researcher_id}", operation_id="researchers.delete", dependencies=[ADMIN])
def delete_researcher(researcher_id: ResearcherId, rt: RuntimeDep, updater: UpdaterDep) -> ResearcherWriteOut:
    """Remove a researcher and the publications no one else wrote; the index follows in the background."""
    with rt.store() as store:
        if not store.delete_researcher(researcher_id):
            raise NotFound(f"no researcher with id {researcher_id!r} in the store")
    return _write_out(rt, updater, researcher_id, "deleted", True)
