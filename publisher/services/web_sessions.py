"""Browser sessions of editors, kept server-side: the cookie holds a random token, the table its SHA-256.

A login always makes a new session (the token a browser held before logging in is worthless after it:
no session fixation); logging out deletes the row, so a copied cookie dies with it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from publisher.models import Editor, EditorSession
from publisher.models.base import utcnow

# last_seen_at is written at most this often (a page view should not always cost a write).
_SEEN_EVERY = timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, editor: Editor, *, days: float, ip: str | None = None,
          replacing: str | None = None) -> tuple[str, EditorSession]:
    """A new session for the editor; returns the cookie value (shown only here) and the row. `replacing`:
    the cookie the browser came with, whose session (anyone's) ends now."""
    if replacing:
        end(session, replacing)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = EditorSession(token_hash=token_hash(token), editor_id=editor.id, csrf_token=secrets.token_urlsafe(32),
                        created_at=now, last_seen_at=now, expires_at=now + timedelta(days=days), ip=ip)
    session.add(row)
    session.execute(delete(EditorSession).where(EditorSession.expires_at < now))  # tidy as we go
    session.flush()
    return token, row


def find(session: Session, token: str, *, now: datetime | None = None) -> EditorSession | None:
    """The live session a cookie names, else None."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.scalar(select(EditorSession).where(EditorSession.token_hash == token_hash(token)))
    if row is None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > _SEEN_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, token: str) -> None:
    session.execute(delete(EditorSession).where(EditorSession.token_hash == token_hash(token)))


def end_all(session: Session, editor: Editor) -> None:
    session.execute(delete(EditorSession).where(EditorSession.editor_id == editor.id))
