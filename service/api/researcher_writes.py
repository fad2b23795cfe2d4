"""Researcher writes over HTTP (admin): PUT and DELETE /v1/researchers/{id}. The store changes at
once; the served index follows through the background updater (service/index_updates.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from indexer.errors import InvalidInput, NotFound
from indexer.records import ID_PATTERN, ResearcherRecord
from service.api.deps import RuntimeDep, require
from service.api.schemas import ResearcherIn, ResearcherWriteOut
from service.index_updates import IndexUpdater
from service.runtime import Runtime

ADMIN = Depends(require("admin"))
ResearcherId = Annotated[str, Path(max_length=200)]
WritableId = Annotated[str, Path(pattern=ID_PATTERN)]


def router(updater: IndexUpdater) -> APIRouter:
    api = APIRouter(tags=["researchers"])

    def _write_out(rt: Runtime, researcher_id: str, outcome: str, changed: bool) -> ResearcherWriteOut:
        queued = changed and rt.settings.index_updates
        if queued:
            updater.request()
        served = rt.holder.peek()
        return ResearcherWriteOut(id=researcher_id, outcome=outcome,  # type: ignore[arg-type]
                                  index_update="queued" if queued else "none", index_version=served.version if served else None)

    @api.put("/researchers/{researcher_id}", dependencies=[ADMIN],
             responses={201: {"model": ResearcherWriteOut, "description": "Created"}})
    def put_researcher(researcher_id: WritableId, body: ResearcherIn, rt: RuntimeDep, response: Response) -> ResearcherWriteOut:
        """Store a researcher (a house record; its id, if given, must be the one in the path), then
        update the index in the background: only new or changed publications are embedded."""
        if body.id is not None and body.id != researcher_id:
            raise InvalidInput(f"the body's id {body.id!r} is not the id in the path, {researcher_id!r}")
        unknown = [f for f in body.fields if f not in rt.reference.field_ids]
        if unknown:
            raise InvalidInput(f"unknown field(s) {unknown}; known fields: {', '.join(rt.reference.field_ids)}")
        record = ResearcherRecord.model_validate({**body.model_dump(), "id": researcher_id})
        with rt.store() as store:
            counts = store.upsert_researchers([record])
        changed = counts.added + counts.updated > 0
        if counts.added:
            response.status_code = 201
        return _write_out(rt, researcher_id, "created" if counts.added else "updated" if changed else "unchanged", changed)

    @api.delete("/researchers/{researcher_id}", dependencies=[ADMIN])
    def delete_researcher(researcher_id: ResearcherId, rt: RuntimeDep) -> ResearcherWriteOut:
        """Remove a researcher and the publications no one else wrote; the index follows in the background."""
        with rt.store() as store:
            if not store.delete_researcher(researcher_id):
                raise NotFound(f"no researcher with id {researcher_id!r} in the store")
        return _write_out(rt, researcher_id, "deleted", True)

    return api
