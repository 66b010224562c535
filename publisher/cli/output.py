"""How the CLI talks: Rich on stdout for people, JSON when asked, one line on stderr for errors."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import NoReturn

from rich.console import Console

# Piped (to grep, a file, a pager), output has no terminal width to fit: Rich would assume 80 columns and cut
# tables into wrapped cells. It gets room for whole lines instead; COLUMNS, when set, still rules.
PIPED_WIDTH = 10_000


def _width(stream) -> int | None:
    if os.environ.get("COLUMNS") or stream.isatty():
        return None
    return PIPED_WIDTH


console = Console(soft_wrap=True, width=_width(sys.stdout))
errors = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"error: {message}", markup=False)
    raise SystemExit(code)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"
