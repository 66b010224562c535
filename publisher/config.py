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
    allow_private_networks: bool = False
    # Where embedded mode keeps its queue and the generated secret key.
    data_dir: Path = Path("./.publisher")
    templates_dir: Path | None = None
    postal_address: str = ""

    fetch_timeout: float = 20.0
    max_feed_bytes: int = 10 * 1024 * 1024
    poll_interval_minutes: float = 30.0
    # How often the scheduler wakes to poll due feeds, compose due digests and sweep stuck sends.
    tick_seconds: float = 60.0
    smtp_timeout: float = 30.0
    batch_size: int = 200
    # A delivery claimed longer ago than this, and not settled, is handed back by the sweeper.
    sending_timeout_seconds: int = 600

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


def parse_smtp_url(url: str) -> SMTPServer:
    """smtp://[user:pass@]host:port[?tls=starttls|none]  or  smtps://... (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"PUBLISHER_SMTP_URL must look like smtp://[user:pass@]host:port, got {url!r}")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    security = "ssl" if parts.scheme == "smtps" else options.get("tls", "none").lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"PUBLISHER_SMTP_URL: tls must be none, starttls or ssl, got {security!r}")
    default_port = 465 if security == "ssl" else (587 if security == "starttls" else 25)
    return SMTPServer(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
    )


@functools.cache
def get_settings() -> Settings:
    return Settings()
