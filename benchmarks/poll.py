"""Poll 1,000 feeds served by a local HTTP server, through the watcher's real code (services.feeds.poll_feeds,
SQLite, parse under its time limit), and compare with a plain sequential `feedparser.parse(url)` loop.

Round 1: every feed is new (baseline). Round 2: 90% answer 304 Not Modified, 10% changed (one new post).
Prints feeds/s per round, peak RSS and the ratio. Target: round 2 in <= 10 s and >= 10x the sequential loop.

    .venv/bin/python benchmarks/poll.py [--feeds 1000] [--concurrency 16] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path


def feed_body(number: int, version: int) -> bytes:
    items = "".join(
        f"<item><guid>feed{number}-post{p}</guid><title>Post {p} of feed {number}</title>"
        f"<link>https://blog{number}.example/{p}</link><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Hello from post {p}, with &lt;a href='/x'&gt;a link&lt;/a&gt;.&lt;/p&gt;</description>"
        "</item>" for p in range(version + 10, version, -1))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
            f"<link>https://blog{number}.example/</link>{items}</channel></rss>").encode()


def serve(port_out, versions, latency: float = 0.0) -> None:
    """A small asyncio HTTP/1.1 server answering GET /feed/N with conditional GET on the ETag. Bodies are
    built once per feed version: the 1,000 blogs are not on this machine's CPU, so the rig stays cheap."""
    cache: dict[tuple[int, int], tuple[str, bytes, bytes]] = {}

    def answer(number: int, if_none_match: str | None) -> bytes:
        key = (number, versions[number])
        if key not in cache:
            body = feed_body(number, key[1])
            etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
            cache[key] = (etag,
                          f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: {etag}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body,
                          f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
        etag, full, not_modified = cache[key]
        return not_modified if if_none_match == etag else full

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one request after another
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = dict(line.split(":", 1) for line in head[1:] if ":" in line)
                headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
                if latency:
                    await asyncio.sleep(latency)  # a real blog is tens of milliseconds away
                writer.write(answer(int(head[0].split()[1].rsplit("/", 1)[1]), headers.get("if-none-match")))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(run())


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--feeds", type=int, default=1000)
    options.add_argument("--concurrency", type=int, default=16)
    options.add_argument("--latency-ms", type=float, default=0.0,
                         help="delay before each answer, as a network round trip to a real blog would add")
    args = options.parse_args()

    versions = multiprocessing.Array("i", [0] * args.feeds)
    port = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=serve, args=(port, versions, args.latency_ms / 1000), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.05)
    urls = [f"http://127.0.0.1:{port.value}/feed/{i}" for i in range(args.feeds)]

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from publisher.config import Settings
    from publisher.db import make_engine
    from publisher.models import Base, Feed
    from publisher.services.feeds import poll_feeds

    workdir = Path(tempfile.mkdtemp(prefix="poll-bench-"))
    settings = Settings(database_url=f"sqlite:///{workdir / 'bench.db'}", allow_private_networks=True,
                        poll_concurrency=args.concurrency)
    engine = make_engine(settings.database_url)  # the project's engine: SQLite in WAL mode
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(Feed(url=url) for url in urls)
        session.commit()
        feeds = list(session.scalars(select(Feed)))

        started = time.perf_counter()
        first = poll_feeds(session, settings, feeds)
        round1 = time.perf_counter() - started
        for i in range(0, args.feeds, 10):  # 10% of the feeds publish a post
            versions[i] += 1
        started = time.perf_counter()
        second = poll_feeds(session, settings, feeds)
        round2 = time.perf_counter() - started

    errors = sum(bool(r.error) for r in first + second)
    not_modified = sum(r.not_modified for r in second)
    new_in_round2 = sum(len(r.new) for r in second)

    import feedparser

    started = time.perf_counter()
    for url in urls:
        feedparser.parse(url)
    sequential = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"feeds: {args.feeds}, concurrency: {args.concurrency}, latency: {args.latency_ms:g} ms, errors: {errors}")
    print(f"round 1 (all new):             {round1:6.2f} s  {args.feeds / round1:7.1f} feeds/s")
    print(f"round 2 ({not_modified} x 304, {new_in_round2} new posts): {round2:6.2f} s  "
          f"{args.feeds / round2:7.1f} feeds/s")
    print(f"sequential feedparser.parse(url): {sequential:6.2f} s  {args.feeds / sequential:7.1f} feeds/s")
    print(f"round 2 vs sequential: {sequential / round2:.1f}x   peak RSS: {peak_mb:.0f} MB")
    server.kill()


if __name__ == "__main__":
    main()
