"""Fan-out across replicas through one Redis pub/sub channel.

Every process subscribes to the channel at start-up (and fails to start when Redis does not
answer), publishes each committed change on it from a background task, and dispatches what it
hears to its own Hub. A lost connection ends this process's subscriptions (`Hub.interrupt`:
the transport closes them with a retryable code) and is retried with a growing pause; changes
published meanwhile are lost, which costs subscribers an update, never a wrong one: they
reconnect and read afresh.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from makesense_api.live.broker import READS_AT_ONCE, Broker, BrokerUnavailable
from makesense_api.live.changes import Change

log = logging.getLogger(__name__)

CHANNEL = "makesense:live:changes"
OUTGOING_SIZE = 10_000
CONNECT_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0
MAX_PAUSE_S = 10.0


class RedisBroker(Broker):
    """Publishes on, and listens to, one Redis channel shared by every replica."""

    def __init__(
        self, url: str, channel: str = CHANNEL, reads_at_once: int = READS_AT_ONCE
    ) -> None:
        super().__init__(reads_at_once)
        self.channel = channel
        self._redis = aioredis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=30
        )
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue(OUTGOING_SIZE)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._subscribe(), CONNECT_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            await self._redis.aclose()
            # The URL may hold a password: name the failure, not the URL.
            raise BrokerUnavailable(f"Redis did not answer ({type(exc).__name__})") from exc
        self._tasks = [
            asyncio.create_task(self._receive(), name="live-redis-receive"),
            asyncio.create_task(self._send(), name="live-redis-send"),
        ]

    async def _subscribe(self) -> None:
        # Wait for the confirmation: changes published after start() returns are heard.
        self._pubsub.ignore_subscribe_messages = False
        await self._pubsub.subscribe(self.channel)
        while (await self._pubsub.get_message(timeout=CONNECT_TIMEOUT_S)) is None:
            pass
        self._pubsub.ignore_subscribe_messages = True

    def publish(self, changes: Sequence[Change]) -> None:
        for change in changes:
            try:
                self._outgoing.put_nowait(change.encode())
            except asyncio.QueueFull:
                log.warning("live change dropped: the Redis publisher is behind")

    async def _send(self) -> None:
        while True:
            data = await self._outgoing.get()
            try:
                await self._redis.publish(self.channel, data)
            except (RedisError, OSError):
                log.warning("could not publish a live change to Redis", exc_info=True)
            finally:
                self._outgoing.task_done()

    async def _receive(self) -> None:
        pause = 0.1
        while True:
            try:
                async for message in self._pubsub.listen():
                    pause = 0.1
                    if message.get("type") == "message":
                        self._dispatch(message["data"])
            except (RedisError, OSError):
                log.warning("lost the Redis subscription; retrying", exc_info=True)
                self.hub.interrupt()
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_S)

    def _dispatch(self, data: bytes) -> None:
        try:
            change = Change.decode(data)
        except ValueError:
            log.warning("ignored a malformed message on the live channel")
            return
        self.hub.dispatch(change)

    async def stop(self) -> None:
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), STOP_TIMEOUT_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()
