"""One validated settings object, read from KAKEHASHI_* environment variables, assembled from one
model per concern (each a module here): storage, embedding, the index, matching, the HTTP service,
outside sources.
Code that needs one concern may take that part's type: a `Settings` is each of them."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.settings.embedding import MULTILINGUAL_MODEL, MULTILINGUAL_TEXT, PACKAGED_MODEL, EmbeddingSettings, RaySettings
from kernel.settings.http import HttpSettings
from kernel.settings.index import AnnSettings, IndexSettings
from kernel.settings.ranking import Aggregation, Combination, MatchingSettings, RankingConfig, RankingWeights
from kernel.settings.sources import SourceSettings
from kernel.settings.storage import StorageSettings

__all__ = [
    "MULTILINGUAL_MODEL", "MULTILINGUAL_TEXT", "PACKAGED_MODEL", "Aggregation", "AnnSettings", "Combination", "EmbeddingSettings", "HttpSettings",
    "IndexSettings", "MatchingSettings", "RankingConfig", "RankingWeights", "RaySettings", "Settings", "SourceSettings", "StorageSettings",
    "get_settings",
]


class Settings(StorageSettings, EmbeddingSettings, IndexSettings, MatchingSettings, HttpSettings, SourceSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAKEHASHI_", env_nested_delimiter="__", env_parse_none_str="null")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
