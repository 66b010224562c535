"""Named queries, one module per table family."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# Bound parameters per statement: PostgreSQL takes at most 65,535 and SQLite 32,766, and a list of a
# hundred thousand subscribers must not meet either limit.
IN_CHUNK = 5000


def chunked(items: Sequence, size: int = IN_CHUNK) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]
