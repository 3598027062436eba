"""`Idempotency-Key` on REST POSTs: a retried request gets the first answer, and writes nothing.

The key is scoped to its caller (the OAuth client together with the person or partner it acts
for, so two users of one app never share keys) and remembered for `rest_idempotency_ttl_s`.

    first request        the key row is inserted first, in the request's own transaction, and
                         the response stored in it before commit; a failure (4xx/5xx) rolls
                         the key back with everything else, so the request may be retried
    same key, same body  the stored status, body and representation headers, replayed
    same key, other body 422: a key names one request
    secret answers       an answer that shows a secret once (a new feed token) is not stored:
                         its replay is 409, the request is not run again
    duplicate in flight  409 (PostgreSQL: a transaction-scoped advisory lock per key; on
                         SQLite write transactions run one at a time, so a duplicate waits for
                         the first to commit and is then replayed)

Anonymous requests are not remembered: nothing an anonymous POST does succeeds.

Keys expire after `rest_idempotency_ttl_s` (24 hours by default): an expired key is ignored
at lookup (a retry after that is a new request; its old row is replaced), and
`purge_expired_idempotency_keys` deletes expired rows in bounded batches (`makesense-api
purge`), through the index on `created_at`.
"""

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.errors import Conflict, ValidationFailed
from makesense_api.kit.ids import new_id
from makesense_api.kit.models import created_field

HEADER = "idempotency-key"
MAX_KEY = 255
DEFAULT_TTL = timedelta(seconds=86_400)
PURGE_BATCH = 1_000
REPLAYED_HEADERS = ("content-type", "etag", "location", "content-language", "link")


class IdempotencyKey(SQLModel, table=True):
    """One remembered POST: the caller's key, a hash of the request, and the answer given."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        sa.UniqueConstraint("owner", "key"),
        sa.Index("ix_idempotency_key_created_at", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner: str = Field(sa_type=sa.String(140))
    key: str = Field(sa_type=sa.String(MAX_KEY))
    request_hash: str = Field(sa_type=sa.String(64))
    status: int | None = None
    body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    headers: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = created_field()


def ttl_of(settings: Settings) -> timedelta:
    """How long a key is remembered."""
    return timedelta(seconds=settings.rest_idempotency_ttl_s)


def key_of(request: Request) -> str | None:
    """The request's key, if it sent one; a malformed key is a field error."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
        raise ValidationFailed.on("Idempotency-Key", f"give 1–{MAX_KEY} printable ASCII characters")
    return key


def _owner(ctx: Ctx) -> str | None:
    p = ctx.principal
    subject = p.person_id or p.partner_id
    if subject is None:
        return None
    return f"{p.client_id or '-'}|{subject}"


def _fingerprint(request: Request, raw: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode()):
        digest.update(part + b"\0")
    digest.update(raw)
    return digest.hexdigest()


def _lock_key(owner: str, key: str) -> int:
    digest = hashlib.sha256(f"idempotency:{owner}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


async def _claim(ctx: Ctx, owner: str, key: str) -> None:
    """On PostgreSQL, refuse a duplicate while the first request is still running."""
    if ctx.session.get_bind().dialect.name != "postgresql":
        return
    stmt = select(sa.func.pg_try_advisory_xact_lock(_lock_key(owner, key)))
    if not (await ctx.session.exec(stmt)).one():
        raise Conflict("a request with this Idempotency-Key is still being processed")


def _replay(row: IdempotencyKey) -> Response:
    if row.body is None:
        raise Conflict(
            "this request was already done; its answer showed a secret once and is not kept"
        )
    headers = {k: v for k, v in row.headers.items() if k != "content-type"}
    headers["Idempotent-Replayed"] = "true"
    return Response(
        row.body or b"",
        status_code=row.status or 200,
        media_type=row.headers.get("content-type"),
        headers=headers,
    )


async def begin(ctx: Ctx, request: Request, key: str, raw: bytes) -> Response | None:
    """The stored answer to replay, or None after claiming the key for this request."""
    owner = _owner(ctx)
    if owner is None:
        return None
    settings: Settings = request.state.settings
    await _claim(ctx, owner, key)
    fingerprint = _fingerprint(request, raw)
    stmt = select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    row = (await ctx.session.exec(stmt)).first()
    if row is not None and row.created_at <= utcnow() - ttl_of(settings):
        # Expired: forgotten, so this request is a new one under the same key.
        await ctx.session.delete(row)
        await ctx.session.flush()
        row = None
    if row is not None:
        if row.request_hash != fingerprint:
            raise ValidationFailed.on(
                "Idempotency-Key", "already used for a different request; use a new key"
            )
        if row.status is None:
            raise Conflict("a request with this Idempotency-Key is still being processed")
        return _replay(row)
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(
                IdempotencyKey(owner=owner, key=key, request_hash=fingerprint)
            )
    except IntegrityError:
        raise Conflict("a request with this Idempotency-Key is still being processed") from None
    return None


async def finish(ctx: Ctx, key: str, response: Response, keep_body: bool = True) -> None:
    """Store the answer with the key, in the same transaction as the request's writes;
    without its body when it shows a secret (`keep_body=False`)."""
    owner = _owner(ctx)
    if owner is None:
        return
    headers: dict[str, Any] = {
        name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
    }
    await ctx.session.exec(
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.owner) == owner, col(IdempotencyKey.key) == key)
        .values(
            status=response.status_code,
            body=bytes(response.body) if keep_body else None,
            headers=headers,
        )
    )


async def purge_expired_idempotency_keys(
    session: AsyncSession,
    now: datetime,
    *,
    ttl: timedelta = DEFAULT_TTL,
    batch: int = PURGE_BATCH,
) -> int:
    """Delete at most `batch` keys older than `ttl` at `now`, oldest first; how many.

    Bounded so that a large backlog never holds a long transaction or lock: call it again,
    committing in between, until it returns less than `batch`. The caller commits.
    """
    oldest = (
        select(IdempotencyKey.id)
        .where(col(IdempotencyKey.created_at) <= as_utc(now) - ttl)
        .order_by(col(IdempotencyKey.created_at))
        .limit(batch)
    )
    ids = list((await session.exec(oldest)).all())
    if not ids:
        return 0
    await session.exec(
        sa.delete(IdempotencyKey)
        .where(col(IdempotencyKey.id).in_(ids))
        .execution_options(synchronize_session=False)
    )
    return len(ids)
