"""One Settings object, read from PUBLISHER_* environment variables and an optional .env file."""

from __future__ import annotations

import functools
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from publisher.compose.headers import has_control_characters, single_address
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
    # A bearer token for the API that acts as an admin (scripts from before editor accounts). Editors make
    # their own tokens on /editor/tokens; unset, only those work.
    api_token: str | None = None
    # Editor accounts: a browser session lasts this long after login (logging out ends it at once).
    session_days: float = 14.0
    # Login throttling, per account and per client address: this many attempts are free, then each waits
    # login_delay_seconds * 2^(n - free) before it is even checked, at most login_delay_max_seconds. A key
    # with no attempt for login_reset_minutes starts afresh.
    login_free_attempts: int = 10
    login_delay_seconds: float = 2.0
    login_delay_max_seconds: float = 900.0
    login_reset_minutes: float = 60.0
    allow_private_networks: bool = False
    # Addresses or CIDR networks reachable even when private networks are refused (a blog on the LAN):
    # comma-separated, e.g. "192.168.1.10, 10.1.0.0/16". Read by publisher.ingest.ssrf.Policy.of.
    allowed_private_addresses: str = ""
    # Where embedded mode keeps its queue and the generated secret key.
    data_dir: Path = Path("./.publisher")
    templates_dir: Path | None = None
    postal_address: str = ""
    # Gmail clips a message's HTML past ~102 KB and hides the rest, unsubscribe footer included: a digest
    # whose HTML would pass this many KB shows its later posts as excerpts with "Read more". 0: no limit.
    html_budget_kb: float = 90.0
    # VERP: each message's envelope sender is bounce-<digest>-<subscriber>-<hmac>@this domain.
    bounce_domain: str | None = None
    # DKIM signing, on when all three are set (`publisher dkim keygen` makes the key and the DNS record).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_key_file: Path | None = None
    # An Ed25519 signature beside the RSA one (RFC 8463), same domain, its own selector and key.
    dkim_ed25519_selector: str | None = None
    dkim_ed25519_key_file: Path | None = None

    # Sign-up abuse limits (counted in the database, so they hold across processes and machines).
    signup_limit_per_ip_hour: int = 5
    confirm_mail_limit_per_day: int = 1
    confirm_token_hours: float = 48.0
    # Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated). Empty: nobody's, so
    # the connecting peer is the client. Behind a proxy, the right-most hop it did not add is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    fetch_timeout: float = 20.0
    max_feed_bytes: int = 10 * 1024 * 1024
    # Cap on a CSV an editor uploads on the subscribers page (a FeedBurner export of 100,000 rows is ~10 MB).
    max_import_bytes: int = 20 * 1024 * 1024
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
    # Rows a worker claims at a time inside its batch (one statement, and one look at the suppression list).
    # Each row is settled right after the server's reply, so a crash can send at most the one message in
    # hand twice; the rest of a dead worker's claim waits for its lease to end. A claim costs a few ms (it
    # commits), a hundred rows take ~0.15 s of a worker's sending: claims cost a few percent of a send.
    claim_chunk: int = 100
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

    # Cross-posting. A post published longer ago than this is not cross-posted (a target may say otherwise).
    crosspost_max_age_hours: float = 72.0
    # Seconds for one request to a platform or a webhook.
    crosspost_timeout: float = 15.0
    # A timeout, 5xx or 429 is retried after base * 2^attempt (with jitter, or when the platform says), at most
    # this many attempts in all.
    crosspost_retry_base_seconds: float = 30.0
    crosspost_max_attempts: int = 8
    # A cross-post claimed this long ago by a worker that died is handed back (and retried with the same key).
    crosspost_sending_timeout_seconds: float = 300.0
    # A pending cross-post no worker took for this long lost its queue message: queued again.
    crosspost_stall_seconds: float = 60.0
    # Mastodon keeps an Idempotency-Key for an hour: a retry later than this after the first attempt looks
    # for our status in the account's recent statuses before posting again.
    crosspost_idempotency_seconds: float = 3000.0
    # Largest thumbnail fetched for a Bluesky link card (Bluesky takes blobs up to 1,000,000 bytes there).
    crosspost_thumbnail_bytes: int = 1_000_000

    # Ops. Each worker and the scheduler write a heartbeat row this often; a process silent for more than
    # two beats and a half is shown as gone (and its row deleted a few beats later).
    heartbeat_seconds: float = 10.0
    # Log lines as text (for a terminal) or as one JSON object a line (for a log shipper): "text" or "json".
    log_format: str = "text"
    # Seconds /readyz waits for the database and the broker before saying "not ready" (it never hangs).
    ready_timeout_seconds: float = 2.0

    @field_validator("sender")
    @classmethod
    def _one_sender_line(cls, value: str) -> str:
        # The default sender goes into every From header: a line break in it would let the environment add
        # headers to every mail. Checked at start-up, as `--from` is at input; the value is never echoed.
        if has_control_characters(value):
            raise ValueError("PUBLISHER_FROM: the sender has a line break, tab or other control character: "
                             "give one address, like 'My Blog <news@example.org>'")
        address = single_address(value)
        if address is None or not address.domain:
            raise ValueError("PUBLISHER_FROM: the sender must be one address, like 'My Blog <news@example.org>'")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value):
        items = value.replace(",", " ").split() if isinstance(value, str) else list(value or [])
        networks = []
        for item in items:
            try:
                networks.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"PUBLISHER_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                                 "(use e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)") from None
        return networks

    @property
    def embedded(self) -> bool:
        return self.broker_url == EMBEDDED_BROKER

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def html_budget_bytes(self) -> int | None:
        return int(self.html_budget_kb * 1024) if self.html_budget_kb > 0 else None

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
            _create_private_file(key_file, secrets.token_urlsafe(48).encode())
        return key_file.read_text().strip()


