"""One Settings object, read from PUBLISHER_* environment variables and an optional .env file."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from publisher.errors import ConfigError

EMBEDDED_BROKER = "embedded"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUBLISHER_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./publisher.db"
    broker_url: str = EMBEDDED_BROKER
    smtp_url: str | None = None
    outbox_dir: Path = Path("./outbox")
    base_url: str = "http://localhost:8000"
    sender: str = Field(
        "Publisher <publisher@localhost>",
        validation_alias=AliasChoices("PUBLISHER_FROM", "PUBLISHER_SENDER"),
    )
    secret_key: str | None = None
    # Bearer token for the editor API (/api/sends ...); unset, the API answers 403.
    api_token: str | None = None
    allow_private_networks: bool = False
    # Where embedded mode keeps its queue and the generated secret key.
    data_dir: Path = Path("./.publisher")
    templates_dir: Path | None = None
    postal_address: str = ""
    # VERP: each message's envelope sender is bounce-<digest>-<subscriber>-<hmac>@this domain.
    bounce_domain: str | None = None
    # DKIM signing, on when all three are set (`publisher dkim keygen` makes the key and the DNS record).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_key_file: Path | None = None

    # Sign-up abuse limits (counted in the database, so they hold across processes and machines).
    signup_limit_per_ip_hour: int = 5
    confirm_mail_limit_per_day: int = 1
    confirm_token_hours: float = 48.0

    fetch_timeout: float = 20.0
    max_feed_bytes: int = 10 * 1024 * 1024
    poll_interval_minutes: float = 30.0
    # Adaptive polling stays between these bounds: busy feeds approach the minimum, quiet ones the maximum.
    poll_min_minutes: float = 5.0
    poll_max_minutes: float = 24 * 60.0
    # Concurrent fetches when many feeds are due at once (one shared HTTP connection pool).
    poll_concurrency: int = 16
    # Hard limit on parsing one feed, in a child process that can be killed; 0 parses in-process.
    parse_time_limit: float = 10.0
    # Subscribe to WebSub hubs that feeds name (needs PUBLISHER_BASE_URL reachable by the hub).
    websub: bool = True
    websub_lease_seconds: int = 10 * 24 * 3600
    # How often the scheduler wakes to poll due feeds, compose due digests and sweep stuck sends.
    tick_seconds: float = 60.0
    smtp_timeout: float = 30.0
    batch_size: int = 200
    # Rows a worker claims at a time inside its batch: at most this many messages are "in flight" when a
    # worker dies, so at most this many can be sent twice after a crash.
    claim_chunk: int = 25
    # A claim is a lease the live worker renews (every quarter lease); the rows of a worker that died come
    # back when it ends, and the sweeper (every half lease) hands them out again: within ~30 s by default.
    claim_lease_seconds: float = 20
    # A send with pending rows and no claim for this long lost its queue message: the scheduler requeues it.
    stall_seconds: float = 120
    # 4xx replies: retry after base * 2^attempt (with jitter, or the server's own hint), at most 6 attempts.
    retry_base_seconds: float = 60
    max_attempts: int = 6
    # Connection lost after DATA: "hold" marks the row unknown and never resends it (no duplicate, maybe a
    # loss); "retry" treats it as a 4xx (no loss, maybe a duplicate).
    unknown_policy: str = "hold"

    @property
    def embedded(self) -> bool:
        return self.broker_url == EMBEDDED_BROKER

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_templates_dir(self) -> Path:
        if self.templates_dir:
            return self.templates_dir
        source_tree = Path(__file__).resolve().parent.parent / "templates"
        if source_tree.is_dir():
            return source_tree
        return Path(__file__).resolve().parent / "_templates"  # installed from a wheel

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated on first use and kept in data_dir."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@dataclass(frozen=True)
class SMTPServer:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "none" | "starttls" | "ssl"
    weight: int = 1  # share of the traffic when several servers are configured
    per_second: float | None = None  # rate limits the provider imposes on us
    per_hour: int | None = None

    @property
    def key(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_urls(value: str) -> list[SMTPServer]:
    """PUBLISHER_SMTP_URL may name several servers, separated by commas or spaces."""
    servers = [parse_smtp_url(part) for part in value.replace(",", " ").split()]
    if not servers:
        raise ConfigError("PUBLISHER_SMTP_URL is empty")
    return servers


def parse_smtp_url(url: str) -> SMTPServer:
    """smtp://[user:pass@]host:port[?tls=starttls|none][&weight=N][&per_second=N][&per_hour=N]
    or smtps://... (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"PUBLISHER_SMTP_URL must look like smtp://[user:pass@]host:port, got {url!r}")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    security = "ssl" if parts.scheme == "smtps" else options.get("tls", "none").lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"PUBLISHER_SMTP_URL: tls must be none, starttls or ssl, got {security!r}")
    default_port = 465 if security == "ssl" else (587 if security == "starttls" else 25)
    try:
        weight = int(options.get("weight", 1))
        per_second = float(options["per_second"]) if "per_second" in options else None
        per_hour = int(options["per_hour"]) if "per_hour" in options else None
    except ValueError:
        raise ConfigError(f"PUBLISHER_SMTP_URL: weight, per_second and per_hour must be numbers in {url!r}") from None
    return SMTPServer(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
        weight=max(weight, 0),
        per_second=per_second,
        per_hour=per_hour,
    )


@functools.cache
def get_settings() -> Settings:
    return Settings()
