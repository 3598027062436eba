"""Settings, read once from `MAKESENSE_*` environment variables."""

import secrets
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    shutdown_drain_s: float = Field(
        default=0.0, ge=0, le=300,
        description="On SIGTERM, how long /readyz answers 503 while requests are still served, "
        "before the listener closes (let load balancers notice; 0: close at once).",
    )
    shutdown_grace_s: int = Field(
        default=20, ge=1, le=600,
        description="After the listener closes, how long requests in flight may take to finish.",
    )
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
    graphql_ws_max_subscriptions: int = Field(
        default=20, ge=1, le=1_000, description="Operations running at once on one WebSocket."
    )

    # Shared state across replicas (live/ subscription fan-out; shared rate-limit buckets).
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db shared by every replica; unset: state kept in process "
        "(one process only).",
    )
    live_channel: str = Field(
        default="makesense:live:changes", min_length=1,
        description="Redis channel on which the replicas of one deployment share live changes.",
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
    signup_max_per_ip: int = Field(
        default=10, ge=1, description="Sign-up attempts per client address within the "
        "failure window (OAuth pages, REST and GraphQL together) before answering 429."
    )
    oauth_secret_rotation_grace_s: int = Field(
        default=86_400, ge=0, le=30 * 86_400,
        description="How long a client's previous secret keeps working after a rotation.",
    )
    personal_token_max_days: int = Field(
        default=365, ge=1, le=3_650, description="Longest lifetime of a personal access token."
    )
    purge_retention_s: int = Field(
        default=7 * 86_400, ge=0,
        description="How long expired or revoked codes and tokens are kept before the purge.",
    )
    purge_batch_size: int = Field(default=1_000, ge=1, le=100_000)

    # REST surface (rest/) and feeds (feeds/).
    rest_max_body_bytes: int = Field(
        default=1_000_000, ge=1_000, description="Larger REST request bodies get 413."
    )
    rest_idempotency_ttl_s: int = Field(
        default=86_400, ge=60, description="How long an Idempotency-Key is remembered."
    )

    # Operations (ops/): rate limits, body limits, metrics.
    ratelimit_enabled: bool = Field(default=True, description="Enforce the rate limits.")
    ratelimit_client: str = Field(
        default="100000/minute",
        description="Budget of each client (OAuth client, or personal token's person), in "
        "cost units: REST requests cost 1, GraphQL operations their computed cost. Several "
        "windows separated by ';' (e.g. '100000/minute;2000000/hour').",
    )
    ratelimit_anonymous: str = Field(
        default="20000/minute", description="Budget of each client address without a token."
    )
    ratelimit_chapter: str = Field(
        default="300000/minute",
        description="Budget shared by all clients a chapter owns (its site, its apps).",
    )
    ratelimit_redis_retry_s: float = Field(
        default=5.0, gt=0, description="While Redis is unreachable, how often to retry it."
    )
    max_body_bytes: int = Field(
        default=100_000, ge=1_000,
        description="Larger request bodies get 413 on routes without a limit of their own "
        "(OAuth endpoints and pages).",
    )
    metrics_allowed_networks: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Client networks (CIDR, JSON list) allowed to read GET /metrics.",
    )

    @field_validator("ratelimit_client", "ratelimit_anonymous", "ratelimit_chapter")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            message = f"expected limits such as '100/minute;1000/hour', got {value!r}"
            raise ValueError(message) from None
        return value

    @model_validator(mode="after")
    def _production_needs_its_keys(self) -> "Settings":
        """Production refuses to start without what must not default: the issuer it signs
        responses as, and the key that encrypts webhook signing secrets at rest."""
        if self.environment == "production":
            missing = [
                f"MAKESENSE_{name.upper()}"
                for name in ("oauth_issuer", "webhooks_secret_key")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"production needs {' and '.join(missing)} to be set")
        return self

    @field_validator("metrics_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    # Outgoing webhooks (webhooks/): the dispatcher and its protections.
    webhooks_dispatcher: bool = Field(
        default=True, description="Run the webhook dispatcher inside `serve` (else run `worker`)."
    )
    webhooks_allow_loopback: bool = Field(
        default=False, description="Accept loopback webhook URLs (local development, tests)."
    )
    webhooks_secret_key: SecretStr | None = Field(
        default=None, description="Encrypts webhook signing secrets at rest; unset: stored plain."
    )
    webhooks_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhooks_retry_base_s: float = Field(default=5.0, gt=0)
    webhooks_retry_max_delay_s: float = Field(default=21_600.0, gt=0)
    webhooks_max_attempts: int = Field(default=12, ge=1, le=50)
    webhooks_poll_interval_s: float = Field(default=2.0, gt=0, le=60)
    webhooks_batch_size: int = Field(default=20, ge=1, le=500)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to change them)."""
    return Settings()
