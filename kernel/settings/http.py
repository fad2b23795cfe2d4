"""The running service: request limits, API keys and the rate limit, and its background work
(batch jobs, index updates after researcher writes)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HttpSettings(BaseModel):
    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_upload_bytes: int = Field(20_000_000, ge=1024)  # body limit of batch job submissions
    max_batch_queries: int = Field(10_000, ge=1)
    max_export_rows: int = Field(500, ge=1, le=10_000)  # rows of the page's CSV export of a search
    max_page_size: int = Field(100, ge=1, le=1000)  # `limit` of POST /v1/matches
    open_read: bool = True  # read endpoints (match, score, browse, the page) answer without an API key
    rate_limit_per_minute: int = Field(1200, ge=0)  # per API key, or per client address without one; 0 = no limit
    rate_limit_burst: int = Field(200, ge=1)
    auth_failures_per_minute: int = Field(30, ge=0)  # keys that are not valid, per client address; then 429 for any key; 0 = no limit
    auth_failures_burst: int = Field(10, ge=1)
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-For / -Proto are believed; none by default
    max_queued_queries_per_key: int = Field(20_000, ge=1)  # queries of a key's batch jobs not yet run, at most (429 beyond)
    job_retention_days: float = Field(30.0, ge=0)  # finished batch jobs and their results are deleted after this; 0 = kept
    job_turn_seconds: float = Field(2.0, gt=0)  # a batch job runs this long before another key's waiting job gets a turn
    lease_seconds: float = Field(30.0, ge=1)  # a lease on shared work (a batch job, an index build) lapses this long after its holder's last heartbeat
    index_updates: bool = True  # PUT/DELETE /v1/researchers update the served index in the background
    batch_worker: bool = True  # run batch jobs in the service process
