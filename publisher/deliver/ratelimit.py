"""Per-server send limits (per second, per hour). Shared through Redis when workers run on several machines;
in one process when embedded."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from publisher.config import SMTPServer
from publisher.errors import MailerUnavailableError


class RateLimiter(Protocol):
    def acquire(self, server: SMTPServer) -> None:
        """Wait for a per-second slot; raise MailerUnavailableError when the hourly quota is spent."""


class LocalRateLimiter:
    """Sliding windows in this process."""

    def __init__(self):
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, server: SMTPServer) -> None:
        if server.per_second is None and server.per_hour is None:
            return
        while True:
            with self._lock:
                wait = self._wait_or_take(server, time.monotonic())
            if wait <= 0:
                return
            time.sleep(wait)

    def _wait_or_take(self, server: SMTPServer, now: float) -> float:
        sent = self._sent.setdefault(server.key, deque())
        while sent and sent[0] <= now - 3600:
            sent.popleft()
        if server.per_hour is not None and len(sent) >= server.per_hour:
            raise MailerUnavailableError(f"{server.key} has used its quota of {server.per_hour} messages an hour")
        if server.per_second is not None:
            in_last_second = len(sent) - _first_after(sent, now - 1.0)
            if in_last_second >= server.per_second:
                return sent[-int(server.per_second)] + 1.0 - now
        sent.append(now)
        return 0.0


def _first_after(sent: deque[float], moment: float) -> int:
    for index in range(len(sent) - 1, -1, -1):
        if sent[index] <= moment:
            return index + 1
    return 0


class RedisRateLimiter:
    """Fixed one-second and one-hour windows counted in Redis, so every worker on every machine shares them."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)

    def acquire(self, server: SMTPServer) -> None:
        if server.per_second is None and server.per_hour is None:
            return
        if server.per_hour is not None:
            hour = int(time.time() // 3600)
            if self._count(f"publisher:rate:{server.key}:h:{hour}", 3700) > server.per_hour:
                raise MailerUnavailableError(f"{server.key} has used its quota of {server.per_hour} messages an hour")
        while server.per_second is not None:
            now = time.time()
            if self._count(f"publisher:rate:{server.key}:s:{int(now)}", 5) <= server.per_second:
                return
            time.sleep(1.0 - (now % 1.0))

    def _count(self, key: str, ttl: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])