def _create_private_file(path: Path, content: bytes) -> None:
    """Write a file that only its owner can read, created so (a chmod after the write would leave a moment in
    which others can read it), and whole or not at all: two processes starting at once agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(partial, path)  # fails if another process got there first: theirs is the key
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)


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
    or smtps://... (implicit TLS). Errors show the URL with its password masked: they reach logs and terminals."""
    shown = mask_password(url)
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"PUBLISHER_SMTP_URL must look like smtp://[user:pass@]host:port, got {shown!r}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"PUBLISHER_SMTP_URL: the port must be a number from 1 to 65535 in {shown!r}") from None
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    security = "ssl" if parts.scheme == "smtps" else options.get("tls", "none").lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"PUBLISHER_SMTP_URL: tls must be none, starttls or ssl, got {security!r} in {shown!r}")
    default_port = 465 if security == "ssl" else (587 if security == "starttls" else 25)
    try:
        weight = int(options.get("weight", 1))
        per_second = float(options["per_second"]) if "per_second" in options else None
        per_hour = int(options["per_hour"]) if "per_hour" in options else None
    except ValueError:
        raise ConfigError(f"PUBLISHER_SMTP_URL: weight, per_second and per_hour must be numbers in {shown!r}") from None
    return SMTPServer(
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
        weight=max(weight, 0),
        per_second=per_second,
        per_hour=per_hour,
    )


def mask_password(url: str) -> str:
    """The URL with the password of its userinfo (user:password@) replaced by ***. The last "@" ends the
    userinfo: an unencoded "/", "?", "#" or "@" inside a password must not let part of it through."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


@functools.cache
def get_settings() -> Settings:
    """The settings of the publisher this command belongs to: its folder found as git finds a repository,
    its .env read from there, and relative paths (the SQLite file, outbox, data folder) taken from there."""
    home = find_home()
    return anchored(Settings(_env_file=home / ".env"), home)


def find_home(start: Path | None = None) -> Path:
    """PUBLISHER_HOME, else the nearest folder at or above `start` (the current one) that holds a publisher:
    its data folder (.publisher), its SQLite file, or a .env with PUBLISHER_ settings; else `start` itself
    (where `publisher init` makes a new one). A command run from a subfolder finds its publisher."""
    if os.environ.get("PUBLISHER_HOME"):
        return Path(os.environ["PUBLISHER_HOME"]).expanduser().resolve()
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / ".publisher").is_dir() or (folder / "publisher.db").is_file() or _publisher_env(folder):
            return folder
    return start


def _publisher_env(folder: Path) -> bool:
    """A .env is a publisher's only when it sets PUBLISHER_ variables (not another project's .env)."""
    try:
        return "PUBLISHER_" in (folder / ".env").read_text(errors="replace")
    except OSError:
        return False


def anchored(settings: Settings, home: Path) -> Settings:
    """Relative paths in the settings, taken from `home` rather than from wherever the command runs."""
    def under_home(path: Path | None) -> Path | None:
        return path if path is None or path.expanduser().is_absolute() else home / path

    changes = {name: under_home(getattr(settings, name)) for name in
               ("outbox_dir", "data_dir", "templates_dir", "dkim_key_file", "dkim_ed25519_key_file")}
    changes["database_url"] = _anchored_sqlite(settings.database_url, home)
    return settings.model_copy(update=changes)


def _anchored_sqlite(database_url: str, home: Path) -> str:
    if not database_url.startswith("sqlite:///") or database_url.startswith("sqlite:////"):
        return database_url  # not SQLite, or an absolute path already
    path, sep, query = database_url.removeprefix("sqlite:///").partition("?")
    if not path or path == ":memory:" or path.startswith(("file:", "~")):
        return database_url
    return f"sqlite:///{home / path}{sep}{query}"
