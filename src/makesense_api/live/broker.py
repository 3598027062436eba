"""Brokers: how a committed change reaches the subscriptions of every process.

    Broker.publish(changes)   called right after a commit; never blocks, never raises
    Broker.listen(*topics)    a bounded Inbox of this process's Hub for one subscription

`InProcessBroker` hands changes straight to the local Hub: enough for one process (the
embedded SQLite setup). `RedisBroker` (redis_broker.py) publishes them on a Redis channel that every
replica listens to, and each replica's Hub fans out what it hears, its own changes included.
Delivery is at most once: a subscriber that falls behind loses its oldest changes, which is
harmless because a change only says "read again" (see streams.py). When a broker loses its
server (Redis), it interrupts every inbox (`Hub.interrupt`): their streams raise `Interrupted`
and the transport closes them with a retryable code, so clients reconnect and read afresh
instead of waiting for changes that will never come.
"""

import abc
import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from makesense_api.config import Settings
from makesense_api.live.changes import Change

log = logging.getLogger(__name__)

INBOX_SIZE = 256
READS_AT_ONCE = 4


class BrokerUnavailable(RuntimeError):
    """The broker could not start (its server did not answer)."""


class Interrupted(Exception):
    """The broker lost its server: changes may have been missed; the stream must end."""


class Inbox:
    """The changes one subscription has not read yet; when full, the oldest are dropped."""

    def __init__(self, size: int = INBOX_SIZE) -> None:
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue(size)
        self.dropped = 0
        self.interrupted = False

    def put(self, change: Change | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(change)

    def interrupt(self) -> None:
        """From now on, reading raises `Interrupted`."""
        self.interrupted = True
        self.put(None)

    async def get(self) -> Change:
        change = await self._queue.get()
        if change is None or self.interrupted:
            raise Interrupted
        return change

    def drain(self) -> list[Change]:
        """Take every change waiting now, without waiting."""
        changes = []
        while not self._queue.empty():
            change = self._queue.get_nowait()
            if change is None or self.interrupted:
                raise Interrupted
            changes.append(change)
        return changes


class Hub:
    """This process's subscriptions, by topic."""

    def __init__(self) -> None:
        self._inboxes: defaultdict[str, set[Inbox]] = defaultdict(set)

    def dispatch(self, change: Change) -> None:
        for topic in change.topics:
            for inbox in self._inboxes.get(topic, ()):
                inbox.put(change)

    def interrupt(self) -> None:
        """End every subscription of this process (see `Interrupted`)."""
        for inbox in {inbox for inboxes in self._inboxes.values() for inbox in inboxes}:
            inbox.interrupt()

    @contextlib.contextmanager
    def listen(self, topics: Iterable[str]) -> Iterator[Inbox]:
        inbox, topics = Inbox(), list(topics)
        for topic in topics:
            self._inboxes[topic].add(inbox)
        try:
            yield inbox
        finally:
            for topic in topics:
                self._inboxes[topic].discard(inbox)
                if not self._inboxes[topic]:
                    del self._inboxes[topic]

    @property
    def listeners(self) -> int:
        return len({inbox for inboxes in self._inboxes.values() for inbox in inboxes})


class Broker(abc.ABC):
    """Carries committed changes to the subscriptions of every process."""

    def __init__(self, reads_at_once: int = READS_AT_ONCE) -> None:
        self.hub = Hub()
        self._reads = asyncio.Semaphore(reads_at_once)

    def reading(self) -> asyncio.Semaphore:
        """Held by each re-read after a change: a change seen by thousands of subscriptions
        queues their reads instead of taking every pooled connection from requests."""
        return self._reads

    @abc.abstractmethod
    def publish(self, changes: Sequence[Change]) -> None:
        """Hand over changes that were just committed; never blocks and never raises."""

    def listen(self, *topics: str) -> contextlib.AbstractContextManager[Inbox]:
        """An inbox receiving the changes of `topics` for as long as the context lasts."""
        return self.hub.listen(topics)

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect; raises when the broker cannot work."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Deliver what is pending (briefly) and disconnect."""


class InProcessBroker(Broker):
    """One process: changes go straight to the local subscriptions."""

    def publish(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self.hub.dispatch(change)

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to disconnect."""


def broker_for(settings: Settings) -> Broker:
    """Redis when `redis_url` is set, else in process."""
    reads = max(1, settings.db_pool_size // 2)
    if settings.redis_url:
        from makesense_api.live.redis_broker import RedisBroker

        return RedisBroker(settings.redis_url, settings.live_channel, reads)
    return InProcessBroker(reads)
