"""Poll 1,000 feeds served by a local HTTP server, through the watcher's real code (services.feeds.poll_feeds,
SQLite, parse under its time limit), and compare with a plain sequential `feedparser.parse(url)` loop.

Round 1: every feed is new (baseline). Round 2: 90% answer 304 Not Modified, 10% changed (one new post).
Prints feeds/s per round, peak RSS and the ratio. Target: round 2 in <= 10 s and >= 10x the sequential loop.

The feeds are shaped like the blogs we serve first (`--shape blogger`: a Blogger /feeds/posts/default of 25
full posts); `--shape small` serves 10-line feeds, where parsing costs little and the request is everything.

    .venv/bin/python benchmarks/poll.py [--feeds 1000] [--shape blogger|small] [--concurrency 16] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path


WORDS = ("quilt fabric stitch border scrappy block pattern binding thread needle cotton batting seam "
         "corner sashing applique color triangle square strip pieced leader ender churn dash star hand "
         "machine design fold press iron cut layer mystery finish table runner pillow gift summer winter").split()


def small_body(number: int, version: int) -> bytes:
    """A tiny RSS feed: 10 one-line items (2.7 KB). Parsing it costs little next to the request."""
    items = "".join(
        f"<item><guid>feed{number}-post{p}</guid><title>Post {p} of feed {number}</title>"
        f"<link>https://blog{number}.example/{p}</link><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Hello from post {p}, with &lt;a href='/x'&gt;a link&lt;/a&gt;.&lt;/p&gt;</description>"
        "</item>" for p in range(version + 10, version, -1))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
            f"<link>https://blog{number}.example/</link>{items}</channel></rss>").encode()


def blogger_body(number: int, version: int) -> bytes:
    """What a Blogger blog's /feeds/posts/default answers: Atom, the newest 25 posts, each with its full
    HTML (a few paragraphs, a picture in Blogger's markup, a s72-c thumbnail): about 120 KB."""
    blog, site = f"tag:blogger.com,1999:blog-{7000 + number}", f"https://blog{number}.blogspot.com"
    entries = "".join(_blogger_entry(number, post, blog, site) for post in range(version + 25, version, -1))
    return (f"<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
            "xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' xmlns:gd='http://schemas.google.com/g/2005' "
            "xmlns:thr='http://purl.org/syndication/thread/1.0' xmlns:media='http://search.yahoo.com/mrss/'>"
            f"<id>{blog}</id><updated>2026-11-23T10:00:00.000-08:00</updated><category term='Quilting'/>"
            f"<title type='text'>Blog {number}</title><subtitle type='html'>Scraps and stitches</subtitle>"
            f"<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' href='{site}/feeds/posts/default'/>"
            f"<link rel='self' type='application/atom+xml' href='{site}/feeds/posts/default'/>"
            f"<link rel='alternate' type='text/html' href='{site}/'/>"
            f"<author><name>Writer {number}</name><uri>https://www.blogger.com/profile/{number}</uri>"
            "<email>noreply@blogger.com</email></author><generator version='7.00' uri='http://www.blogger.com'>"
            "Blogger</generator><openSearch:totalResults>300</openSearch:totalResults>"
            f"<openSearch:startIndex>1</openSearch:startIndex><openSearch:itemsPerPage>25</openSearch:itemsPerPage>"
            f"{entries}</feed>").encode()


def _blogger_entry(number: int, post: int, blog: str, site: str) -> str:
    words = [WORDS[(number * 31 + post * 17 + i * 7) % len(WORDS)] for i in range(480)]
    paragraphs = [" ".join(words[i:i + 60]).capitalize() + "." for i in range(0, len(words), 60)]
    picture = (f"https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsE{number}x{post}/s400/photo-{post}.jpg")
    html = ("".join(f"<p><span style='font-family: arial;'>{text}</span></p>" for text in paragraphs[:4])
            + "<div class='separator' style='clear: both; text-align: center;'>"
            f"<a href='{picture.replace('/s400/', '/s1600/')}' style='margin-left: 1em; margin-right: 1em;'>"
            f"<img border='0' data-original-height='1200' data-original-width='1600' height='300' src='{picture}' "
            "width='400' /></a></div>"
            + "".join(f"<p>{text}<br /></p>" for text in paragraphs[4:])
            + f"<p>See <a href='{site}/2026/10/older-post.html'>last month's post</a>.</p>")
    day = 1 + post % 28
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<entry><id>{blog}.post-{post}</id><published>2026-11-{day:02d}T10:00:00.000-08:00</published>"
            f"<updated>2026-11-{day:02d}T10:00:00.000-08:00</updated>"
            "<category scheme='http://www.blogger.com/atom/ns#' term='Quilting'/>"
            f"<title type='text'>Post {post} of blog {number}</title><content type='html'>{escaped}</content>"
            f"<link rel='alternate' type='text/html' href='{site}/2026/11/post-{post}.html' title='Post {post}'/>"
            f"<author><name>Writer {number}</name><email>noreply@blogger.com</email></author>"
            f"<media:thumbnail url='{picture.replace('/s400/', '/s72-c/')}' height='72' width='72'/>"
            "<thr:total>3</thr:total></entry>")


