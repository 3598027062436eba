"""Settings, read once from `MAKESENSE_*` environment variables."""

import secrets
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
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

    # GraphQL transport (graphql/view.py) and its protections (graphql/limits.py, cost.py).
    graphiql: bool = Field(default=False, description="Serve GraphiQL on GET /graphql.")
    graphql_introspection: bool = Field(
        default=True, description="Answer __schema/__type queries (else a validation error)."
    )
    graphql_max_depth: int = Field(default=12, ge=1, le=100)
    graphql_max_aliases: int = Field(default=30, ge=0)
    graphql_max_tokens: int = Field(default=2_000, ge=100)
    graphql_max_cost: int = Field(default=10_000, ge=1)
    graphql_default_page_size: int = Field(
        default=20, ge=1, le=100, description="Page size the cost assumes without first/last."
    )
    graphql_max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    graphql_document_cache_size: int = Field(
        default=512, ge=0, description="Parsed and validated documents kept in memory."
    )
    graphql_apq: bool = Field(default=True, description="Accept automatic persisted queries.")
    graphql_apq_max_entries: int = Field(default=10_000, ge=1)
    graphql_apq_max_age_s: int = Field(
        default=300, ge=0, description="Shared-cache lifetime of anonymous persisted GETs."
    )
    graphql_ws_init_timeout_s: float = Field(default=10.0, gt=0)
    graphql_ws_allowed_origins: list[str] = Field(
        default_factory=list, description="Cross-origin pages allowed to open subscriptions."
    )

    # OAuth 2 authorization server (oauth/).
    oauth_issuer: str | None = Field(
        default=None,
        description="Issuer URL (RFC 8414, RFC 9207); unset: the request's own origin, "
        "acceptable only in development. Set it in production.",
    )
    oauth_access_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    oauth_refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=3_600, le=365 * 86_400)
    oauth_code_ttl_s: int = Field(default=60, ge=10, le=600)
    oauth_session_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="Signs the login cookie of the OAuth pages; unset: random per process "
        "(logins do not survive restarts nor span replicas).",
    )
    oauth_session_ttl_s: int = Field(default=3_600, ge=60, le=86_400)
    oauth_max_failures: int = Field(
        default=5, ge=1, description="Failed logins (per account) or client authentications "
        "(per client) within the window before answering 429."
    )
    oauth_max_failures_per_ip: int = Field(default=20, ge=1)
    oauth_failure_window_s: int = Field(default=900, ge=1)

    # REST surface (rest/) and feeds (feeds/).
    rest_max_body_bytes: int = Field(
        default=1_000_000, ge=1_000, description="Larger REST request bodies get 413."
    )
    rest_idempotency_ttl_s: int = Field(
        default=86_400, ge=60, description="How long an Idempotency-Key is remembered."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to change them)."""
    return Settings()
