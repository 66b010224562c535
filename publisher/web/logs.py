"""The web server's logs: see publisher.logs (one redaction for every process). Kept for imports."""

from __future__ import annotations

from publisher.logs import SECRET_SEGMENT_PREFIXES, RedactSecrets, redact, uvicorn_log_config  # noqa: F401
