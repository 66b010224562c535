"""Parsing hostile input within bounds: cap short fields before parsing, and parse under a hard time limit.

feedparser 6.0.14 backtracks for minutes on a long <author> (its e-mail regex), and a thread cannot be
stopped in the middle of a regex (it holds the GIL). So parsing runs in a few long-lived parser processes
forked from a small server that has feedparser already loaded (safe beside threads), and a parser past its
time limit is killed and replaced. Capping fields first keeps the known slow paths from ever being reached.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import threading

from publisher.errors import FeedParseError
from publisher.ingest.parse import ParsedFeed, parse_feed

# Elements that hold a name, an address, a date or an id: never legitimately kilobytes long.
SHORT_FIELDS = (rb"author|name|email|uri|creator|managingEditor|webMaster|contributor|publisher|owner|"
                rb"pubDate|published|updated|date|issued|modified|created|lastBuildDate|guid|id|link|"
                rb"category|language|generator|rights|copyright")
FIELD_CAP = 4096
# The text may sit in a CDATA section; either way it runs until the next "<" (or "]" of "]]>").
_LONG_FIELD = re.compile(rb"(<(?:[A-Za-z][\w.-]*:)?(?:" + SHORT_FIELDS + rb")(?:\s[^<>]*)?>(?:<!\[CDATA\[)?)"
                         rb"([^<\]]{%d,})" % (FIELD_CAP + 1))

_context_lock = threading.Lock()
_context = None


def cap_fields(data: bytes) -> bytes:
    """Truncate the text of short fields to FIELD_CAP bytes (on a character and entity boundary)."""
    if len(data) <= FIELD_CAP:
        return data
    return _LONG_FIELD.sub(lambda m: m.group(1) + _cut(m.group(2)), data)


def _cut(text: bytes) -> bytes:
    cut = text[:FIELD_CAP]
    start = len(cut) - 1  # never end inside a multi-byte UTF-8 character
    while start > 0 and len(cut) - start < 4 and cut[start] & 0xC0 == 0x80:
        start -= 1
    lead = cut[start] if cut else 0
    needed = 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1
    if len(cut) - start < needed:
        cut = cut[:start]
    amp = cut.rfind(b"&")
    if amp != -1 and b";" not in cut[amp:]:  # nor inside an entity reference
        cut = cut[:amp]
    return cut


def parse_bounded(base_url: str, data: bytes, *, content_type: str | None = None,
                  time_limit: float = 10.0) -> ParsedFeed:
    """parse_feed on capped input; with time_limit > 0 in a killable parser process."""
    data = cap_fields(data)
    if time_limit <= 0:
        return parse_feed(base_url, data, content_type=content_type)
    return _pool().parse(base_url, data, content_type, time_limit)


class _ParserPool:
    """Long-lived parser processes, reused from parse to parse (starting one costs ~30 ms, a parse ~5 ms).
    One that overruns its time limit is killed and replaced; the others go on."""

    def __init__(self, size: int):
        self._idle: queue.Queue[_Parser] = queue.Queue()
        for _ in range(size):
            self._idle.put(_Parser())

    def parse(self, base_url: str, data: bytes, content_type: str | None, time_limit: float) -> ParsedFeed:
        parser = self._idle.get()
        try:
            outcome, value = parser.run((base_url, data, content_type), time_limit)
        except _Overrun:
            parser.kill()
            parser = _Parser()
            raise FeedParseError(f"{base_url}: parsing took longer than {time_limit:g}s, so we gave up "
                                 "(the feed is hostile or badly broken)") from None
        except (EOFError, OSError):
            parser.kill()
            parser = _Parser()
            raise FeedParseError(f"{base_url}: the parser crashed on this feed") from None
        finally:
            self._idle.put(parser)
        if outcome == "error":
            raise value
        return value


class _Overrun(Exception):
    pass


class _Parser:
    """One parser process (started lazily), talking over a pipe."""

    def __init__(self):
        self._process = None
        self._conn = None

    def run(self, job, time_limit: float):
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send(job)
        if not self._conn.poll(time_limit):
            raise _Overrun
        return self._conn.recv()

    def _start(self) -> None:
        ours, theirs = multiprocessing.Pipe(duplex=True)
        self._process = _forkserver().Process(target=_serve_parses, args=(theirs,), daemon=True)
        self._process.start()
        theirs.close()
        self._conn = ours

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()


def _serve_parses(conn) -> None:
    while True:
        try:
            base_url, data, content_type = conn.recv()
        except EOFError:
            return  # the pool went away
        conn.send(_parse_outcome(base_url, data, content_type))


def _parse_outcome(base_url: str, data: bytes, content_type: str | None) -> tuple:
    try:
        return ("ok", parse_feed(base_url, data, content_type=content_type))
    except FeedParseError as exc:
        return ("error", exc)
    except Exception as exc:  # noqa: BLE001 - anything else the parser throws is a parse failure for us
        return ("error", FeedParseError(f"{base_url}: the parser failed: {type(exc).__name__}: {exc}"))


_pool_instance: _ParserPool | None = None


def _pool() -> _ParserPool:
    global _pool_instance
    with _context_lock:
        if _pool_instance is None:
            _pool_instance = _ParserPool(size=max(2, min(os.cpu_count() or 2, 4)))
        return _pool_instance


def _forkserver():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["publisher.ingest.parse"])
            _context = context
        return _context
