"""Rate limits: budgets per client, per anonymous address and per chapter (`limits`).

    budget    key                                    charged by
    client    the token's OAuth client (else its     every request of the client
              person or partner)
    ip        the client address                     every request without a token
    chapter   the chapter that owns the client       every request of every client the chapter
                                                     owns (its site, its apps)

A chapter's site and a partner's integration never share a budget: a partner's clients are
charged to their own client budget only, a chapter's clients to theirs and their chapter's.
REST and every other route cost 1 per request; a GraphQL operation costs what graphql/cost.py
computes, charged by the view before it runs. `/livez`, `/readyz` and `/metrics` are exempt.

Windows are fixed (a counter per window: a cost is one increment, whatever its size); a request
is tested against every window before it is charged, so a refused request consumes nothing.
Counters live in process memory, or in Redis when `redis_url` is set, so that every replica
draws on one budget. When Redis stops answering, counting falls back to process memory (logged once)
and Redis is tried again every `ratelimit_redis_retry_s`; it takes over again when it answers.

Responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until
the window resets) of the most constrained budget — the separate fields of
draft-ietf-httpapi-ratelimit-headers (up to -06); a refusal is 429 with `Retry-After`.
"""

import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makesense_api.authz.principal import Principal
from makesense_api.config import Settings
from makesense_api.kit.db import write_intent
from makesense_api.kit.middleware import problem_response
from makesense_api.ops import metrics

log = logging.getLogger(__name__)

EXEMPT = frozenset({"/livez", "/readyz", "/metrics"})
NAMESPACE = "makesense"
OWNER_TTL_S = 300.0
OWNER_CACHE_SIZE = 10_000
REDIS_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Budget:
    """One budget a request draws on: its kind, its key and its windows."""

    kind: str
    key: str
    windows: tuple[RateLimitItem, ...]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a charge, for the most constrained window."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds
    budget: str

    def reset_after(self) -> int:
        return max(0, int(self.reset_at - time.time() + 0.999))

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_after()).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(max(1, self.reset_after())).encode()))
        return headers

    def extension(self) -> dict[str, Any]:
        """`extensions.rateLimit` of GraphQL responses."""
        reset = datetime.fromtimestamp(self.reset_at, UTC).replace(microsecond=0)
        return {"limit": self.limit, "remaining": self.remaining, "resetAt": reset.isoformat()}


