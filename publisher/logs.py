"""What every process writes to its logs: one line per event, as text or as JSON (PUBLISHER_LOG_FORMAT=json),
carrying the ids of what it is about (feed, digest, task, worker), and never a secret.

Secrets never reach a line: the tokens of links in mails (a signed unsubscribe, preferences or confirmation
link is a key to one person's subscription), passwords inside URLs (SMTP, database, broker), bearer tokens,
and the values of the secret settings themselves, wherever they appear. Logs are read by more people than
the database, kept longer and shipped elsewhere; the line keeps its shape (the route, the host) with "…" or
"***" where the secret was."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

# Path prefixes whose next segment is a secret (a signed token, or a callback's secret).
SECRET_SEGMENT_PREFIXES = ("unsubscribe", "preferences", "confirm", "websub/[^/?#\\s]+")
_SECRET_PATH = re.compile(r"(/(?:%s)/)[^/?#\s\"']+" % "|".join(SECRET_SEGMENT_PREFIXES))
_SECRET_QUERY = re.compile(r"([?&](?:token|secret|key|password|hub\.challenge)=)[^&#\s\"']+", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']+:)[^@\s\"']+(@)", re.IGNORECASE)
_AUTHORIZATION = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
MASK = "***"
MIN_SECRET_LENGTH = 8

# The ids a line is about. Set for the length of a task (workers/signals.py) or a block (`log_context`).
CONTEXT_FIELDS = ("worker_id", "task_id", "task", "digest_id", "feed_id", "crosspost_id")
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("publisher_log_context", default={})
_process: dict[str, str] = {}  # ids true for the whole process (its worker id), inherited by forked children
_secret_values: list[str] = []


def redact(text: str) -> str:
    """The text with link tokens, URL passwords, bearer tokens and secret setting values masked."""
    for value in _secret_values:
        if value in text:
            text = text.replace(value, MASK)
    text = _SECRET_PATH.sub(r"\1…", text)
    text = _SECRET_QUERY.sub(r"\1…", text)
    text = _URL_PASSWORD.sub(rf"\1{MASK}\2", text)
    return _AUTHORIZATION.sub(rf"\1 {MASK}", text)


def remember_secrets(settings) -> None:
    """The secret settings' values, masked wherever they appear (a password quoted in an error message)."""
    from publisher.config import parse_smtp_urls

    values = [settings.secret_key, settings.api_token]
    try:
        values += [server.password for server in parse_smtp_urls(settings.smtp_url or "")]
    except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere; nothing to remember from it
        pass
    for url in (settings.database_url, settings.broker_url):
        if match := re.search(r"://[^:/@]+:([^@]+)@", url or ""):
            values.append(match.group(1))
    # Short values are left to the patterns above: masking every "admin" or "publisher" in every line would
    # garble the logs (a password that short is inside a URL, where the URL pattern masks it anyway).
    _secret_values[:] = sorted({v for v in values if v and len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def set_process_ids(**ids) -> None:
    _process.update({k: str(v) for k, v in ids.items() if v is not None})


def bind(**ids) -> contextvars.Token:
    """Add ids to the current context (until `unbind`)."""
    return _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


@contextlib.contextmanager
def log_context(**ids) -> Iterator[None]:
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)


def context_ids() -> dict:
    return {**_process, **_context.get()}


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message and arguments, and attaches the context's ids to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        for key, value in context_ids().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids that apply, the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": redact(record.getMessage())}
        for key in CONTEXT_FIELDS:
            if (value := getattr(record, key, None)) is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, with the ids in brackets after the message."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None) is not None)
        return redact(super().format(record) + (f" [{ids}]" if ids else ""))


def formatter(settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format.lower() == "json" else TextFormatter()


def configure_logging(settings, level: int | str = logging.INFO) -> None:
    """The root logger: one handler on stderr, our formatter and the redacting filter (every process)."""
    remember_secrets(settings)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(settings))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def uvicorn_log_config(settings) -> dict:
    """uvicorn's own logging setup, with our formatter and the redacting filter on every handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    remember_secrets(settings)
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecrets}
    if settings.log_format.lower() == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": JsonFormatter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    config["root"] = {"handlers": ["default"], "level": "INFO"}  # our own loggers, the same way
    return config
