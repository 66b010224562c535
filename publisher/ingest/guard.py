"""Parsing hostile input within bounds: cap short fields before parsing, and parse under a hard time limit.

feedparser 6.0.14 backtracks for minutes on a long <author> (its e-mail regex), and a thread cannot be
stopped in the middle of a regex (it holds the GIL). So parsing (and sanitizing) runs in a few long-lived
parser processes, and a parser past its time limit is killed and replaced. Capping fields first keeps the
known slow paths from ever being reached.
"""

from __future__ import annotations

import os
import pickle
import queue
import re
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

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

_pool_lock = threading.Lock()
T = TypeVar("T")


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
    return run_bounded(parse_feed, base_url, data, content_type=content_type, time_limit=time_limit)


def run_bounded(reader: Callable[..., T], base_url: str, data: bytes, *, content_type: str | None = None,
                time_limit: float = 10.0) -> T:
    """`reader(base_url, capped data, content_type=...)` in a killable parser process (in this one when
    time_limit <= 0). `reader` is a module-level function (it travels by name); its FeedParseErrors come
    back as they are, anything else it raises as a FeedParseError."""
    data = cap_fields(data)
    if time_limit <= 0:
        return reader(base_url, data, content_type=content_type)
    return _pool().run((reader, base_url, data, content_type), time_limit)


class _ParserPool:
    """Long-lived parser processes, reused from parse to parse (starting one costs ~300 ms, a parse ~5 ms).
    One that overruns its time limit is killed and replaced; the others go on."""

    def __init__(self, size: int):
        # Last in, first out: the parser used last (started, warm) goes again; another starts only when
        # parses overlap.
        self._idle: queue.LifoQueue[_Parser] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(_Parser())

    def run(self, job: tuple, time_limit: float):
        base_url = job[1]
        parser = self._idle.get()
        try:
            outcome, value = parser.run(job, time_limit)
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
    """One parser process (started lazily), fed length-prefixed pickles over its stdin and stdout. A plain
    subprocess rather than multiprocessing: Celery's prefork children are daemonic, and multiprocessing
    refuses to start children from a daemonic process."""

    def __init__(self):
        self._process: subprocess.Popen | None = None

    def run(self, job, time_limit: float):
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen([sys.executable, "-m", "publisher.ingest.guard"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        _write_frame(self._process.stdin, job)
        ready, _, _ = select.select([self._process.stdout], [], [], time_limit)
        if not ready:
            raise _Overrun
        return _read_frame(self._process.stdout)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _write_frame(stream, value) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def _read_frame(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the parser process went away")
    return pickle.loads(stream.read(struct.unpack(">Q", header)[0]))


def _serve_parses() -> None:
    """The parser process: run each job it is sent, until its stdin closes."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            reader, base_url, data, content_type = _read_frame(source)
        except EOFError:
            return
        _write_frame(sink, _outcome(reader, base_url, data, content_type))


def _outcome(reader: Callable, base_url: str, data: bytes, content_type: str | None) -> tuple:
    try:
        return ("ok", reader(base_url, data, content_type=content_type))
    except FeedParseError as exc:
        return ("error", exc)
    except Exception as exc:  # noqa: BLE001 - anything else the parser throws is a parse failure for us
        return ("error", FeedParseError(f"{base_url}: the parser failed: {type(exc).__name__}: {exc}"))


_pool_instance: _ParserPool | None = None


def warm_up() -> None:
    """Start a parser process now, so the first feed (a WebSub push after a restart) does not wait for its
    start-up: ~300 ms idle, seconds on a busy machine."""
    parse_bounded("https://warm-up.invalid/", b"<rss version='2.0'><channel><title>-</title></channel></rss>")


def _pool() -> _ParserPool:
    global _pool_instance
    with _pool_lock:
        if _pool_instance is None:
            _pool_instance = _ParserPool(size=max(2, min(os.cpu_count() or 2, 4)))
        return _pool_instance


if __name__ == "__main__":
    _serve_parses()
