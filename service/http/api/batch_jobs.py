"""/v1/batch-jobs: submit, watch, cancel, list batch jobs and stream their results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from kernel.errors import Conflict, InvalidInput
from service.auth import job_owner
from service.batch.export import FORMATS, csv_chunks, json_chunks, parquet_bytes
from service.batch.inputs import BatchOptions, BatchRequest, batch_from_file, check_count
from service.batch.jobs import FINISHED, Job, JobStore
from service.http.api.versioned import v1_router
from service.http.deps import BatchKey, JobsDep, RuntimeDep

JobId = Annotated[str, Path(min_length=1, max_length=64)]


class JobProgress(BaseModel):
    done: int
    total: int
    failed_queries: int


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: JobProgress
    created_at: float
    started_at: float | None
    finished_at: float | None
    elapsed_seconds: float | None
    error: str | None
    assignment: dict[str, Any] | None
    options: dict[str, Any]
    results_url: str
    query_errors: list[dict[str, Any]] | None = None


class JobsOut(BaseModel):
    data: list[JobOut]
    count: int
    limit: int
    offset: int


SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "CSV (.csv) or JSON Lines (.jsonl) queries"},
                    "options": {"type": "string", "description": "BatchOptions as JSON"},
                },
            }},
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
}


def add_request_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """The submission body is read by hand (JSON or a file), so its schema joins the OpenAPI
    components here."""
    schema = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["BatchRequest"] = schema
    return spec


def job_out(job: Job, with_errors: bool = False, jobs: JobStore | None = None) -> JobOut:
    return JobOut(**job.view(), results_url=f"/v1/batch-jobs/{job.id}/results",
                  query_errors=jobs.query_errors(job.id) if with_errors and jobs else None)


async def _submission(request: Request, max_queries: int) -> BatchRequest:
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    try:
        if media == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidInput("the form needs a 'file' part with the queries (CSV or JSON Lines)")
            raw_options = form.get("options")
            options = BatchOptions.model_validate_json(raw_options) if isinstance(raw_options, str) and raw_options else BatchOptions()
            return batch_from_file(await upload.read(), upload.filename, upload.content_type, options, max_queries)
        if media in ("text/csv", "application/x-ndjson", "application/jsonl"):
            return batch_from_file(await request.body(), None, media, BatchOptions(), max_queries)
        if media == "application/json":
            return check_count(BatchRequest.model_validate_json(await request.body()), max_queries)
        raise InvalidInput(f"unsupported content type {media or '(none)'!r}: send JSON, a multipart form with a file, CSV or JSON Lines")
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


router = v1_router("/batch-jobs", tags=["batch"])



@router.post("", operation_id="batch_jobs.create", status_code=202, openapi_extra=SUBMIT_BODY, responses={
    413: {"description": "Upload too large"}, 429: {"description": "Rate limit, or the key's quota of waiting queries (KAKEHASHI_MAX_QUEUED_QUERIES_PER_KEY)"}})
async def submit(request: Request, response: Response, rt: RuntimeDep, jobs: JobsDep, key: BatchKey) -> JobOut:
    """Queue a batch job: JSON (`BatchRequest`), or a CSV / JSON Lines file (multipart `file`, with
    optional `options` as JSON, or the file as the body). Answers 202 with the job; poll its URL."""
    job = jobs.create(await _submission(request, rt.settings.max_batch_queries), owner=key.id if key else None,
                      max_queued=rt.settings.max_queued_queries_per_key)
    response.headers["Location"] = f"/v1/batch-jobs/{job.id}"
    return job_out(job)


@router.get("", operation_id="batch_jobs.list")
def list_jobs(
    jobs: JobsDep,
    key: BatchKey,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    state: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query()] = None,
) -> JobsOut:
    """Jobs, newest first."""
    found, count = jobs.list(limit, offset, state, owner=job_owner(key))
    return JobsOut(data=[job_out(j) for j in found], count=count, limit=limit, offset=offset)


@router.get("/{job_id}", operation_id="batch_jobs.get")
def get_job(job_id: JobId, jobs: JobsDep, key: BatchKey) -> JobOut:
    """State, progress (done / total), timings, the error of a failed job, the per-query errors,
    and the assignment summary."""
    return job_out(jobs.get(job_id, job_owner(key)), with_errors=True, jobs=jobs)


@router.delete("/{job_id}", operation_id="batch_jobs.cancel", responses={409: {"description": "The job has already finished"}})
def cancel_job(job_id: JobId, jobs: JobsDep, key: BatchKey) -> JobOut:
    """Cancel a queued or running job; results of the queries already done are kept."""
    return job_out(jobs.cancel(job_id, job_owner(key)))


@router.get("/{job_id}/results", operation_id="batch_jobs.results", response_class=StreamingResponse, responses={
    200: {"content": {media: {} for media in FORMATS.values()}, "description": "The result rows"},
    409: {"description": "The job has not finished"},
})
def results(job_id: JobId, jobs: JobsDep, key: BatchKey, format: Literal["csv", "json", "parquet"] = "csv") -> Response:
    """The result rows (one per query and researcher; the assigned pairs for an assignment job),
    each with the query id, rank, researcher, score and components, funding route, index version
    and model."""
    job = jobs.get(job_id, job_owner(key))
    if job.state not in FINISHED:
        raise Conflict(f"batch job {job_id} is {job.state} ({job.done}/{job.total} queries done); results come when it has finished")
    headers = {"Content-Disposition": f'attachment; filename="kakehashi-{job_id}.{format}"'}
    rows = jobs.results(job_id)
    if format == "parquet":
        return Response(parquet_bytes(rows), media_type=FORMATS[format], headers=headers)
    chunks = csv_chunks(rows) if format == "csv" else json_chunks(rows)
    return StreamingResponse(chunks, media_type=FORMATS[format], headers=headers)
