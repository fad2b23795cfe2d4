"""Outside sources that Kakehashi reads from: the OpenAlex API (`kakehashi harvest openalex`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class SourceSettings(BaseModel):
    # required by the API since 13 February 2026 (developers.openalex.org/api-reference/authentication); never logged
    openalex_api_key: SecretStr | None = None
    openalex_base_url: str = Field("https://api.openalex.org", pattern=r"^https?://")
    # the API allows 100 requests a second on every plan; a harvest stays well under it
    openalex_requests_per_second: float = Field(10.0, gt=0, le=100)
