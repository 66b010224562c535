"""How the CLI talks: Rich on stdout for people, JSON when asked, one line on stderr for errors."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import NoReturn

from rich.console import Console

console = Console(soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


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
