"""Where the store and the index versions live."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from kernel.paths import DATA_DIR


class StorageSettings(BaseModel):
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local/share/kakehashi")
    reference_dir: Path = DATA_DIR  # fields.json, goals.json, agencies.json

    @field_validator("data_dir", "reference_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser()

    @property
    def store_path(self) -> Path:
        return self.data_dir / "kakehashi.sqlite"

    @property
    def index_root(self) -> Path:
        return self.data_dir / "indexes"
