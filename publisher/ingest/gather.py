"""Gather: fetch, parse and sanitize feeds off the database thread, many at a time.

The network side runs on an asyncio event loop in a thread of its own (aiohttp: hundreds of polls in flight
for little CPU); parsing goes to the bounded parser processes of `guard` through a few threads that only wait
on their pipes. The caller (the thread that owns the database session) receives outcomes as they arrive and
stores them: a slow feed holds only its own slot, and a stalled database never makes a fetch time out.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from publisher.config import Settings
from publisher.errors import FetchError, PublisherError
from publisher.ingest.fetch import Fetcher, FetchResult
from publisher.ingest.clean import CleanPost, parse_and_clean
from publisher.ingest.guard import run_bounded
from publisher.ingest.parse import ParsedFeed
from publisher.ingest.ssrf import Policy

# Threads that hand parses to the parser processes and wait for them (on a pipe: no CPU here).
PARSE_THREADS = 4


@dataclass(frozen=True)
class Outcome:
    """What one poll brought back from the network, before anything touches the database."""

    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None  # None on 304 Not Modified
    posts: list[CleanPost] | None = None
    error: PublisherError | None = None


@dataclass(frozen=True)
class Request:
    url: str
    etag: str | None = None
    last_modified: str | None = None


def read_clean(settings: Settings, base_url: str, data: bytes,
               content_type: str | None) -> tuple[ParsedFeed, list[CleanPost]]:
    """Parse and sanitize under the time limit, both in the parser process: off this process's CPU."""
    return run_bounded(parse_and_clean, base_url, data, content_type=content_type,
                       time_limit=settings.parse_time_limit)


def _gathered(settings: Settings, fetched: FetchResult) -> Outcome:
    parsed, posts = read_clean(settings, fetched.url, fetched.content, fetched.content_type)
    return Outcome(fetched=fetched, parsed=parsed, posts=posts)


class Gatherer:
    """An event loop in a background thread with one pooled Fetcher; use as a context manager.

    `gather` fetches one feed and waits; `gather_batches` hands over many, in batches as they arrive."""

    def __init__(self, settings: Settings, *, concurrency: int | None = None):
        self.settings = settings
        self._concurrency = max(1, concurrency or settings.poll_concurrency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-gatherer", daemon=True)
        self._parsers = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="feed-parser")
        self._fetcher = Fetcher(policy=Policy.of(settings),
                                timeout=settings.fetch_timeout, max_bytes=settings.max_feed_bytes,
                                max_connections=self._concurrency)
        self._slots: asyncio.Semaphore | None = None
        self._pending: set = set()

    def __enter__(self) -> Gatherer:
        self._thread.start()
        self._run(self._open())
        return self

    def __exit__(self, *exc_info) -> None:
        for task in self._pending:  # the caller stopped early (an error while storing): stop fetching
            self._loop.call_soon_threadsafe(task.cancel)
        self._run(self._fetcher.__aexit__(None, None, None))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._parsers.shutdown()

    def gather(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Outcome:
        return self._run(self._gather(Request(url, etag, last_modified)))

    def gather_batches(self, requests: Sequence[Request], *, size: int,
                       wait: float) -> Iterator[list[tuple[int, Outcome]]]:
        """(index, outcome) pairs in arrival order, in lists of at most `size`: a list is handed over when
        it is full or `wait` seconds after its first outcome arrived, whichever comes first."""
        arrived: queue.SimpleQueue[tuple[int, Outcome]] = queue.SimpleQueue()
        # One hand-over to the loop for the whole list: a wake-up of the loop per feed costs more than a poll.
        self._pending = self._run(self._start_all(requests, arrived))
        remaining = len(requests)
        while remaining:
            batch, deadline = [arrived.get()], time.monotonic() + wait
            while len(batch) < min(size, remaining):
                try:
                    batch.append(arrived.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            remaining -= len(batch)
            yield batch
        self._pending = set()

    async def _start_all(self, requests: Sequence[Request], arrived: queue.SimpleQueue) -> set[asyncio.Task]:
        async def one(index: int, request: Request) -> None:
            try:
                outcome = await self._gather(request)
            except Exception as exc:  # noqa: BLE001 - a bug must not leave the caller waiting forever
                outcome = Outcome(error=FetchError(f"{request.url}: {type(exc).__name__}: {exc}"))
            arrived.put((index, outcome))

        return {asyncio.create_task(one(index, request)) for index, request in enumerate(requests)}

    async def _open(self) -> None:
        self._slots = asyncio.Semaphore(self._concurrency)
        await self._fetcher.__aenter__()

    async def _gather(self, request: Request) -> Outcome:
        try:
            # The slot is taken before the fetch's deadline starts (waiting for a turn is not a timeout) and
            # kept until the body is parsed: when parsing is the slower side, bodies do not pile up in memory.
            async with self._slots:
                fetched = await self._fetcher.fetch(request.url, etag=request.etag,
                                                    last_modified=request.last_modified)
                if fetched.status == 304:
                    return Outcome(fetched=fetched)
                return await self._loop.run_in_executor(self._parsers, _gathered, self.settings, fetched)
        except PublisherError as exc:
            return Outcome(error=exc)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
