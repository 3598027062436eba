"""The dispatcher: fans committed domain events out to deliveries and sends them.

    pass      fan out new domain events (webhooks.fanout), claim due deliveries, send them
              concurrently, record each attempt; then sleep until a commit that wrote domain
              events wakes it (same process) or the poll interval passes (other processes)

Delivery is at least once. Claiming a delivery increments its attempt count and pushes its
`next_attempt_at` past the longest possible attempt (a lease), in a transaction of its own,
with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two dispatchers never hold the same attempt;
SQLite write transactions run one at a time. A dispatcher that dies mid-attempt leaves the
lease to expire, and the attempt is made again, with the same `webhook-id`. A result is applied
only while the delivery still carries the attempt number it was claimed with.

Attempts: a 2xx answer is success; 410 Gone disables the endpoint; anything else (3xx, since
redirects are never followed, 4xx, 5xx, timeouts, refused addresses) is retried with
exponential backoff and jitter — base × 4ⁿ capped at the maximum delay, plus up to 25% — until
`webhooks_max_attempts` (with the defaults: about 31 hours). Every request is bounded by
`webhooks_timeout_s` as a whole, and goes to the address the SSRF check approved.
"""

import asyncio
import contextlib
import logging
import random
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.config import Settings
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.kit.models import DomainEvent
from makesense_api.ops import metrics, tracing
from makesense_api.webhooks import secrets, ssrf
from makesense_api.webhooks.fanout import fan_out
from makesense_api.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger("makesense_api.webhooks")

EXCERPT_BYTES = 500
LEASE_MARGIN_S = 5.0
USER_AGENT = "makesense-webhooks/1.0"


# -- schedule -----------------------------------------------------------------------------


def delay(settings: Settings, attempt: int) -> float:
    """Seconds before the attempt after attempt number `attempt`, without jitter."""
    growth: float = settings.webhooks_retry_base_s * 4.0 ** min(attempt - 1, 30)
    return min(settings.webhooks_retry_max_delay_s, growth)


def backoff(settings: Settings, attempt: int) -> float:
    """`delay` plus up to 25% of random jitter, so retries of many receivers spread out."""
    return delay(settings, attempt) * (1 + 0.25 * random.random())  # noqa: S311 - not secret


def retry_span(settings: Settings) -> float:
    """The shortest time between a delivery's first and last attempt."""
    return sum(delay(settings, n) for n in range(1, settings.webhooks_max_attempts))


# -- claiming -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One attempt this dispatcher holds."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    number: int
    msg_id: str
    url: str
    body: str
    secrets: list[str]
    secret_error: str | None