SHAPES = {"blogger": blogger_body, "small": small_body}
CONTENT_TYPES = {"blogger": "application/atom+xml; charset=UTF-8", "small": "application/rss+xml"}


def serve(port_out, versions, latency: float = 0.0, shape: str = "blogger") -> None:
    """A small asyncio HTTP/1.1 server answering GET /feed/N with conditional GET on the ETag. Bodies are
    built once per feed version: the 1,000 blogs are not on this machine's CPU, so the rig stays cheap."""
    cache: dict[tuple[int, int], tuple[str, bytes, bytes]] = {}

    def answer(number: int, if_none_match: str | None) -> bytes:
        key = (number, versions[number])
        if key not in cache:
            body = SHAPES[shape](number, key[1])
            etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
            cache[key] = (etag,
                          f"HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPES[shape]}\r\nETag: {etag}\r\n"
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
    options.add_argument("--shape", choices=sorted(SHAPES), default="blogger",
                         help="blogger: 25 full posts per feed, like /feeds/posts/default (~120 KB); "
                              "small: 10 one-line items (2.7 KB)")
    options.add_argument("--latency-ms", type=float, default=0.0,
                         help="delay before each answer, as a network round trip to a real blog would add")
    args = options.parse_args()

    versions = multiprocessing.Array("i", [0] * args.feeds)
    port = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=serve, args=(port, versions, args.latency_ms / 1000, args.shape),
                                     daemon=True)
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
        first = summary(poll_feeds(session, settings, feeds))  # counts only, as the poll task keeps
        round1 = time.perf_counter() - started
        session.expunge_all()  # what a poll task's session holds ends with the task
        feeds = list(session.scalars(select(Feed)))
        for i in range(0, args.feeds, 10):  # 10% of the feeds publish a post
            versions[i] += 1
        started = time.perf_counter()
        second = summary(poll_feeds(session, settings, feeds))
        round2 = time.perf_counter() - started

    errors = first["errors"] + second["errors"]
    not_modified, new_in_round2 = second["not_modified"], second["new"]

    import feedparser

    started = time.perf_counter()
    for url in urls:
        feedparser.parse(url)
    sequential = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parser_mb = max(_peak_rss_mb(pid) for pid in _children() if pid != server.pid)  # the parser processes
    size_kb = len(SHAPES[args.shape](0, 0)) / 1024
    print(f"feeds: {args.feeds} ({args.shape}, {size_kb:.0f} KB each), concurrency: {args.concurrency}, "
          f"latency: {args.latency_ms:g} ms, errors: {errors}")
    print(f"round 1 (all new):             {round1:6.2f} s  {args.feeds / round1:7.1f} feeds/s")
    print(f"round 2 ({not_modified} x 304, {new_in_round2} new posts): {round2:6.2f} s  "
          f"{args.feeds / round2:7.1f} feeds/s")
    print(f"sequential feedparser.parse(url): {sequential:6.2f} s  {args.feeds / sequential:7.1f} feeds/s")
    print(f"round 2 vs sequential: {sequential / round2:.1f}x   peak RSS: {peak_mb:.0f} MB "
          f"(each parser process: {parser_mb:.0f} MB)")
    server.kill()


def summary(results) -> dict[str, int]:
    return {"errors": sum(bool(r.error) for r in results), "not_modified": sum(r.not_modified for r in results),
            "new": sum(len(r.new) for r in results)}


def _children() -> list[int]:
    me, found = str(os.getpid()), [0]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                found.append(int(stat.parent.name))
        except (OSError, IndexError):
            pass
    return found


def _peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)


if __name__ == "__main__":
    main()
