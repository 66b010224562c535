"""The audit log: who sent, paused, cancelled, imported, wiped what.

`record` adds an entry to the caller's transaction: the entry is written if and only if the act is. The actor
is an Editor, the admin principal of PUBLISHER_API_TOKEN (an Editor without id), or None for the command
line. Actions in use: sent, test_sent, paused, resumed, cancelled, imported, wiped, suppressed, editor_added,
editor_removed, password_changed, token_created, token_revoked, login, logout.

A target names what was acted on so a person can find it ("digest #12", "list news"), but never what an act
erased: a wipe is recorded without the address (say "subscriber #41", or the suppression hash), or the log
would keep what GDPR erasure removed. Failed logins are not recorded here (the throttle counts them): a
password-guessing flood must not fill the log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.models import AuditEntry, Editor

CLI = "cli"
MAX_TARGET = 500


def record(session: Session, actor: Editor | None, action: str, target: str, detail: dict | None = None) -> None:
    session.add(AuditEntry(actor_id=getattr(actor, "id", None), actor=actor_name(actor), action=action,
                           target=str(target)[:MAX_TARGET], detail=detail or None))


def actor_name(actor: Editor | None) -> str:
    if actor is None:
        return CLI
    return actor.email


def recent(session: Session, *, limit: int = 200, action: str | None = None,
           before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first; `before_id` pages back."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