class RateLimited(Exception):
    """A request over one of its budgets."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            f"The {verdict.budget} rate limit is exhausted; retry in {verdict.reset_after()} s."
        )
        self.verdict = verdict


def _redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"


class RateLimiter:
    """Fixed-window counters in Redis (when configured) or process memory, with fallback."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.ratelimit_enabled
        self.client = tuple(parse_many(settings.ratelimit_client))
        self.anonymous = tuple(parse_many(settings.ratelimit_anonymous))
        self.chapter = tuple(parse_many(settings.ratelimit_chapter))
        self.retry_s = settings.ratelimit_redis_retry_s
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.redis: Storage | None = None
        if settings.redis_url:
            self.redis = RedisStorage(
                _redis_uri(settings.redis_url),
                implementation="redispy",
                key_prefix=NAMESPACE,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
        self.shared = FixedWindowRateLimiter(self.redis) if self.redis is not None else None
        self.degraded_until: float | None = None  # monotonic time of the next Redis attempt
        self.owners: OrderedDict[str, tuple[float, uuid.UUID | None]] = OrderedDict()

    @property
    def backend(self) -> str:
        return "redis" if self.shared is not None and self.degraded_until is None else "memory"

    async def _strategy(self) -> FixedWindowRateLimiter:
        if self.shared is None:
            return self.memory
        if self.degraded_until is None:
            return self.shared
        if time.monotonic() < self.degraded_until:
            return self.memory
        assert self.redis is not None
        try:
            healthy = await self.redis.check()
        except Exception:
            healthy = False
        if not healthy:
            self.degraded_until = time.monotonic() + self.retry_s
            return self.memory
        self.degraded_until = None
        log.warning("rate-limit counters are shared through Redis again")
        return self.shared

    def _degrade(self) -> None:
        if self.degraded_until is None:
            log.warning(
                "Redis is unreachable: rate limits are counted in process memory until it answers",
                exc_info=True,
            )
        self.degraded_until = time.monotonic() + self.retry_s

    async def charge(self, budgets: list[Budget], cost: int) -> Verdict | None:
        """Charge `cost` to each budget in order, stopping at the first one exhausted."""
        if not self.enabled or not budgets:
            return None
        strategy = await self._strategy()
        try:
            return await self._charge(strategy, budgets, cost)
        except Exception:
            if strategy is self.memory:
                raise
            self._degrade()
            return await self._charge(self.memory, budgets, cost)

    async def _charge(
        self, strategy: FixedWindowRateLimiter, budgets: list[Budget], cost: int
    ) -> Verdict:
        """Test every window first, so that a refused request consumes nothing; then hit."""
        windows = [(budget, window) for budget in budgets for window in budget.windows]
        for budget, window in windows:
            if not await strategy.test(window, NAMESPACE, budget.kind, budget.key, cost=cost):
                return await self._refuse(strategy, budget, window)
        tightest: Verdict | None = None
        for budget, window in windows:
            ids = (NAMESPACE, budget.kind, budget.key)
            if not await strategy.hit(window, *ids, cost=cost):  # lost a race for the last units
                return await self._refuse(strategy, budget, window)
            stats = await strategy.get_window_stats(window, *ids)
            verdict = Verdict(True, window.amount, stats.remaining, stats.reset_time, budget.kind)
            if tightest is None or verdict.remaining < tightest.remaining:
                tightest = verdict
        assert tightest is not None
        return tightest

    @staticmethod
    async def _refuse(
        strategy: FixedWindowRateLimiter, budget: Budget, window: RateLimitItem
    ) -> Verdict:
        metrics.RATELIMIT_REJECTIONS.labels(budget.kind).inc()
        stats = await strategy.get_window_stats(window, NAMESPACE, budget.kind, budget.key)
        return Verdict(False, window.amount, stats.remaining, stats.reset_time, budget.kind)

    async def owner_chapter(self, session: AsyncSession, client_id: str) -> uuid.UUID | None:
        """The chapter owning an OAuth client (None for a partner's), cached for a while."""
        now = time.monotonic()
        cached = self.owners.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        from makesense_api.oauth.models import OAuthClient

        stmt = select(OAuthClient.chapter_id).where(OAuthClient.client_id == client_id)
        token = write_intent.set(False)
        try:
            chapter_id = (await session.exec(stmt)).first()
        finally:
            await session.rollback()
            write_intent.reset(token)
        self.owners[client_id] = (now + OWNER_TTL_S, chapter_id)
        self.owners.move_to_end(client_id)
        while len(self.owners) > OWNER_CACHE_SIZE:
            self.owners.popitem(last=False)
        return chapter_id

    async def budgets(self, scope: Scope) -> list[Budget]:
        """The budgets of the request's caller, most specific first."""
        state = scope["state"]
        principal: Principal = state.get("principal") or Principal.anonymous()
        if principal.is_anonymous:
            address = (scope.get("client") or ("unknown", 0))[0]
            return [Budget("ip", address, self.anonymous)]
        if principal.client_id is not None:
            found = [Budget("client", principal.client_id, self.client)]
            chapter_id = await self.owner_chapter(state["session"], principal.client_id)
            if chapter_id is not None:
                state["chapter_id"] = chapter_id
                found.append(Budget("chapter", str(chapter_id), self.chapter))
            return found
        subject = principal.person_id or principal.partner_id
        return [Budget("client", f"subject:{subject}", self.client)]

    async def close(self) -> None:
        """Close the Redis connections (at shutdown)."""
        client = getattr(getattr(self.redis, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


async def charge(scope: Scope, cost: int) -> Verdict | None:
    """Charge the request's budgets `cost` (GraphQL: before execution); raises RateLimited.

    A no-op (None) when the rate-limit middleware did not run for this request.
    """
    state = scope.get("state", {})
    limiter: RateLimiter | None = state.get("ratelimiter")
    budgets: list[Budget] | None = state.get("ratelimit_budgets")
    if limiter is None or budgets is None:
        return None
    verdict = await limiter.charge(budgets, max(1, cost))
    if verdict is not None:
        state["ratelimit"] = verdict
        if not verdict.allowed:
            raise RateLimited(verdict)
    return verdict


def deferred(scope: Scope) -> bool:
    """Whether the route charges for itself (GraphQL over HTTP, by the operation's cost)."""
    return scope["path"] == "/graphql" and scope["method"] in ("GET", "POST")


class RateLimit:
    """Charge each HTTP request to its caller's budgets; add the RateLimit-* headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state", {})
        limiter: RateLimiter | None = state.get("ratelimiter")
        if scope["type"] != "http" or scope["path"] in EXEMPT or not limiter or not limiter.enabled:
            await self.app(scope, receive, send)
            return
        state["ratelimit_budgets"] = await limiter.budgets(scope)
        if not deferred(scope):
            try:
                await charge(scope, 1)
            except RateLimited as refused:
                start, body = problem_response(429, "Too Many Requests", str(refused))
                start["headers"] = [*start["headers"], *refused.verdict.headers()]
                await send(start)
                await send(body)
                return

        async def send_with_headers(message: Message) -> None:
            verdict: Verdict | None = state.get("ratelimit")
            if message["type"] == "http.response.start" and verdict is not None:
                message["headers"] = [*message.get("headers", []), *verdict.headers()]
            await send(message)

        await self.app(scope, receive, send_with_headers)

