"""What the API routes and the pages take from the app: the runtime, the served snapshot, the jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.batch.jobs import JobStore
from service.runtime import Runtime
from service.snapshot import Snapshot


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_snapshot(request: Request) -> Snapshot:
    return request.app.state.runtime.snapshot()


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
