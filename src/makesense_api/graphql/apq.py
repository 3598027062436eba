"""Automatic persisted queries, Apollo's protocol.

A client first sends only `extensions.persistedQuery = {version: 1, sha256Hash}`, typically as a
GET so that CDNs can cache the answer. If the server knows the hash it runs the stored query;
otherwise it answers `PERSISTED_QUERY_NOT_FOUND` and the client sends the query with its hash,
which the server checks and stores once the document parses and validates.

Status of a miss: 200 under both media types, as Apollo Server does (its not-found error is a
200 with `Cache-Control: private, no-cache, must-revalidate`; ours says `no-store`). Apollo
clients recognise the miss by its code, and a 200 keeps intermediaries from treating the
round trip as a failure. A hash that does not match the query is a 400.

Where queries are kept (`store_for`): in process, bounded (`LruQueryStore`), for a single
process; in Redis when `redis_url` is set (`RedisQueryStore`), so that a query registered
through one replica is found through every other. Redis keys expire after a day unless used
again. When Redis does not answer, the store reads as a miss and forgets what it was given
(the client sends its query again: the protocol's normal path), so an outage costs a round
trip, never an error.
"""

import hashlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from makesense_api.config import Settings

log = logging.getLogger(__name__)

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class QueryStore(Protocol):
    """Where query texts are kept by their SHA-256 (lowercase hex)."""

    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, query: str) -> None: ...


class LruQueryStore:
    """In-process store, least recently used first out, bounded in entries and characters."""

    def __init__(self, max_entries: int, max_chars: int = 16_000_000) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._chars = 0

    async def get(self, sha256: str) -> str | None:
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    async def put(self, sha256: str, query: str) -> None:
        if sha256 in self._queries or len(query) > self.max_chars:
            return
        self._queries[sha256] = query
        self._chars += len(query)
        while len(self._queries) > self.max_entries or self._chars > self.max_chars:
            _, evicted = self._queries.popitem(last=False)
            self._chars -= len(evicted)

    def __len__(self) -> int:
        return len(self._queries)


class RedisQueryStore:
    """Shared by every replica: one Redis string per query, `<prefix><sha256>`, with a TTL
    renewed on use; a Redis failure reads as a miss and is logged."""

    TTL_S = 86_400
    TIMEOUT_S = 0.5
    MAX_CHARS = 1_000_000

    def __init__(self, url: str, prefix: str = "makesense:apq:") -> None:
        self.prefix = prefix
        self._redis = aioredis.from_url(
            url, socket_connect_timeout=self.TIMEOUT_S, socket_timeout=self.TIMEOUT_S
        )

    async def get(self, sha256: str) -> str | None:
        try:
            value = await self._redis.getex(self.prefix + sha256, ex=self.TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("persisted query store unavailable", extra={"error": type(exc).__name__})
            return None
        if isinstance(value, bytes):
            return value.decode()
        return value if isinstance(value, str) else None

    async def put(self, sha256: str, query: str) -> None:
        if len(query) > self.MAX_CHARS:
            return
        try:
            await self._redis.set(self.prefix + sha256, query.encode(), ex=self.TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("persisted query store unavailable", extra={"error": type(exc).__name__})

    async def close(self) -> None:
        await self._redis.aclose()


def store_for(settings: Settings) -> QueryStore:
    """Redis when `redis_url` is set (shared by the replicas), else in process."""
    if settings.redis_url:
        return RedisQueryStore(settings.redis_url, f"{settings.live_channel}:apq:")
    return LruQueryStore(settings.graphql_apq_max_entries)


class PersistedQueryError(Exception):
    """The request cannot be answered; `status` and `code` say how to tell the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Lookup:
    """What the persisted-query extension made of a request."""

    query: str | None
    sha256: str | None = None  # set when the request uses the extension
    hash_only: bool = False  # the query came from the store (the cacheable form)


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueries:
    """Resolve `extensions.persistedQuery` against a store."""

    def __init__(self, store: QueryStore, *, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> Lookup:
        """The query to run; raises PersistedQueryError for a miss or a malformed request."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return Lookup(query)
        if not self.enabled:
            raise PersistedQueryError(
                200, PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported"
            )
        sha256 = _checked_hash(persisted)
        if query is None:
            stored = await self.store.get(sha256)
            if stored is None:
                raise PersistedQueryError(200, PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
            return Lookup(stored, sha256, hash_only=True)
        if sha256_hex(query) != sha256:
            raise PersistedQueryError(400, "BAD_REQUEST", "provided sha does not match query")
        return Lookup(query, sha256)

    async def remember(self, lookup: Lookup) -> None:
        """Store a query sent with its hash; call once its document is known to be valid."""
        if lookup.sha256 and lookup.query is not None and not lookup.hash_only:
            await self.store.put(lookup.sha256, lookup.query)


def _checked_hash(persisted: Any) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(400, "BAD_REQUEST", "Unsupported persisted query version")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise PersistedQueryError(
            400, "BAD_REQUEST", "persistedQuery.sha256Hash must be a lowercase SHA-256 hex digest"
        )
    return sha256
