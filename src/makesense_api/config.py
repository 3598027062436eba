"""Settings, read once from `MAKESENSE_*` environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; each one is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="MAKESENSE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./makesense.db",
        description="SQLAlchemy async URL (sqlite+aiosqlite or postgresql+asyncpg).",
    )
    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=100)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    seed_demo_on_first_run: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to change them)."""
    return Settings()