def _secrets(endpoint: WebhookEndpoint, settings: Settings, now: datetime) -> list[str]:
    key = settings.webhooks_secret_key
    found = [secrets.unseal(endpoint.secret, key)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and expires > now:
        found.append(secrets.unseal(endpoint.previous_secret, key))
    return found


async def claim(session: AsyncSession, settings: Settings) -> list[Claim]:
    """Take up to a batch of due deliveries of enabled endpoints (caller commits)."""
    now = utcnow()
    stmt = (
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookEndpoint.disabled_at).is_(None),
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(settings.webhooks_batch_size)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    # An attempt lasts at most the timeout; twice that plus a margin covers the claim's commit
    # and the result's recording, so a lease only expires on a dispatcher that died.
    lease = timedelta(seconds=2 * settings.webhooks_timeout_s + LEASE_MARGIN_S)
    claims = []
    for delivery, endpoint in (await session.exec(stmt)).all():
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + lease
        session.add(delivery)
        try:
            keys, problem = _secrets(endpoint, settings, now), None
        except ValueError as exc:
            keys, problem = [], str(exc)
        claims.append(
            Claim(delivery.id, endpoint.id, delivery.attempts, delivery.msg_id, endpoint.url,
                  delivery.body, keys, problem)
        )
    await session.flush()
    return claims


# -- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    latency_ms: int
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _excerpt(response: httpx.Response) -> str:
    taken = b""
    async for chunk in response.aiter_raw():
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    return taken[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def headers_for(c: Claim, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": c.msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": secrets.signature(c.secrets, c.msg_id, now, c.body),
    }


async def send(client: httpx.AsyncClient, c: Claim, settings: Settings) -> Outcome:
    """Make one attempt; never raises. A failed attempt is counted by reason."""
    outcome, reason = await _attempt(client, c, settings)
    if reason is not None:
        metrics.WEBHOOK_FAILURES.labels(reason).inc()
    return outcome


async def _attempt(
    client: httpx.AsyncClient, c: Claim, settings: Settings
) -> tuple[Outcome, str | None]:
    """One attempt and, when it failed, why: timeout, connection, status or refused."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    if c.secret_error is not None:
        return Outcome(None, c.secret_error, 0), "refused"
    try:
        async with asyncio.timeout(settings.webhooks_timeout_s):
            target = await ssrf.resolve(c.url, settings.webhooks_allow_loopback)
            url = httpx.URL(c.url)
            headers = {
                **tracing.outgoing_headers(),
                **headers_for(c, utcnow()),
                "host": url.netloc.decode("ascii"),
            }
            pinned = url.copy_with(host=str(target.address))
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            async with client.stream(
                "POST", pinned, content=c.body.encode(), headers=headers, extensions=extensions
            ) as response:
                excerpt = await _excerpt(response)
        outcome = Outcome(response.status_code, None, took(), excerpt)
        return outcome, None if outcome.succeeded else "status"
    except ssrf.UnsafeUrl as exc:
        return Outcome(None, f"refused: {exc}", took()), "refused"
    except TimeoutError:
        timeout = f"no answer within {settings.webhooks_timeout_s:g} s"
        return Outcome(None, timeout, took()), "timeout"
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:300], took()), "connection"
    except (httpx.InvalidURL, ValueError) as exc:  # a URL httpx cannot send to
        return Outcome(None, f"refused: {exc}"[:300], took()), "refused"


# -- recording ----------------------------------------------------------------------------


async def record(session: AsyncSession, c: Claim, o: Outcome, settings: Settings) -> None:
    """Log the attempt and move its delivery on, if it still holds this attempt."""
    session.add(
        WebhookAttempt(
            delivery_id=c.delivery_id, endpoint_id=c.endpoint_id, number=c.number,
            status_code=o.status_code, succeeded=o.succeeded, latency_ms=o.latency_ms,
            error=o.error, response_excerpt=o.excerpt,
        )
    )
    delivery = await session.get(WebhookDelivery, c.delivery_id, populate_existing=True)
    if delivery is None or delivery.attempts != c.number:
        return
    now = utcnow()
    delivery.last_status_code = o.status_code
    if o.succeeded or o.status_code == 410 or delivery.attempts >= settings.webhooks_max_attempts:
        delivery.status = (DeliveryStatus.SUCCEEDED if o.succeeded else DeliveryStatus.FAILED).value
        delivery.completed_at, delivery.next_attempt_at = now, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff(settings, delivery.attempts))
    session.add(delivery)
    if o.status_code == 410:
        endpoint = await session.get(WebhookEndpoint, c.endpoint_id)
        if endpoint is not None and endpoint.disabled_at is None:
            endpoint.disabled_at, endpoint.disabled_reason = now, "the endpoint answered 410 Gone"
            session.add(endpoint)
            log.warning("webhook endpoint disabled (410)", extra={"endpoint": str(endpoint.id)})


# -- the loop -----------------------------------------------------------------------------

_wakers: set[Callable[[], None]] = set()


@event.listens_for(Session, "before_flush")
def _note_outbox(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(o, DomainEvent) for o in session.new):
        session.info["outbox"] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    if session.info.pop("outbox", False):
        for wake in list(_wakers):
            wake()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint rolled back: the transaction goes on
        return
    session.info.pop("outbox", None)


@contextlib.contextmanager
def woken_by_commits(wake: Callable[[], None]) -> Iterator[None]:
    """Call `wake` after every commit of this process that wrote domain events."""
    _wakers.add(wake)
    try:
        yield
    finally:
        _wakers.discard(wake)


def http_client() -> httpx.AsyncClient:
    """No redirects, no proxies from the environment (they would bypass the SSRF check)."""
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


class Dispatcher:
    """Runs passes until stopped; one per process (API process or `makesense-api worker`)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._wake = asyncio.Event()

    async def _fan_out(self) -> None:
        batch = self.settings.webhooks_batch_size
        while True:
            async with self.database.sessionmaker() as session, session.begin():
                if await fan_out(session, batch) < batch:
                    return

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """One pass; returns how many attempts it made."""
        await self._fan_out()
        async with self.database.sessionmaker() as session, session.begin():
            claims = await claim(session, self.settings)
        if not claims:
            return 0
        outcomes = await asyncio.gather(*(send(client, c, self.settings) for c in claims))
        async with self.database.sessionmaker() as session, session.begin():
            for c, o in zip(claims, outcomes, strict=True):
                await record(session, c, o, self.settings)
        return len(claims)

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until `stop` is set; a pass under way always finishes."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        async with http_client() as client:
            with woken_by_commits(wake):
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        if await self.run_once(client):
                            continue
                    except Exception:
                        log.exception("webhook dispatcher pass failed")
                    await self._sleep(stop)

    async def _sleep(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(
                waits, timeout=self.settings.webhooks_poll_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for w in waits:
                w.cancel()


async def work(settings: Settings) -> None:
    """`makesense-api worker`: the dispatcher alone, until SIGTERM or SIGINT."""
    database = Database.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("webhook worker started")
    try:
        await Dispatcher(database, settings).run(stop)
    finally:
        await database.dispose()
        log.info("webhook worker stopped")


def in_background(
    database: Database, settings: Settings, stop: asyncio.Event, enabled: bool
) -> Callable[[], Awaitable[None]]:
    """Start the dispatcher as a task of the API process (when `enabled`); the returned
    coroutine function waits for it after `stop` is set (bounded by the request timeout)."""
    if not enabled:

        async def nothing() -> None:
            return None

        return nothing
    task = asyncio.create_task(Dispatcher(database, settings).run(stop))

    async def finished() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, settings.webhooks_timeout_s + 5)
        except TimeoutError:
            log.warning("webhook dispatcher stopped mid-attempt; its leases will expire")

    return finished
