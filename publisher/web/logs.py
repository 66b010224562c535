"""What the web server writes to its logs: never the tokens of links in mails.

A signed unsubscribe, preferences or confirmation link is a key to one person's subscription; access logs are
read by more people than the database, kept longer and shipped elsewhere. The request line is logged with the
token replaced by "…" (the route stays, so the log still tells what happened)."""

from __future__ import annotations

import copy
import logging
import re

# Path prefixes whose next segment is a secret (a signed token, or a callback's secret).
SECRET_SEGMENT_PREFIXES = ("unsubscribe", "preferences", "confirm", "websub/[^/?#\\s]+")
_SECRET_PATH = re.compile(r"(/(?:%s)/)[^/?#\s\"]+" % "|".join(SECRET_SEGMENT_PREFIXES))
_SECRET_QUERY = re.compile(r"([?&](?:token|secret|key|hub\.challenge)=)[^&#\s\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with link tokens and secret query values replaced by "…"."""
    return _SECRET_QUERY.sub(r"\1…", _SECRET_PATH.sub(r"\1…", text))


class RedactSecrets(logging.Filter):
    """Rewrites uvicorn's access records (their arguments carry the path) and any message mentioning a path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging setup, with the redacting filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecrets}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
