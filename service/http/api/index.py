"""/v1/index: the served index version and the background index updates."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from service.http.api.versioned import v1_router
from service.http.deps import READ, RuntimeDep, UpdaterDep

router = v1_router(tags=["operations"], dependencies=[READ])


class IndexStatusOut(BaseModel):
    index_version: str | None
    model: str | None
    publications: int
    researchers: int
    update: dict[str, Any] = Field(description="Background updates: pending (changes not yet in the served version), pending_reasons (why: the writes, or the start-up catch-up), pending_since_version (the version served when the oldest of them arrived), running, progress (what is being done now), last_version, last_seconds, last_error")
    skipped: list[str] = Field(description="Newer versions passed over, and why (corrupt, truncated, another model)")


@router.get("/index", operation_id="index.get")
def index_status(rt: RuntimeDep, updater: UpdaterDep) -> IndexStatusOut:
    """The served index version and the state of background index updates."""
    served = rt.holder.peek()
    return IndexStatusOut(
        index_version=served.version if served else None, model=served.model if served else None,
        publications=served.publication_count if served else 0, researchers=served.researcher_count if served else 0,
        update=updater.status(), skipped=rt.holder.problems,
    )
