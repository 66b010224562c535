"""Editors (the people who run the publisher), their browser sessions and API tokens, the login throttle,
and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from publisher.models.base import Base, UTCDateTime, utcnow


class Editor(Base):
    __tablename__ = "editors"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower case
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, in its own encoded form
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sessions: Mapped[list[EditorSession]] = relationship(back_populates="editor", cascade="all, delete-orphan",
                                                         passive_deletes=True)
    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="editor", cascade="all, delete-orphan",
                                                      passive_deletes=True)

    @property
    def role(self) -> str:
        return "admin" if self.is_admin else "editor"


class EditorSession(Base):
    """A logged-in browser. The cookie holds a random token; we keep only its SHA-256, so a copy of the
    database opens no session. Logging out deletes the row: the cookie is dead at once."""

    __tablename__ = "editor_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editors.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))

    editor: Mapped[Editor] = relationship(back_populates="sessions")


class ApiToken(Base):
    """A bearer token for the API, made on the tokens page. Shown once; we keep its SHA-256 (the token has
    256 bits of entropy, so a fast hash is enough: there is nothing to guess)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editors.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart on the page
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    editor: Mapped[Editor] = relationship(back_populates="api_tokens")


class LoginThrottle(Base):
    """Login attempts per key ("account:<email>" or "ip:<address>"). After the free attempts each one waits
    longer: `next_allowed_at` is when the next attempt for this key may be checked at all."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who did what to what. The actor's email is copied, so the entry outlives the editor's account."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("editors.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))  # an editor's email, "api token", or "cli"
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict | None] = mapped_column(JSON)
