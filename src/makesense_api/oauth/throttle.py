"""Failure counting for brute-force protection: logins per account and per IP address, client
authentications per client and per IP address.

`Throttle` is the interface the endpoints use; it is asynchronous so that a shared store
(Redis) can stand behind it when the API runs on several replicas. `MemoryThrottle` keeps a
sliding window of failure instants per key in this process, bounded in size: it protects one
replica, and forgets on restart.
"""

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

MAX_KEYS = 100_000


class Throttle(Protocol):
    async def retry_after(self, key: str, limit: int) -> int | None:
        """Seconds until `key` may try again, when it reached `limit` failures; else None."""
        ...

    async def failed(self, *keys: str) -> None:
        """Count one failure against each key."""
        ...

    async def clear(self, key: str) -> None:
        """Forget a key's failures (after a success)."""
        ...


class MemoryThrottle:
    """Sliding-window failure counts in process memory."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    async def retry_after(self, key: str, limit: int) -> int | None:
        now = self.clock()
        times = self._recent(key, now)
        if len(times) < limit:
            return None
        # Free again when enough of the oldest failures have left the window.
        return max(1, int(times[-limit] + self.window_s - now) + 1)

    async def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            times = self._recent(key, now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            times.append(now)
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
