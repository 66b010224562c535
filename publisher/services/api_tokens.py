"""API tokens: made per editor on /editor/tokens, shown once, kept as SHA-256, revocable.

A token is 32 random bytes (256 bits): nobody can guess one, so a fast hash suffices (a slow one would only
slow every API call). The prefix "pub_" lets secret scanners recognise a leaked token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError, NotFoundError
from publisher.models import ApiToken, Editor
from publisher.models.base import utcnow
from publisher.services import audit

PREFIX = "pub_"
MAX_NAME = 100
_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, editor: Editor, *, name: str) -> tuple[str, ApiToken]:
    """A new token for the editor: returns the token (its only appearance) and its row."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInputError("give the token a name (what will use it?)")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"the token's name must have at most {MAX_NAME} characters")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(editor_id=editor.id, name=name, token_hash=_hash(token), prefix=token[:len(PREFIX) + 6])
    session.add(row)
    session.flush()
    audit.record(session, editor, "token_created", f"token {row.prefix}… ({name})")
    return token, row


def tokens_of(session: Session, editor: Editor) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.editor_id == editor.id)
                                .order_by(ApiToken.id.desc())))


def revoke(session: Session, editor: Editor, token_id: int) -> ApiToken:
    """Revoke one of the editor's own tokens (an admin may revoke anyone's)."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.editor_id != editor.id and not editor.is_admin):
        raise NotFoundError(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, editor, "token_revoked", f"token {row.prefix}… ({row.name})")
    return row


def editor_for(session: Session, token: str) -> Editor | None:
    """The editor a bearer token acts for, if it is one of ours and not revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _USED_EVERY:
        row.last_used_at = now
    return row.editor
